"""Follow-ups: the /followups rules and their prompt, a manager's morning digest of neglected clients
(with Open, Log contact and Snooze buttons), the snooze's answers, and the admins' escalation digest.

Names people typed are escaped (and shortened, so ten of them fit in one message); button labels are
plain text.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.numbers import format_currency

from bot.callbacks import CardAction, ClientCb, FollowupAction, FollowupCb
from bot.formatting import local_dt
from bot.keyboards import label
from bot.messages import error_text
from bot.text import h
from services.errors import DomainError
from services.followups import MAX_DAYS, SEGMENTS, SNOOZE_DAYS, Escalation, Found

SEGMENT_NAMES = {
    "vip": __("⭐ VIP"),
    "A": __("Class A"),
    "B": __("Class B"),
    "C": __("Class C"),
    "none": __("Others (no class)"),
}
NAME_SHOWN = 60  # characters of a name or company in a digest line


def short(value: str, limit: int = NAME_SHOWN) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def segment_name(segment: str) -> str:
    return str(SEGMENT_NAMES[segment])


def days_text(days: int) -> str:
    return _("{n} days").format(n=days) if days > 0 else _("off")


# --- /followups (admins) ---


def rules_text(rules: dict[str, int]) -> str:
    lines = [
        _("🔔 <b>Follow-ups</b>"),
        _(
            "A client counts as neglected after this many days without a contact. Each morning every "
            "manager gets their neglected clients, most valuable first; admins get an escalation digest."
        ),
        "",
    ]
    lines += [f"{segment_name(s)}: <b>{days_text(rules[s])}</b>" for s in SEGMENTS]
    lines += [
        "",
        _("A VIP of class A (or a flagged VIP of another class) falls under the stricter rule that is on."),
        _("Press a rule to change it."),
    ]
    return "\n".join(lines)


def rules_keyboard(rules: dict[str, int]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for i, s in enumerate(SEGMENTS):
        kb.row(
            InlineKeyboardButton(
                text=label(f"✏️ {segment_name(s)}: {days_text(rules[s])}"),
                callback_data=FollowupCb(action=FollowupAction.edit, arg=i).pack(),
            )
        )
    return kb.as_markup()


def days_prompt(segment: str, current: int) -> str:
    return _(
        "✏️ <b>{segment}</b> (now: {current})\n"
        "Send the number of days without a contact after which such a client is neglected: a whole "
        "number from 1 to {limit}, or 0 to turn the rule off. /cancel leaves it as it is."
    ).format(segment=segment_name(segment), current=days_text(current), limit=MAX_DAYS)


def rule_saved(segment: str, days: int) -> str:
    if days == 0:
        return _("✅ Saved: the rule for {segment} is off.").format(segment=segment_name(segment))
    return _("✅ Saved: {segment} — neglected after {n} days without a contact.").format(
        segment=segment_name(segment), n=days
    )


def error(e: DomainError) -> str:
    texts = {
        "followup_days_empty": _("Send the number of days as text, for example 30."),
        "followup_days_not_number": _(
            "That isn't a whole number. Send the days as digits, for example 30, or 0 to turn it off."
        ),
        "followup_days_range": _("From 1 to {limit} days, or 0 to turn the rule off.").format(
            limit=e.params.get("limit", MAX_DAYS)
        ),
    }
    return texts.get(e.code) or error_text(e)


def stale_button() -> str:
    return _("This button is out of date. Send /followups again.")


# --- a manager's digest ---


def digest(
    found: Found, now: datetime, currency: str, locale: str, late: bool
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        _("🔔 <b>Clients waiting for your contact</b>: {n}").format(n=found.total),
        _("Most valuable first. 👤 opens the card, 📝 logs a contact, 💤 snoozes for {n} days.").format(
            n=SNOOZE_DAYS
        ),
        "",
    ]
    kb = InlineKeyboardBuilder()
    for i, c in enumerate(found.items, start=1):
        star = "⭐ " if c.vip else ""
        company = f" · {h(short(c.company))}" if c.company else ""
        quiet = _("{n} days without a contact").format(n=max(0, (now - c.last_contact).days))
        revenue = ""
        if c.monetary:
            revenue = " · " + _("{amount} in a year").format(
                amount=format_currency(c.monetary, currency, locale=locale)
            )
        lines.append(f"{i}. {star}<b>{h(short(c.name))}</b>{company} — {quiet}{revenue}")
        kb.row(
            InlineKeyboardButton(
                text=label(f"👤 {i}. {c.name}"),
                callback_data=FollowupCb(action=FollowupAction.open, client_id=c.id).pack(),
            ),
            InlineKeyboardButton(
                text=_("📝 Log"), callback_data=ClientCb(action=CardAction.log, client_id=c.id).pack()
            ),
            InlineKeyboardButton(
                text=_("💤 {n} days").format(n=SNOOZE_DAYS),
                callback_data=FollowupCb(action=FollowupAction.snooze, client_id=c.id).pack(),
            ),
        )
    rest = found.total - len(found.items)
    if rest > 0:
        lines += ["", _("…and {n} more: they come in the next mornings' digests.").format(n=rest)]
    if late:
        lines.append(_("(sent late: the bot was offline at the planned time)"))
    return "\n".join(lines), kb.as_markup()


def snoozed(name: str, until: datetime, tz: str, locale: str, changed: bool) -> str:
    when = local_dt(until, tz, locale, "d MMM y")
    if changed:
        return _("💤 {name} is snoozed until {date}: not in the digests before then.").format(
            name=short(name), date=when
        )
    return _("💤 {name} is already snoozed until {date}.").format(name=short(name), date=when)


# --- the admins' escalation ---


def escalation(esc: Escalation, late: bool) -> str:
    lines = [_("🚨 <b>Follow-ups: escalation</b>")]
    if esc.overdue:
        lines += ["", _("Most overdue reminders:")]
        lines += [
            _("• {manager}: {n} overdue").format(manager=h(short(o.manager.display_name)), n=o.overdue)
            for o in esc.overdue
        ]
    if esc.vips:
        lines += ["", _("Neglected VIP clients:")]
        for v in esc.vips:
            names = ", ".join(h(short(n, 40)) for n in v.names)
            more = "…" if v.neglected > len(v.names) else ""
            lines.append(
                _("• {manager}: {n} ({names}{more})").format(
                    manager=h(short(v.manager.display_name)), n=v.neglected, names=names, more=more
                )
            )
    lines += ["", _("Send /overdue for the reminders in detail.")]
    if late:
        lines.append(_("(sent late: the bot was offline at the planned time)"))
    return "\n".join(lines)
