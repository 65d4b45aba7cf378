"""How the contact log looks: the dialog's questions and buttons, the saved entry, the history."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_datetime

from bot.callbacks import CardAction, ChoiceCb, ClientCb
from bot.keyboards import label
from bot.messages import error_text
from bot.text import MESSAGE_LIMIT, h, visible_length
from bot.views.reminders import when_text
from models.clients import Client
from models.interactions import InteractionKind, InteractionOutcome
from services import interactions as service
from services.errors import DomainError

STEP_KIND = "lk"
STEP_OUTCOME = "lo"
STEP_NOTE = "ln"
STEP_NEXT = "lx"
STEP_CANCEL = "lc"
STEPS = frozenset({STEP_KIND, STEP_OUTCOME, STEP_NOTE, STEP_NEXT, STEP_CANCEL})


def kind_names() -> dict[InteractionKind, str]:
    return {
        InteractionKind.call: _("📞 Call"),
        InteractionKind.meeting: _("🤝 Meeting"),
        InteractionKind.message: _("💬 Message"),
        InteractionKind.email: _("✉️ Email"),
        InteractionKind.other: _("📝 Other"),
    }


def outcome_names() -> dict[InteractionOutcome, str]:
    return {
        InteractionOutcome.reached: _("✅ Reached"),
        InteractionOutcome.no_answer: _("📵 No answer"),
        InteractionOutcome.agreed: _("👍 Agreed"),
        InteractionOutcome.declined: _("👎 Declined"),
        InteractionOutcome.other: _("• Other"),
    }


def error_message(error: DomainError) -> str:
    if error.code == "note_long":
        return _("That's too long: {length} characters, at most {limit}. Please make it shorter.").format(
            length=error.params.get("length", "?"), limit=error.params.get("limit", "?")
        )
    if error.code == "bad_choice":
        return _("This button is no longer valid. Send /start to begin again.")
    return error_text(error)


def _cancel_row() -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=_("✖ Cancel"), callback_data=ChoiceCb(step=STEP_CANCEL, value="cancel").pack()
        )
    ]


def ask_client_text() -> str:
    return _("📝 Whom did you contact? Type a part of the name, company, email or phone. /cancel to stop.")


def picked_text(clients: list[Client]) -> str:
    if not clients:
        return _("No clients found. Try another part of the name or the phone's last digits.")
    return _("Choose the client:")


def picked_markup(clients: list[Client]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for c in clients:
        name = c.name + (f" · {c.company}" if c.company else "")
        kb.row(
            InlineKeyboardButton(
                text=label(name),
                callback_data=ClientCb(action=CardAction.log, client_id=c.id, version=c.version).pack(),
            )
        )
    return kb.as_markup()


def ask_kind_text(client: Client) -> str:
    return _("📝 A contact with {client}. What was it?").format(client=f"<b>{h(client.name)}</b>")


def kind_markup() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for kind, name in kind_names().items():
        kb.button(text=name, callback_data=ChoiceCb(step=STEP_KIND, value=kind.value))
    kb.adjust(3, 2)
    kb.row(*_cancel_row())
    return kb.as_markup()


def ask_outcome_text(client_name: str, kind: InteractionKind) -> str:
    return _("📝 {kind} with {client}. How did it go?").format(
        kind=kind_names()[kind], client=f"<b>{h(client_name)}</b>"
    )


def outcome_markup() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for outcome, name in outcome_names().items():
        kb.button(text=name, callback_data=ChoiceCb(step=STEP_OUTCOME, value=outcome.value))
    kb.adjust(2, 3)
    kb.row(*_cancel_row())
    return kb.as_markup()


def ask_note_text(client_name: str, kind: InteractionKind, outcome: InteractionOutcome) -> str:
    return f"📝 {kind_names()[kind]} · {outcome_names()[outcome]} · <b>{h(client_name)}</b>\n" + _(
        "Add a note: type it or record a voice message. Or skip."
    )


def skip_markup(step: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip »"), callback_data=ChoiceCb(step=step, value="skip"))
    kb.row(*_cancel_row())
    return kb.as_markup()


def ask_next_text() -> str:
    return (
        _("📌 A next step? Send when and what, for example: friday 15:00 send the offer.")
        + "\n"
        + _("Or skip.")
    )


def ask_next_what_text(when: str) -> str:
    return _("📌 {when}. What is the next step?").format(when=f"<b>{when}</b>")


def saved_text(
    logged: service.Logged, tz: str, locale: str, now: datetime, *, reminder_when: str | None = None
) -> str:
    entry = logged.interaction
    lines = [
        _("✅ Logged: {kind} · {outcome} with {client}.").format(
            kind=kind_names()[entry.kind],
            outcome=outcome_names()[entry.outcome],
            client=f"<b>{h(logged.client.name)}</b>",
        )
    ]
    if entry.note:
        lines.append(h(entry.note))
    if entry.voice_file_id:
        lines.append(_("🎤 Voice note kept."))
    if logged.reminder is not None:
        when = reminder_when or when_text(logged.reminder.due_at, tz, locale, now)
        lines.append(
            _("📌 Next step {when}: {text}").format(when=f"<b>{when}</b>", text=h(logged.reminder.text))
        )
    return "\n".join(lines)


def saved_markup(client: Client) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📜 History"), callback_data=ClientCb(action=CardAction.history, client_id=client.id))
    kb.button(
        text=_("👤 Open client"),
        callback_data=ClientCb(action=CardAction.open, client_id=client.id, version=client.version),
    )
    kb.adjust(2)
    return kb.as_markup()


def _entry_lines(e: service.Entry, tz: str, locale: str, note_budget: int) -> list[str]:
    when = format_datetime(e.occurred_at.astimezone(ZoneInfo(tz)), "d MMM y, HH:mm", locale=locale)
    head = f"<b>{when}</b> · {kind_names()[e.kind]} · {outcome_names()[e.outcome]}"
    if e.author_name:
        head += f" · {h(e.author_name)}"
    lines = [head]
    if e.note:
        note = e.note if len(e.note) <= note_budget else e.note[: max(note_budget - 1, 0)] + "…"
        lines.append(h(note))
    if e.voice_file_id:
        lines.append(_("🎤 voice note: ▶ below"))
    return lines


def history_text(hist: service.History, tz: str, locale: str) -> str:
    head = _("📜 <b>History</b>: {client} — {n}").format(client=h(hist.client.name), n=hist.total)
    if not hist.entries:
        return head + "\n\n" + _("No contacts logged yet. Press 📝 Log a contact on the card.")
    budget = NOTE_ROOM // max(len(hist.entries), 1)
    while True:
        blocks = ["\n".join(_entry_lines(e, tz, locale, budget)) for e in hist.entries]
        text = head + "\n\n" + "\n\n".join(blocks)
        if visible_length(text) <= MESSAGE_LIMIT or budget <= 20:
            return text
        budget = budget * 2 // 3


NOTE_ROOM = MESSAGE_LIMIT - 600


def history_markup(hist: service.History, tz: str, locale: str) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    cid = hist.client.id
    for e in hist.entries:
        if e.voice_file_id:
            when = format_datetime(e.occurred_at.astimezone(ZoneInfo(tz)), "d MMM, HH:mm", locale=locale)
            rows.append(
                [
                    InlineKeyboardButton(
                        text=_("▶ Voice note, {when}").format(when=when),
                        callback_data=ClientCb(action=CardAction.voice, client_id=cid, arg=e.id).pack(),
                    )
                ]
            )
    nav = []
    if hist.page > 0:
        nav.append(
            InlineKeyboardButton(
                text=_("◀ Newer"),
                callback_data=ClientCb(action=CardAction.history, client_id=cid, page=hist.page - 1).pack(),
            )
        )
    if hist.page < hist.pages - 1:
        nav.append(
            InlineKeyboardButton(
                text=_("Older ▶"),
                callback_data=ClientCb(action=CardAction.history, client_id=cid, page=hist.page + 1).pack(),
            )
        )
    if nav:
        rows.append(nav)
    rows.append(
        [
            InlineKeyboardButton(
                text=_("🕓 Changes"),
                callback_data=ClientCb(action=CardAction.changes, client_id=cid).pack(),
            )
        ]
    )
    rows.append(
        [
            InlineKeyboardButton(
                text=_("📝 Log a contact"),
                callback_data=ClientCb(action=CardAction.log, client_id=cid).pack(),
            ),
            InlineKeyboardButton(
                text=_("« Client"),
                callback_data=ClientCb(
                    action=CardAction.open, client_id=cid, version=hist.client.version
                ).pack(),
            ),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def voice_caption(client_name: str, occurred_at: datetime, tz: str, locale: str) -> str:
    when = format_datetime(occurred_at.astimezone(ZoneInfo(tz)), "d MMM y, HH:mm", locale=locale)
    return _("🎤 {client}, {when}").format(client=h(client_name), when=when)
