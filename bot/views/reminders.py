"""How reminders look: the understood time, the delivered reminder with its buttons, /today, /overdue.

Everything a person typed goes through h(); times are shown in the reader's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_datetime

from bot.callbacks import CardAction, ClientCb, ReminderAction, ReminderCb
from bot.messages import error_text
from bot.text import MESSAGE_LIMIT, h, visible_length
from models.reminders import Reminder
from services import reminders as reminders_service
from services.errors import DomainError

LINE_TEXT = 90  # characters of a reminder's text in a list line
LIST_BUDGET = MESSAGE_LIMIT - 200  # room left for the "and N more" line


def when_text(value: datetime, tz: str, locale: str, now: datetime | None = None) -> str:
    """Like "пт, 27 нояб., 15:00", with the year when it is not this year."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    zone = ZoneInfo(tz)
    local = value.astimezone(zone)
    same_year = now is not None and now.astimezone(zone).year == local.year
    fmt = "EEE, d MMM, HH:mm" if same_year else "EEE, d MMM y, HH:mm"
    return format_datetime(local, fmt, locale=locale)


def _short_when(value: datetime, tz: str, locale: str, *, with_date: bool) -> str:
    local = value.astimezone(ZoneInfo(tz))
    return format_datetime(local, "d MMM, HH:mm" if with_date else "HH:mm", locale=locale)


def error_message(
    error: DomainError, tz: str | None = None, locale: str = "en", now: datetime | None = None
) -> str:
    """Texts for the time parser's and the reminder service's errors (others: bot.messages)."""
    code = error.code
    if code == "reminder_text_empty":
        return _("The text is empty. What should I remind you about?")
    if code == "reminder_text_long":
        return _("That's too long: {length} characters, at most {limit}. Please make it shorter.").format(
            length=error.params.get("length", "?"), limit=error.params.get("limit", "?")
        )
    if code == "reminder_already_done":
        return _("Already done.")
    if code == "reminder_cancelled":
        return _("This reminder was cancelled.")
    if code == "reminder_moved":
        due = error.params.get("due_at")
        if isinstance(due, datetime) and tz:
            return _("Already moved to {when}.").format(when=when_text(due, tz, locale, now))
        return _("Already moved.")
    return error_text(error)


def examples() -> str:
    return _("For example: tomorrow 10am, in 2 hours, friday 15:00, 25.12 9:30.")


def ask_when_text(client_name: str | None) -> str:
    head = (
        _("⏰ A reminder about {client}. When?").format(client=f"<b>{h(client_name)}</b>")
        if client_name
        else _("⏰ When should I remind you?")
    )
    return (
        head
        + "\n"
        + examples()
        + "\n"
        + _("You can add the text on the same line: tomorrow 10am call back. /cancel to stop.")
    )


def ask_what_text(when: str) -> str:
    return _("⏰ {when}. What should I remind you about?").format(when=f"<b>{when}</b>")


def created_text(reminder: Reminder, client_name: str | None, when: str) -> str:
    lines = [_("✅ I'll remind you on {when}:").format(when=f"<b>{when}</b>"), h(reminder.text)]
    if client_name:
        lines.append(_("Client: {client}").format(client=h(client_name)))
    return "\n".join(lines)


def created_markup(reminder: Reminder) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("✖ Cancel it"),
        callback_data=ReminderCb(
            action=ReminderAction.cancel, reminder_id=reminder.id, version=reminder.version
        ),
    )
    return kb.as_markup()


def _body(reminder: Reminder, client_name: str | None) -> list[str]:
    lines = [_("⏰ <b>Reminder</b>"), h(reminder.text)]
    if client_name:
        lines.append(_("Client: {client}").format(client=h(client_name)))
    return lines


def delivery(
    reminder: Reminder,
    client_name: str | None,
    client_version: int,
    tz: str,
    locale: str,
    *,
    late: bool,
    now: datetime | None = None,
) -> tuple[str, InlineKeyboardMarkup]:
    """The reminder as delivered at its time, with Done / snooze / open-client buttons."""
    lines = _body(reminder, client_name)
    if late:
        lines.append(
            _("⚠️ Late: it was due {when}, the bot was offline.").format(
                when=when_text(reminder.due_at, tz, locale, now)
            )
        )
    return "\n".join(lines), delivery_markup(reminder, client_version)


def delivery_markup(reminder: Reminder, client_version: int = 0) -> InlineKeyboardMarkup:
    def cb(action: str) -> str:
        return ReminderCb(action=action, reminder_id=reminder.id, version=reminder.version).pack()

    rows = [
        [InlineKeyboardButton(text=_("✅ Done"), callback_data=cb("done"))],
        [
            InlineKeyboardButton(text=_("+15 min"), callback_data=cb("s15")),
            InlineKeyboardButton(text=_("+1 hour"), callback_data=cb("s60")),
            InlineKeyboardButton(text=_("Tomorrow 9:00"), callback_data=cb("tomorrow")),
        ],
    ]
    if reminder.client_id is not None:
        rows.append(
            [
                InlineKeyboardButton(
                    text=_("👤 Open client"),
                    callback_data=ClientCb(
                        action=CardAction.open, client_id=reminder.client_id, version=client_version
                    ).pack(),
                )
            ]
        )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def client_only_markup(reminder: Reminder, client_version: int = 0) -> InlineKeyboardMarkup | None:
    if reminder.client_id is None:
        return None
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("👤 Open client"),
        callback_data=ClientCb(action=CardAction.open, client_id=reminder.client_id, version=client_version),
    )
    return kb.as_markup()


def done_text(reminder: Reminder, client_name: str | None) -> str:
    return "\n".join([*_body(reminder, client_name), _("✅ Done.")])


def cancelled_text(reminder: Reminder, client_name: str | None) -> str:
    return "\n".join([*_body(reminder, client_name), _("✖ Cancelled.")])


def snoozed_text(reminder: Reminder, client_name: str | None, when: str) -> str:
    return "\n".join([*_body(reminder, client_name), _("💤 Moved to {when}.").format(when=f"<b>{when}</b>")])


# --- lists ---


def _line(item: reminders_service.Item, tz: str, locale: str, *, with_date: bool) -> str:
    text = " ".join(item.text.split())
    if len(text) > LINE_TEXT:
        text = text[: LINE_TEXT - 1] + "…"
    line = f"• {_short_when(item.due_at, tz, locale, with_date=with_date)} — {h(text)}"
    if item.client_name:
        line += f" · 👤 {h(item.client_name)}"
    return line


Line = str | Callable[[], str]  # an item line may be deferred: only what fits is formatted


def _is_item(line: Line) -> bool:
    return callable(line) or line.startswith("• ")


def _fit(lines: list[Line], total_items: int, shown_items: int) -> str:
    """Join lines, cutting whole item lines to fit one message, with "and N more" at the end."""
    out: list[str] = []
    size = 0
    cut = 0
    for i, entry in enumerate(lines):
        line = entry() if callable(entry) else entry
        added = visible_length(line) + 1
        if size + added > LIST_BUDGET:
            cut = sum(1 for rest in lines[i:] if _is_item(rest))
            break
        out.append(line)
        size += added
    more = cut + (total_items - shown_items)
    while out and not out[-1].strip():
        out.pop()
    if more > 0:
        out.append(_("…and {n} more.").format(n=more))
    return "\n".join(out)


def agenda_text(agenda: reminders_service.Agenda, tz: str, locale: str, now: datetime) -> str:
    today = format_datetime(now.astimezone(ZoneInfo(tz)), "EEEE, d MMMM", locale=locale)
    lines: list[Line] = [_("📋 <b>My reminders</b> — {today}").format(today=today)]
    if agenda.empty:
        lines.append("")
        lines.append(_("Nothing overdue, nothing for today or tomorrow."))
        lines.append(_("Set one: /remind tomorrow 10am call Ivan"))
        return "\n".join(lines)
    shown = 0
    if agenda.overdue:
        lines += ["", _("⚠️ <b>Overdue</b> ({n})").format(n=agenda.overdue_total)]
        lines += [partial(_line, i, tz, locale, with_date=True) for i in agenda.overdue]
        shown += len(agenda.overdue)
    if agenda.today:
        lines += ["", _("📅 <b>Today</b> ({n})").format(n=agenda.today_total)]
        lines += [partial(_line, i, tz, locale, with_date=False) for i in agenda.today]
        shown += len(agenda.today)
    if agenda.tomorrow:
        lines += ["", _("🗓 <b>Tomorrow</b> ({n})").format(n=agenda.tomorrow_total)]
        lines += [partial(_line, i, tz, locale, with_date=False) for i in agenda.tomorrow]
        shown += len(agenda.tomorrow)
    total = agenda.overdue_total + agenda.today_total + agenda.tomorrow_total
    return _fit(lines, total, shown)


def overdue_text(report: list[reminders_service.ManagerOverdue], hours: int, tz: str, locale: str) -> str:
    if not report:
        return _("👍 No reminders overdue by more than {hours} h.").format(hours=hours)
    total = sum(m.total for m in report)
    lines = [_("⏰ <b>Overdue by more than {hours} h</b>: {n}").format(hours=hours, n=total)]
    shown = 0
    for m in report:
        lines += ["", f"👤 <b>{h(m.owner.display_name)}</b> — {m.total}"]
        lines += [_line(i, tz, locale, with_date=True) for i in m.items]
        shown += len(m.items)
    return _fit(lines, total, shown)
