"""The Mini App's entry points in the chat: the /board answer and the WebApp buttons."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import gettext as _


def board_url(webapp_url: str) -> str:
    return webapp_url.rstrip("/") + "/"


def open_button(webapp_url: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("📋 Board"), web_app=WebAppInfo(url=board_url(webapp_url)))


def board_text() -> str:
    return _(
        "📋 <b>The pipeline board</b>: a column per stage, your clients with search and filters, "
        "the client card and your day. Open it with the button below or the menu button."
    )


def board_markup(webapp_url: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[open_button(webapp_url)]])


def not_configured_text() -> str:
    return _(
        "📋 The board opens as a Telegram Mini App, which isn't set up for this bot yet. The admin "
        "sets <code>WEBAPP_URL</code> to the bot's public HTTPS address (for example "
        "<code>https://crm.example.com/app</code>) and restarts it; see the README, section "
        "“The Mini App”. Meanwhile /deals shows the pipeline here in the chat."
    )
