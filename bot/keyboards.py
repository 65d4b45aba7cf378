"""Inline keyboards. Labels go through gettext; user data in labels is plain text (no HTML)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LanguageCb

LANGUAGE_NAMES = {"ru": "🇷🇺 Русский", "en": "🇬🇧 English"}
BUTTON_TEXT_LIMIT = 60


def label(text: str, limit: int = BUTTON_TEXT_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def languages(current: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code, name in LANGUAGE_NAMES.items():
        kb.button(text=("✓ " if code == current else "") + name, callback_data=LanguageCb(code=code))
    kb.adjust(2)
    return kb.as_markup()


def invite_share(link: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📤 Forward the invite"), url=f"https://t.me/share/url?url={link}")
    return kb.as_markup()
