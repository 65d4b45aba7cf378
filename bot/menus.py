"""Command menus (setMyCommands) per role and per language."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    MenuButtonDefault,
    MenuButtonWebApp,
    WebAppInfo,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __

from bot.views.board import board_url
from models.users import Role, User
from services.users import SUPPORTED_LANGUAGES, resolve_language

log = logging.getLogger(__name__)

BOARD_BUTTON = __("📋 Board")

COMMON = [
    ("start", __("Main menu")),
    ("help", __("What this bot can do")),
    ("language", __("Change the language")),
]
CUSTOMER = [
    ("balance", __("My points and tier")),
    ("gifts", __("Gifts for points")),
    ("referral", __("Invite a friend")),
    ("consent", __("Which messages I get")),
    ("stop", __("Stop offers and surveys")),
    ("forget", __("Unlink and forget me")),
]
STAFF = [
    ("today", __("My reminders: overdue, today, tomorrow")),
    ("find", __("Find a client")),
    ("add", __("Add a client")),
    ("clients", __("My clients")),
    ("log", __("Log a contact with a client")),
    ("remind", __("Set a reminder")),
    ("deals", __("The deal pipeline")),
    ("board", __("The pipeline board (Mini App)")),
    ("newdeal", __("New deal")),
    ("surveys", __("Satisfaction: CSAT and NPS")),
    ("rfm", __("RFM segments, ABC classes and VIPs")),
    ("reports", __("Reports with charts")),
    ("segments", __("Saved client segments with live counts")),
    ("broadcast", __("Send a broadcast to customers")),
    ("campaigns", __("Broadcasts and their results")),
    ("timezone", __("My time zone")),
    ("import", __("Import clients or purchases from a file")),
    ("cancel", __("Leave the current dialog")),
]
ADMIN = [
    ("overdue", __("Overdue reminders by manager")),
    ("leads", __("Leads waiting for an owner")),
    ("invite", __("Invite a manager")),
    ("team", __("Managers and admins")),
    ("loyalty", __("Bonus program settings and gifts")),
    ("draws", __("Prize draws among a segment")),
    ("followups", __("Follow-up rules for neglected clients")),
    ("sequences", __("Drip sequences: messages one after another")),
]


def commands_for(role: Role) -> list[tuple[str, object]]:
    if role == Role.admin:
        return COMMON + STAFF + ADMIN
    if role == Role.manager:
        return COMMON + STAFF
    return COMMON + CUSTOMER


def render(i18n: I18n, role: Role, locale: str) -> list[BotCommand]:
    with i18n.context(), i18n.use_locale(locale):
        return [BotCommand(command=name, description=str(desc)) for name, desc in commands_for(role)]


async def set_defaults(bot: Bot, i18n: I18n, default_locale: str) -> None:
    """Customer menus for every language, and for clients in other languages the default one."""
    for locale in SUPPORTED_LANGUAGES:
        await bot.set_my_commands(render(i18n, Role.customer, locale), BotCommandScopeDefault(), locale)
    await bot.set_my_commands(render(i18n, Role.customer, default_locale), BotCommandScopeDefault())


async def set_for_user(
    bot: Bot, i18n: I18n, user: User, default_locale: str, webapp_url: str | None = None
) -> None:
    """A per-chat menu that follows the user's role and chosen language; with the Mini App
    configured, staff get "📋 Board" as the chat's menu button (others the default one)."""
    locale = resolve_language(user, user.tg_language, default_locale)
    await bot.set_my_commands(render(i18n, user.effective_role, locale), BotCommandScopeChat(chat_id=user.id))
    if not webapp_url:
        return
    if user.is_staff:
        with i18n.context(), i18n.use_locale(locale):
            text = str(BOARD_BUTTON)
        button = MenuButtonWebApp(text=text, web_app=WebAppInfo(url=board_url(webapp_url)))
    else:
        button = MenuButtonDefault()
    try:
        await bot.set_chat_menu_button(chat_id=user.id, menu_button=button)
    except (TelegramBadRequest, TelegramForbiddenError) as e:  # not started or blocked: next time
        log.info("menu button for %s not set: %s", user.id, e)
