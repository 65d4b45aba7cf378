"""Reminders: creation, delivery scheduling through the durable queue, snoozing, the day's list.

A reminder is delivered by a queued job (kind REMINDER_JOB) whose key names the reminder's version.
Snoozing or rescheduling bumps the version and queues a new job; the old one, if it still runs,
finds a different version and does nothing. The job records `sent_at` in its own transaction, so a
retried job never sends the same version twice.

A manager sees and changes only their own reminders; admins see everyone's. Someone else's reminder
is "not found".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, bindparam, cast, func, literal, null, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.reminders import Reminder, ReminderStatus
from models.users import User
from services.access import sees_everything
from services.errors import DomainError, NotFound
from services.queue import cancel as cancel_job
from services.queue import enqueue

REMINDER_JOB = "reminder"
TEXT_LIMIT = 1000
MORNING = time(9, 0)
SNOOZES = {"s15": timedelta(minutes=15), "s60": timedelta(hours=1)}  # and "tomorrow": 09:00 local
# Rows fetched per /today group: one message shows about 55 lines, so more would only be counted.
AGENDA_LIMIT = 60
OVERDUE_LIMIT = 500


def job_key(reminder: Reminder) -> str:
    return f"reminder:{reminder.id}:v{reminder.version}"


def clean_text(text: str) -> str:
    """What a person typed, trimmed; empty or too long is a DomainError."""
    text = (text or "").strip()
    if not text:
        raise DomainError("reminder_text_empty")
    if len(text) > TEXT_LIMIT:
        raise DomainError("reminder_text_long", limit=TEXT_LIMIT, length=len(text))
    return text


async def create(
    session: AsyncSession,
    owner_id: int,
    text: str,
    due_at: datetime,
    now: datetime,
    *,
    client_id: int | None = None,
    deal_id: int | None = None,
    created_by: int | None = None,
) -> Reminder:
    """A pending reminder and its queued delivery, in the caller's transaction."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    reminder = Reminder(
        owner_id=owner_id,
        client_id=client_id,
        deal_id=deal_id,
        text=text[:TEXT_LIMIT],
        due_at=due_at,
        status=ReminderStatus.pending,
        version=1,
        created_by=created_by if created_by is not None else owner_id,
        created_at=now,
    )
    session.add(reminder)
    await session.flush()
    await enqueue(
        session,
        REMINDER_JOB,
        {"reminder_id": reminder.id, "version": reminder.version},
        due_at,
        key=job_key(reminder),
    )
    return reminder


async def next_for_client(session: AsyncSession, client_id: int) -> Reminder | None:
    return await session.scalar(
        select(Reminder)
        .where(Reminder.client_id == client_id, Reminder.status == ReminderStatus.pending)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(1)
    )


async def visible_reminder(session: AsyncSession, user: User, reminder_id: int) -> Reminder:
    reminder = await session.get(Reminder, reminder_id)
    if reminder is None or (not sees_everything(user) and reminder.owner_id != user.id):
        raise NotFound()
    return reminder


def _not_pending(reminder: Reminder) -> DomainError:
    if reminder.status == ReminderStatus.done:
        return DomainError("reminder_already_done")
    return DomainError("reminder_cancelled")


async def _set(
    session: AsyncSession, reminder: Reminder, expected_version: int | None, **values: object
) -> bool:
    """Compare-and-set: only a pending reminder (of the expected version) changes. Refreshes it."""
    conditions = [Reminder.id == reminder.id, Reminder.status == ReminderStatus.pending]
    if expected_version is not None:
        conditions.append(Reminder.version == expected_version)
    result = await session.execute(
        update(Reminder).where(*conditions).values(**values).execution_options(synchronize_session=False)
    )
    await session.refresh(reminder)
    return result.rowcount == 1


async def reschedule(
    session: AsyncSession,
    user: User,
    reminder_id: int,
    due_at: datetime,
    now: datetime,
    *,
    version: int | None = None,
) -> Reminder:
    """Move a pending reminder to `due_at` (a snooze). With `version`, a button drawn for an older
    version is refused with "reminder_moved" (it was already snoozed from another press)."""
    if due_at.tzinfo is None:
        raise ValueError("due_at must be timezone-aware")
    if due_at <= now:
        raise DomainError("time_past")
    reminder = await visible_reminder(session, user, reminder_id)
    old_key = job_key(reminder)
    current = reminder.version
    if version is not None and version != current:
        if reminder.status != ReminderStatus.pending:
            raise _not_pending(reminder)
        raise DomainError("reminder_moved", due_at=reminder.due_at)
    if not await _set(session, reminder, current, version=current + 1, due_at=due_at, sent_at=None):
        if reminder.status != ReminderStatus.pending:
            raise _not_pending(reminder)
        raise DomainError("reminder_moved", due_at=reminder.due_at)
    await cancel_job(session, old_key)
    await enqueue(
        session,
        REMINDER_JOB,
        {"reminder_id": reminder.id, "version": reminder.version},
        due_at,
        key=job_key(reminder),
    )
    return reminder


def snooze_until(action: str, now: datetime, tz: str) -> datetime:
    """+15 min, +1 hour, or tomorrow 09:00 in the person's time zone."""
    if action in SNOOZES:
        return now + SNOOZES[action]
    if action == "tomorrow":
        zone = ZoneInfo(tz)
        tomorrow = now.astimezone(zone).date() + timedelta(days=1)
        return datetime.combine(tomorrow, MORNING).replace(tzinfo=zone).astimezone(UTC)
    raise DomainError("not_found")


async def mark_done(session: AsyncSession, user: User, reminder_id: int, now: datetime) -> Reminder:
    reminder = await visible_reminder(session, user, reminder_id)
    key = job_key(reminder)
    if not await _set(session, reminder, None, status=ReminderStatus.done, done_at=now):
        raise _not_pending(reminder)
    await cancel_job(session, key)  # done before it was due: nothing to deliver
    return reminder


async def cancel(session: AsyncSession, user: User, reminder_id: int, now: datetime) -> Reminder:
    reminder = await visible_reminder(session, user, reminder_id)
    key = job_key(reminder)
    if not await _set(session, reminder, None, status=ReminderStatus.cancelled, done_at=now):
        raise _not_pending(reminder)
    await cancel_job(session, key)
    return reminder


# --- delivery (the job handler's side) ---


async def for_delivery(session: AsyncSession, reminder_id: int, version: int) -> Reminder | None:
    """The reminder if this version is still to be delivered: pending, same version, not yet sent."""
    reminder = await session.get(Reminder, reminder_id, with_for_update=True)
    if (
        reminder is None
        or reminder.status != ReminderStatus.pending
        or reminder.version != version
        or reminder.sent_at is not None
    ):
        return None
    return reminder


def mark_sent(reminder: Reminder, now: datetime) -> None:
    """In the job's own transaction: committed together with the job's completion."""
    reminder.sent_at = now


# --- lists ---


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    text: str
    due_at: datetime
    client_id: int | None
    client_name: str | None
    owner_id: int


@dataclass(slots=True)
class Agenda:
    overdue: list[Item] = field(default_factory=list)
    today: list[Item] = field(default_factory=list)
    tomorrow: list[Item] = field(default_factory=list)
    overdue_total: int = 0
    today_total: int = 0
    tomorrow_total: int = 0

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.today or self.tomorrow)


def _local_midnight(day, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0)).replace(tzinfo=zone).astimezone(UTC)


def _items_query():
    return select(
        Reminder.id,
        Reminder.text,
        Reminder.due_at,
        Reminder.client_id,
        Client.name,
        Reminder.owner_id,
    ).outerjoin(Client, Client.id == Reminder.client_id)


_AGENDA: list[Any] = []


def _agenda_statement() -> Any:
    """The last AGENDA_LIMIT overdue and the next 2 × AGENDA_LIMIT upcoming rows, each carrying the
    true totals of its groups; built once, with :owner_id, :now, :tomorrow_starts, :tomorrow_ends."""
    if _AGENDA:
        return _AGENDA[0]
    now, starts, ends = bindparam("now"), bindparam("tomorrow_starts"), bindparam("tomorrow_ends")
    mine = (Reminder.owner_id == bindparam("owner_id"), Reminder.status == ReminderStatus.pending)

    def total(*where) -> Any:
        return select(func.count()).select_from(Reminder).where(*mine, *where).scalar_subquery()

    overdue = (
        _items_query()
        .add_columns(literal(0).label("grp"), total(Reminder.due_at <= now), cast(null(), Integer))
        .where(*mine, Reminder.due_at <= now)
        .order_by(Reminder.due_at.desc(), Reminder.id.desc())
        .limit(AGENDA_LIMIT)
        .subquery()
    )
    upcoming = (
        _items_query()
        .add_columns(
            literal(1).label("grp"),
            total(Reminder.due_at > now, Reminder.due_at < starts),
            total(Reminder.due_at >= starts, Reminder.due_at < ends),
        )
        .where(*mine, Reminder.due_at > now, Reminder.due_at < ends)
        .order_by(Reminder.due_at, Reminder.id)
        .limit(AGENDA_LIMIT * 2)
        .subquery()
    )
    _AGENDA.append(union_all(select(overdue), select(upcoming)))
    return _AGENDA[0]


async def agenda(session: AsyncSession, owner_id: int, now: datetime, tz: str) -> Agenda:
    """The owner's pending reminders: overdue (due and not done), the rest of today, tomorrow —
    days in the owner's time zone. One statement (see _agenda_statement)."""
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    tomorrow_starts = _local_midnight(today + timedelta(days=1), zone)
    params = {
        "owner_id": owner_id,
        "now": now,
        "tomorrow_starts": tomorrow_starts,
        "tomorrow_ends": _local_midnight(today + timedelta(days=2), zone),
    }
    rows = (await session.execute(_agenda_statement(), params)).all()
    result = Agenda()
    for *fields, group, first_total, second_total in sorted(rows, key=lambda r: (r[2], r[0])):
        item = Item(*fields)
        if group == 0:
            result.overdue.append(item)
            result.overdue_total = first_total
        elif item.due_at < tomorrow_starts:
            result.today.append(item)
        else:
            result.tomorrow.append(item)
        if group == 1:
            result.today_total, result.tomorrow_total = first_total, second_total
    return result


@dataclass(slots=True)
class ManagerOverdue:
    owner: User
    items: list[Item]
    total: int


async def overdue_report(session: AsyncSession, now: datetime, hours: int) -> list[ManagerOverdue]:
    """Pending reminders overdue by more than `hours`, grouped by their owner (admins only)."""
    cutoff = now - timedelta(hours=hours)
    late = [Reminder.status == ReminderStatus.pending, Reminder.due_at < cutoff]
    totals = dict(
        (
            await session.execute(
                select(Reminder.owner_id, func.count()).where(*late).group_by(Reminder.owner_id)
            )
        ).all()
    )
    if not totals:
        return []
    rows = await session.execute(
        _items_query().where(*late).order_by(Reminder.due_at, Reminder.id).limit(OVERDUE_LIMIT)
    )
    by_owner: dict[int, list[Item]] = defaultdict(list)
    for row in rows.all():
        by_owner[row.owner_id].append(Item(*row))
    owners = (await session.scalars(select(User).where(User.id.in_(list(totals))))).all()
    report = [ManagerOverdue(owner=o, items=by_owner.get(o.id, []), total=totals[o.id]) for o in owners]
    report.sort(key=lambda m: (-m.total, m.owner.display_name.casefold(), m.owner.id))
    return report
