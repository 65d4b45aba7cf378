"""Inline keyboards. Labels go through gettext; user data in labels is plain text (no HTML)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import LanguageCb, TeamCb
from models.users import Role, User

LANGUAGE_NAMES = {"ru": "🇷🇺 Русский", "en": "🇬🇧 English"}
TEAM_PAGE = 10
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


def team_list(members: list[User], page: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    pages = max(1, -(-len(members) // TEAM_PAGE))
    page = min(max(page, 0), pages - 1)
    for m in members[page * TEAM_PAGE : (page + 1) * TEAM_PAGE]:
        icon = "👑" if m.role == Role.admin else "👤"
        if not m.is_active:
            icon = "🚫"
        kb.row(
            InlineKeyboardButton(
                text=label(f"{icon} {m.display_name}"),
                callback_data=TeamCb(action="open", user_id=m.id, page=page).pack(),
            )
        )
    if pages > 1:
        nav = []
        if page > 0:
            nav.append(
                InlineKeyboardButton(text="◀", callback_data=TeamCb(action="list", page=page - 1).pack())
            )
        nav.append(
            InlineKeyboardButton(
                text=f"{page + 1}/{pages}", callback_data=TeamCb(action="list", page=page).pack()
            )
        )
        if page < pages - 1:
            nav.append(
                InlineKeyboardButton(text="▶", callback_data=TeamCb(action="list", page=page + 1).pack())
            )
        kb.row(*nav)
    return kb.as_markup()


def member_card(member: User, page: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()

    def act(action: str) -> str:
        return TeamCb(action=action, user_id=member.id, page=page).pack()

    if member.is_active:
        kb.button(text=_("🚫 Deactivate"), callback_data=act("deactivate"))
        if member.role == Role.admin:
            kb.button(text=_("⬇ Make manager"), callback_data=act("demote"))
        else:
            kb.button(text=_("👑 Make admin"), callback_data=act("promote"))
    else:
        kb.button(text=_("✅ Reactivate"), callback_data=act("reactivate"))
    kb.button(text=_("« Team"), callback_data=TeamCb(action="list", page=page).pack())
    kb.adjust(2, 1)
    return kb.as_markup()


def invite_share(link: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📤 Forward the invite"), url=f"https://t.me/share/url?url={link}")
    return kb.as_markup()
