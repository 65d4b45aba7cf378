"""Texts of proactive notices, rendered in the recipient's language at send time (scheduler/notify.py).

Every notice the bot can queue is listed here, in `NOTICES`: the team's and the clients' below, and
each view module's own table (bot/views/<area>.NOTICES). Each notice takes the params stored with its
job; every value from a person is escaped where it is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import CardAction, ClientCb
from bot.text import h
from bot.views import Notice, Rendered
from bot.views import customers as customer_views
from bot.views import loyalty as loyalty_views
from bot.views import surveys as survey_views

__all__ = ["NOTICES", "Notice", "Rendered", "notice", "render"]


# --- team (handlers/start.py, handlers/team.py) ---


def _invite_used(p: dict[str, Any]) -> Rendered:
    return _("✅ <b>{name}</b> opened your invite and is now a manager.").format(name=h(p["name"])), None


def _member_deactivated(p: dict[str, Any]) -> Rendered:
    return _("🚫 Your staff access was turned off by {admin}.").format(admin=h(p["admin"])), None


def _member_reactivated(p: dict[str, Any]) -> Rendered:
    return _("✅ Your staff access was turned back on by {admin}. Send /start.").format(
        admin=h(p["admin"])
    ), None


def _member_promoted(p: dict[str, Any]) -> Rendered:
    return _("👑 {admin} made you an admin. New commands: /invite, /team.").format(admin=h(p["admin"])), None


def _member_demoted(p: dict[str, Any]) -> Rendered:
    return _("⬇ {admin} changed your role to manager.").format(admin=h(p["admin"])), None


# --- clients (handlers/clients.py): an admin gave a client to another manager ---


def _client_assigned(p: dict[str, Any]) -> Rendered:
    kb = InlineKeyboardBuilder()
    open_card = ClientCb(action=CardAction.open, client_id=int(p["client_id"]))
    kb.button(text=_("👤 Open the card"), callback_data=open_card)
    text = _("👔 {admin} gave you the client <b>{name}</b>.").format(admin=h(p["admin"]), name=h(p["name"]))
    return text, kb.as_markup()


def _client_unassigned(p: dict[str, Any]) -> Rendered:
    return _("👔 {admin} gave your client <b>{name}</b> to {owner}.").format(
        admin=h(p["admin"]), name=h(p["name"]), owner=h(p["owner"])
    ), None


NOTICES: dict[str, Notice] = {
    "invite_used": _invite_used,
    "member_deactivated": _member_deactivated,
    "member_reactivated": _member_reactivated,
    "member_promoted": _member_promoted,
    "member_demoted": _member_demoted,
    "client_assigned": _client_assigned,
    "client_unassigned": _client_unassigned,
    **customer_views.NOTICES,
    **loyalty_views.NOTICES,
    **survey_views.NOTICES,
}


def notice(name: str) -> Callable[[Notice], Notice]:
    """Add one notice outside the table above (tests define their own this way)."""

    def decorator(fn: Notice) -> Notice:
        if name in NOTICES:
            raise ValueError(f"notice {name!r} defined twice")
        NOTICES[name] = fn
        return fn

    return decorator


def render(name: str, params: dict[str, Any]) -> Rendered:
    try:
        return NOTICES[name](params)
    except KeyError as e:
        raise LookupError(f"unknown notice or missing parameter: {name} {e}") from None
