"""Customers: texts and keyboards of linking a Telegram account to a client record, and /forget.

Values people typed (names) are escaped here; button labels are plain text.
"""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import CardAction, ClientCb, CustomerAction, CustomerCb
from bot.formatting import local_dt
from bot.keyboards import invite_share
from bot.messages import error_text
from bot.text import h
from bot.views import Notice, Rendered
from services import phones
from services.errors import DomainError
from services.leads import Waiting, lead_name


def share_phone_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my phone"), request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def remove_keyboard() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()


def not_linked() -> tuple[str, ReplyKeyboardMarkup]:
    """The answer to a customer whose Telegram account isn't linked to a client record yet."""
    text = _(
        "Your Telegram account isn't linked to your customer record yet.\n"
        "Press «📱 Share my phone» below and we'll find you by your phone number. "
        "The link your manager sent you works too."
    )
    return text, share_phone_keyboard()


def unlinked_hint() -> str:
    """Under the greeting of a customer who isn't linked yet."""
    return _(
        "To see your points and choose your messages, link your account: press «📱 Share my phone» "
        "below, or open the link your manager sent you."
    )


def error(e: DomainError) -> str:
    texts = {
        "customer_invite_invalid": _("This link is not valid. Ask your manager for a new one."),
        "customer_invite_used": _("This link has already been used. Ask your manager for a new one."),
        "customer_invite_expired": _("This link has expired. Ask your manager for a new one."),
        "customer_staff": _(
            "This link is for a customer of the company. You are on the team, so your account "
            "can't be linked to a customer record. Forward the link to the customer instead."
        ),
        "customer_account_linked": _(
            "Your Telegram account is already linked to another customer record. "
            "If that is wrong, send /forget first or contact your manager."
        ),
        "customer_client_linked": _(
            "This customer record is already linked to another Telegram account. Please contact your manager."
        ),
        "customer_not_own": _(
            "Please use the «📱 Share my phone» button below to share your own number, "
            "not someone else's contact."
        ),
        "customer_bad_phone": _(
            "I couldn't read the phone number of this contact. Please contact your manager."
        ),
        "customer_not_linked": _(
            "Your account isn't linked to any customer record: there is nothing to forget."
        ),
    }
    return texts.get(e.code) or error_text(e)


# --- the card's "📲 Invite to bot" ---


def invite_text(client_name: str, link: str, until: str) -> str:
    return _(
        "📲 Invite link for <b>{name}</b>:\n{link}\n\nForward it to the customer. When they open it, "
        "their Telegram is linked to this card. It works once and expires on {until}."
    ).format(name=h(client_name), link=h(link), until=until)


def invite_keyboard(link: str, client_id: int, version: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder.from_markup(invite_share(link))
    kb.button(
        text=_("« Card"), callback_data=ClientCb(action=CardAction.open, client_id=client_id, version=version)
    )
    kb.adjust(1)
    return kb.as_markup()


def already_linked_card() -> str:
    return _("This client's Telegram account is already linked: no invite is needed.")


# --- linking ---


def linked_text(name: str, commands: str) -> str:
    return (
        _("🎉 Done, {name}! Your Telegram account is now linked to your customer record.").format(
            name=h(name)
        )
        + "\n\n"
        + _("Here is what you can do:")
        + "\n"
        + commands
    )


def already_linked_text() -> str:
    return _(
        "Your Telegram account is already linked to your customer record. Send /help to see what you can do."
    )


def lead_text() -> str:
    return _(
        "Thank you! We couldn't find your customer record by this number, so the company will get in "
        "touch with you soon."
    )


def lead_again_text() -> str:
    return _("We already have your number, thank you. The company will get in touch with you soon.")


# --- /forget ---


def forget_confirm(client_id: int) -> tuple[str, InlineKeyboardMarkup]:
    text = _(
        "Unlink your Telegram account and ask us to forget you?\n\n"
        "You will stop getting messages from us at once, offers and surveys are turned off, "
        "and an admin will handle your request."
    )
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, forget me"), callback_data=CustomerCb(action=CustomerAction.forget, id=client_id))
    kb.button(text=_("Cancel"), callback_data=CustomerCb(action=CustomerAction.keep, id=client_id))
    kb.adjust(2)
    return text, kb.as_markup()


def forget_done() -> str:
    return _(
        "✅ Done. Your Telegram account is no longer linked to your customer record, and we will not "
        "send you offers or surveys. An admin has your request."
    )


def forget_kept() -> str:
    return _("Nothing changed: your account stays linked.")


def handled_text(original_html: str, by: str) -> str:
    """The admin's notice with who handled it (the original is already HTML, from Message.html_text)."""
    return f"{original_html}\n\n" + _("✅ Handled by {admin}.").format(admin=h(by))


def handled_keyboard(client_id: int) -> InlineKeyboardMarkup:
    return _open_card(client_id).as_markup()


def handled_before(by: str) -> str:
    return _("Already handled by {admin}.").format(admin=h(by))


# --- leads waiting for an owner (admins: /today, /leads) ---


def leads_waiting_line(count: int) -> str:
    """The last line of an admin's /today while leads wait for an owner."""
    return _("📥 Leads waiting for an owner: {count}. See /leads").format(count=count)


def leads_text(items: list[Waiting], total: int, tz: str, locale: str) -> str:
    if not items:
        return _("📥 No leads are waiting. New leads from the bot go to an active admin at once.")
    lines = [
        _("📥 <b>Leads waiting for an owner</b>: {count}").format(count=total),
        _("They shared their phone in the bot while no admin was active. Take one to become its owner."),
        "",
    ]
    for i, item in enumerate(items, 1):
        person = item.person
        who = h(lead_name(person)) + (f" (@{h(person.username)})" if person and person.username else "")
        when = local_dt(item.lead.created_at, tz, locale)
        lines.append(f"{i}. {who}, {h(phones.display(item.lead.phone))} — {when}")
    if total > len(items):
        lines.append(_("…and {count} more: take these first.").format(count=total - len(items)))
    return "\n".join(lines)


def leads_keyboard(items: list[Waiting]) -> InlineKeyboardMarkup | None:
    if not items:
        return None
    kb = InlineKeyboardBuilder()
    for i, item in enumerate(items, 1):
        kb.button(
            text=_("✋ Take {n}").format(n=i),
            callback_data=CustomerCb(action=CustomerAction.take, id=item.lead.id),
        )
    kb.adjust(4)
    return kb.as_markup()


def lead_taken_text(name: str, known: bool) -> str:
    """A callback alert (plain text: the name is not escaped)."""
    if known:
        return _("✋ The lead {name} is attached to the client that has their phone.").format(name=name)
    return _("✋ You took the lead {name}: the client is yours now. Please get in touch.").format(name=name)


def lead_taken_before(by: str) -> str:
    """A callback alert (plain text)."""
    return _("This lead was already taken by {admin}.").format(admin=by)


# --- notices (rendered in the recipient's language when sent) ---


def _open_card(client_id: int) -> InlineKeyboardBuilder:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("👤 Open the card"), callback_data=ClientCb(action=CardAction.open, client_id=client_id))
    return kb


def _customer_linked(p: dict[str, Any]) -> Rendered:
    if p.get("via") == "phone":
        text = _("📲 <b>{name}</b> shared their phone and is now linked to your client <b>{client}</b>.")
    else:
        text = _("📲 <b>{name}</b> opened your invite and is now linked to your client <b>{client}</b>.")
    return text.format(name=h(p["name"]), client=h(p["client"])), _open_card(int(p["client_id"])).as_markup()


def _customer_lead(p: dict[str, Any]) -> Rendered:
    who = h(p["name"]) + (f" (@{h(p['username'])})" if p.get("username") else "")
    if p.get("known"):
        text = _(
            "🙋 {who} shared their phone {phone} in the bot, but that number belongs to a client already "
            "linked to another Telegram account. Please get in touch with them."
        )
    else:
        text = _("🙋 New lead from the bot: {who}, {phone}. No client had this number. Please get in touch.")
    client_id = int(p.get("client_id") or 0)
    markup = _open_card(client_id).as_markup() if client_id else None
    return text.format(who=who, phone=h(p["phone"])), markup


def _customer_forget(p: dict[str, Any]) -> Rendered:
    text = _(
        "🗑 <b>{name}</b> asked to be forgotten (/forget). Their Telegram is already unlinked from the "
        "client <b>{client}</b>, offers and surveys are off. Please remove their personal data as needed "
        "and mark the request handled."
    ).format(name=h(p["name"]), client=h(p["client"]))
    kb = _open_card(int(p["client_id"]))
    kb.button(
        text=_("✅ Handled"), callback_data=CustomerCb(action=CustomerAction.handled, id=int(p["request_id"]))
    )
    kb.adjust(1)
    return text, kb.as_markup()


# The notices drawn here, by name (bot/notices.py lists every module's).
NOTICES: dict[str, Notice] = {
    "customer_linked": _customer_linked,
    "customer_lead": _customer_lead,
    "customer_forget": _customer_forget,
}
