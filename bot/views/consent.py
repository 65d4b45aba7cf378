"""Consent: the customer's switches (/consent), /stop, Unsubscribe under marketing messages, and the
card's consent view with its history for managers.

The texts describing each purpose are what the customer agrees to: when their meaning changes, change
services.consent.CONSENT_TEXT_VERSION too (it is stored with every decision).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import CardAction, ClientCb, ConsentAction, ConsentCb
from bot.formatting import local_dt
from bot.keyboards import label
from bot.text import h
from models.clients import Client
from models.consent import ConsentSource, Purpose
from services.consent import CONSENT_TEXT_VERSION, HistoryItem

ORDER = (Purpose.marketing, Purpose.surveys, Purpose.service)


def purpose_name(purpose: Purpose) -> str:
    return {
        Purpose.marketing: _("Offers and news"),
        Purpose.surveys: _("Surveys"),
        Purpose.service: _("Service messages"),
    }[purpose]


def purpose_text(purpose: Purpose) -> str:
    return {
        Purpose.marketing: _("offers, discounts and news from the company"),
        Purpose.surveys: _("a short question now and then about how we did"),
        Purpose.service: _("your points, gifts, orders and the reminders you asked for"),
    }[purpose]


def source_name(source: ConsentSource) -> str:
    return {
        ConsentSource.button: _("a button in the bot"),
        ConsentSource.command: _("a command in the bot"),
        ConsentSource.manager: _("recorded by a manager on the customer's word"),
        ConsentSource.system: _("automatically"),
    }[source]


def icon(granted: bool) -> str:
    return "✅" if granted else "⬜"


# --- the customer's /consent ---


def customer_screen(
    client_id: int, state: dict[Purpose, bool], note: str | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [note, ""] if note else []
    lines.append(_("🔔 <b>Which messages you get from us</b>"))
    lines.append("")
    for purpose in ORDER:
        lines.append(f"{icon(state[purpose])} <b>{purpose_name(purpose)}</b> — {purpose_text(purpose)}")
    lines.append("")
    lines.append(_("Tap a switch to turn it on or off. /stop turns off offers and surveys at once."))
    lines.append(_("Text version {version}.").format(version=CONSENT_TEXT_VERSION))
    kb = InlineKeyboardBuilder()
    for purpose in ORDER:
        kb.button(
            text=f"{icon(state[purpose])} {purpose_name(purpose)}",
            callback_data=ConsentCb(
                action=ConsentAction.set,
                purpose=purpose.value,
                client_id=client_id,
                value=int(not state[purpose]),
            ),
        )
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def switched(purpose: Purpose, granted: bool) -> str:
    if granted:
        return _("✅ {purpose}: on.").format(purpose=purpose_name(purpose))
    return _("⬜ {purpose}: off.").format(purpose=purpose_name(purpose))


def unchanged() -> str:
    return _("Already so: nothing changed.")


def not_yours() -> str:
    return _("This button is not for your account. Send /consent to see your own settings.")


def stop_done() -> str:
    return _(
        "🔕 Done: no more offers, news or surveys from us. Service messages (your points, orders) still "
        "come. /consent to change this."
    )


# --- Unsubscribe under every marketing message ---


def unsubscribe_button(client_id: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("🔕 Unsubscribe"),
        callback_data=ConsentCb(action=ConsentAction.unsub, client_id=client_id).pack(),
    )


def with_unsubscribe(markup: InlineKeyboardMarkup | None, client_id: int) -> InlineKeyboardMarkup:
    rows = [list(row) for row in markup.inline_keyboard] if markup is not None else []
    rows.append([unsubscribe_button(client_id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def unsubscribed() -> str:
    return _("🔕 You are unsubscribed: no more offers and news from us. /consent to change this.")


# --- the card's 🔔 Consent (staff) ---


def card_screen(
    client: Client,
    state: dict[Purpose, bool],
    items: Sequence[HistoryItem],
    tz: str,
    locale: str,
    note: str | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [note, ""] if note else []
    lines.append(_("🔔 Consent of <b>{name}</b>").format(name=h(client.name)))
    for purpose in ORDER:
        lines.append(f"{icon(state[purpose])} {purpose_name(purpose)}")
    if client.telegram_id is None:
        lines.append(_("The customer isn't linked to the bot: nothing is sent to them there."))
    lines.append("")
    if not items:
        lines.append(_("No decisions yet: service messages are on, offers and surveys are off."))
    else:
        lines.append(_("<b>History</b>, newest first:"))
    for item in items:
        e = item.event
        decision = _("granted") if e.granted else _("withdrawn")
        who = h(label(item.actor.display_name, 40)) if item.actor else _("the customer")
        flag = " ⚠️" if e.source == ConsentSource.manager else ""
        lines.append(
            _("• {when} — {purpose}: {decision}; {source}, {who}; text {version}").format(
                when=local_dt(e.at, tz, locale),
                purpose=purpose_name(e.purpose),
                decision=decision,
                source=source_name(e.source),
                who=who,
                version=h(e.text_version),
            )
            + flag
        )
    kb = InlineKeyboardBuilder()
    for purpose in ORDER:
        wanted = not state[purpose]
        text = (_("✍️ {purpose}: record “yes”") if wanted else _("✍️ {purpose}: record “no”")).format(
            purpose=purpose_name(purpose)
        )
        kb.button(
            text=text,
            callback_data=ConsentCb(
                action=ConsentAction.ask, purpose=purpose.value, client_id=client.id, value=int(wanted)
            ),
        )
    kb.button(
        text=_("« Card"),
        callback_data=ClientCb(action=CardAction.open, client_id=client.id, version=client.version),
    )
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()


def record_confirm(client: Client, purpose: Purpose, granted: bool) -> tuple[str, InlineKeyboardMarkup]:
    if granted:
        text = _(
            "Record that <b>{name}</b> told you they <b>agree</b> to: {purpose}?\n"
            "It is stored as a decision on the customer's word, with your name."
        )
    else:
        text = _(
            "Record that <b>{name}</b> told you they <b>don't want</b>: {purpose}?\n"
            "It is stored as a decision on the customer's word, with your name."
        )
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("✅ Yes, record it"),
        callback_data=ConsentCb(
            action=ConsentAction.rec, purpose=purpose.value, client_id=client.id, value=int(granted)
        ),
    )
    kb.button(
        text=_("« Back"),
        callback_data=ClientCb(action=CardAction.consent, client_id=client.id, version=client.version),
    )
    kb.adjust(1)
    return text.format(name=h(client.name), purpose=purpose_name(purpose)), kb.as_markup()


def recorded() -> str:
    return _("✅ Recorded.")
