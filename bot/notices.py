"""Texts of proactive notices, rendered in the recipient's language at send time.

Each notice takes the params stored with its job; every value from a person is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.text import h

Rendered = tuple[str, InlineKeyboardMarkup | None]
NOTICES: dict[str, Callable[[dict[str, Any]], Rendered]] = {}


def notice(
    name: str,
) -> Callable[[Callable[[dict[str, Any]], Rendered]], Callable[[dict[str, Any]], Rendered]]:
    def decorator(fn: Callable[[dict[str, Any]], Rendered]) -> Callable[[dict[str, Any]], Rendered]:
        NOTICES[name] = fn
        return fn

    return decorator


@notice("invite_used")
def _invite_used(p: dict[str, Any]) -> Rendered:
    return _("✅ <b>{name}</b> opened your invite and is now a manager.").format(name=h(p["name"])), None


@notice("member_deactivated")
def _member_deactivated(p: dict[str, Any]) -> Rendered:
    return _("🚫 Your staff access was turned off by {admin}.").format(admin=h(p["admin"])), None


@notice("member_reactivated")
def _member_reactivated(p: dict[str, Any]) -> Rendered:
    return _("✅ Your staff access was turned back on by {admin}. Send /start.").format(
        admin=h(p["admin"])
    ), None


@notice("member_promoted")
def _member_promoted(p: dict[str, Any]) -> Rendered:
    return _("👑 {admin} made you an admin. New commands: /invite, /team.").format(admin=h(p["admin"])), None


@notice("member_demoted")
def _member_demoted(p: dict[str, Any]) -> Rendered:
    return _("⬇ {admin} changed your role to manager.").format(admin=h(p["admin"])), None


def render(name: str, params: dict[str, Any]) -> Rendered:
    try:
        return NOTICES[name](params)
    except KeyError as e:
        raise LookupError(f"unknown notice or missing parameter: {name} {e}") from None


# --- clients (handlers/clients.py): an admin gave a client to another manager ---


@notice("client_assigned")
def _client_assigned(p: dict[str, Any]) -> Rendered:
    from aiogram.utils.keyboard import InlineKeyboardBuilder

    from bot.callbacks import ClientCb

    kb = InlineKeyboardBuilder()
    open_card = ClientCb(action="open", client_id=int(p["client_id"]))
    kb.button(text=_("👤 Open the card"), callback_data=open_card)
    text = _("👔 {admin} gave you the client <b>{name}</b>.").format(admin=h(p["admin"]), name=h(p["name"]))
    return text, kb.as_markup()


@notice("client_unassigned")
def _client_unassigned(p: dict[str, Any]) -> Rendered:
    return _("👔 {admin} gave your client <b>{name}</b> to {owner}.").format(
        admin=h(p["admin"]), name=h(p["name"]), owner=h(p["owner"])
    ), None
