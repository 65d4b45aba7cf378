"""Command menus (setMyCommands) per role and per language."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.types import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import lazy_gettext as __

from models.users import Role, User
from services.users import SUPPORTED_LANGUAGES, resolve_language

log = logging.getLogger(__name__)

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
    ("newdeal", __("New deal")),
    ("surveys", __("Satisfaction: CSAT and NPS")),
    ("reports", __("Reports with charts")),
    ("timezone", __("My time zone")),
    ("cancel", __("Leave the current dialog")),
]
ADMIN = [
    ("overdue", __("Overdue reminders by manager")),
    ("leads", __("Leads waiting for an owner")),
    ("invite", __("Invite a manager")),
    ("team", __("Managers and admins")),
    ("loyalty", __("Bonus program settings and gifts")),
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


async def set_for_user(bot: Bot, i18n: I18n, user: User, default_locale: str) -> None:
    """A per-chat menu that follows the user's role and chosen language."""
    locale = resolve_language(user, user.tg_language, default_locale)
    await bot.set_my_commands(render(i18n, user.effective_role, locale), BotCommandScopeChat(chat_id=user.id))
