"""Follow-ups for neglected clients: the rules, who is neglected, the digest's marker, the snooze, and
the supervisors' escalation.

A rule is "no contact for N days" per client class: VIP (the manual flag or class A,
services/analytics/rfm.is_vip), the ABC class A, B or C of the latest RFM run, and "others" (no class).
Admins edit them; 0 turns a rule off. A client under two rules (a VIP of class A, a flagged VIP of
class C) falls under the stricter one: the fewer days of those that are on.

A client's last contact is `clients.last_contact_at` (every logged contact moves it), else the time the
client was created. A client is neglected when its last contact is older than its rule, it hasn't been
listed in a digest since this quiet period began (never listed, listed before the last contact, listed
longer ago than the rule's days, or a snooze ended since), and it isn't snoozed now. A digest lists the
most valuable first (the 365-day revenue of the latest RFM run), then the longest quiet, and marks the
clients it lists, so none of them comes again the next morning.

Each question is one SQL statement: a manager's clients are read along the (owner_id, last_contact_at)
index, their class and revenue are looked up by the scores' primary key, and their marker by its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.followups import FollowupMark, FollowupRule
from models.reminders import Reminder, ReminderStatus
from models.users import Role, User
from services import audit
from services.access import visible_client
from services.analytics import rfm
from services.errors import DomainError

VIP, OTHERS = "vip", "none"
CLASSES = ("A", "B", "C", OTHERS)
SEGMENTS = (VIP, *CLASSES)  # the order the rules are shown in
DEFAULT_DAYS = {VIP: 14, "A": 30, "B": 60, "C": 90, OTHERS: 90}
MAX_DAYS = 365
DIGEST_LIMIT = 10  # clients in one digest; the rest come on the next mornings
SNOOZE_DAYS = 7
ESCALATION_MANAGERS = 5  # managers shown in each list of the escalation digest
ESCALATION_NAMES = 3  # neglected VIPs named per manager
DIGITS = re.compile(r"[0-9]{1,9}")


# --- the rules ---


async def rules(session: AsyncSession) -> dict[str, int]:
    """Days per segment (0: off); a segment without a row has its default."""
    rows = dict((await session.execute(select(FollowupRule.segment, FollowupRule.days))).all())
    return {s: int(rows.get(s, DEFAULT_DAYS[s])) for s in SEGMENTS}


def parse_days(text: str | None) -> int:
    """A whole number of days from 0 (off) to MAX_DAYS."""
    value = (text or "").strip()
    if not value:
        raise DomainError("followup_days_empty")
    if not value.isascii() or not value.isdigit():
        raise DomainError("followup_days_not_number")
    if not DIGITS.fullmatch(value) or int(value) > MAX_DAYS:
        raise DomainError("followup_days_range", limit=MAX_DAYS)
    return int(value)


async def set_rule(session: AsyncSession, actor: User, segment: str, text: str | None, now: datetime) -> int:
    """Save a segment's days (admins only), in the audit trail as before -> after."""
    if actor.effective_role != Role.admin:
        raise DomainError("not_allowed")
    if segment not in SEGMENTS:
        raise DomainError("bad_choice")
    days = parse_days(text)
    row = await session.get(FollowupRule, segment, with_for_update=True)
    before = row.days if row is not None else DEFAULT_DAYS[segment]
    if row is None:
        session.add(FollowupRule(segment=segment, days=days, updated_at=now, updated_by=actor.id))
    else:
        row.days, row.updated_at, row.updated_by = days, now, actor.id
    audit.record(
        session, actor.id, "followups.rule", f"followup_rules:{segment}", now, before=before, after=days
    )
    await session.flush()
    return days


def _effective(rules: dict[str, int]) -> list[tuple[bool, str, int]]:
    """(VIP?, class, days) for every kind of client a rule is on for: the stricter of the two rules."""
    out = []
    for cls in CLASSES:
        for vip in (True, False) if cls != "A" else (True,):  # class A is always a VIP
            days = [d for d in (rules[cls], rules[VIP] if vip else 0) if d > 0]
            if days:
                out.append((vip, cls, min(days)))
    return out


# --- who is neglected ---


@dataclass(frozen=True, slots=True)
class Neglected:
    id: int
    version: int
    name: str
    company: str | None
    vip: bool
    last_contact: datetime
    monetary: Decimal | None  # the 365-day revenue in the latest RFM run; None: not scored


@dataclass(frozen=True, slots=True)
class Found:
    items: list[Neglected]
    total: int


def _neglected_where(
    rules: dict[str, int], now: datetime, score: Any, *, marked: bool = True, vips_only: bool = False
) -> list[Any] | None:
    """The conditions for a neglected client (None: every rule that matters is off). Without `marked`
    the digest's marker is ignored (the escalation: still neglected, listed or not)."""
    kinds = [k for k in _effective(rules) if k[0] or not vips_only]
    if not kinds:
        return None
    last = func.coalesce(Client.last_contact_at, Client.created_at)
    loose = now - timedelta(days=min(days for _vip, _cls, days in kinds))
    branches = []
    for vip, cls, days in kinds:
        cutoff = now - timedelta(days=days)
        tests = [score.abc_class == cls if cls != OTHERS else score.abc_class.is_(None), last < cutoff]
        if cls != "A":
            tests.append(Client.vip if vip else not_(Client.vip))
        if marked:
            tests.append(
                or_(
                    FollowupMark.nudged_at.is_(None),
                    FollowupMark.nudged_at < last,
                    FollowupMark.nudged_at < cutoff,
                    FollowupMark.snoozed_until > FollowupMark.nudged_at,  # a snooze ended since
                )
            )
        branches.append(and_(*tests))
    return [
        Client.merged_into_id.is_(None),
        # the loosest rule's cutoff, as a range of the (owner_id, last_contact_at) index
        or_(
            Client.last_contact_at < loose,
            and_(Client.last_contact_at.is_(None), Client.created_at < loose),
        ),
        or_(FollowupMark.snoozed_until.is_(None), FollowupMark.snoozed_until <= now),
        or_(*branches),
    ]


def _joined(stmt: Any, score: Any, on: Any) -> Any:
    return stmt.outerjoin(score, on).outerjoin(FollowupMark, FollowupMark.client_id == Client.id)


async def neglected(
    session: AsyncSession, owner_id: int, now: datetime, rules: dict[str, int], limit: int = DIGEST_LIMIT
) -> Found:
    """The owner's neglected clients, the most valuable first, then the longest quiet (`limit` of
    them), and how many there are in all."""
    score, on = rfm.latest_score_join()
    where = _neglected_where(rules, now, score)
    if where is None:
        return Found([], 0)
    where = [Client.owner_id == owner_id, *where]
    last = func.coalesce(Client.last_contact_at, Client.created_at)
    stmt = _joined(
        select(
            Client.id,
            Client.version,
            Client.name,
            Client.company,
            or_(Client.vip, score.abc_class == "A"),
            last,
            score.monetary,
        ).select_from(Client),
        score,
        on,
    )
    rows = await session.execute(
        stmt.where(*where).order_by(score.monetary.desc().nulls_last(), last, Client.id).limit(limit)
    )
    items = [Neglected(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6]) for r in rows.all()]
    if len(items) < limit:
        return Found(items, len(items))
    total = await session.scalar(_joined(select(func.count()).select_from(Client), score, on).where(*where))
    return Found(items, int(total or 0))


async def _upsert_marks(session: AsyncSession, client_ids: list[int], **values: Any) -> None:
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = insert(FollowupMark).values([{"client_id": i, **values} for i in client_ids])
    await session.execute(stmt.on_conflict_do_update(index_elements=[FollowupMark.client_id], set_=values))


async def mark_nudged(session: AsyncSession, client_ids: list[int], now: datetime) -> None:
    """The clients a digest lists, in the digest job's own transaction."""
    if client_ids:
        await _upsert_marks(session, client_ids, nudged_at=now)


# --- the snooze ---


@dataclass(frozen=True, slots=True)
class Snoozed:
    client: Client
    until: datetime
    changed: bool  # False: it was snoozed already (the button pressed twice)


async def snooze(session: AsyncSession, user: User, client_id: int, now: datetime) -> Snoozed:
    """Keep a client out of the digests for SNOOZE_DAYS (the owner or an admin); a client snoozed
    already keeps its date."""
    client = await visible_client(session, user, client_id)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(FollowupMark).values(client_id=client.id).on_conflict_do_nothing())
    mark = await session.get(FollowupMark, client.id, with_for_update=True, populate_existing=True)
    assert mark is not None
    if mark.snoozed_until is not None and mark.snoozed_until > now:
        return Snoozed(client, mark.snoozed_until, False)
    mark.snoozed_until = now + timedelta(days=SNOOZE_DAYS)
    await session.flush()
    return Snoozed(client, mark.snoozed_until, True)


# --- the escalation for supervisors ---


@dataclass(frozen=True, slots=True)
class OverdueLoad:
    manager: User
    overdue: int


@dataclass(frozen=True, slots=True)
class VipLoad:
    manager: User
    neglected: int
    names: list[str]


@dataclass(frozen=True, slots=True)
class Escalation:
    overdue: list[OverdueLoad]
    vips: list[VipLoad]

    @property
    def empty(self) -> bool:
        return not self.overdue and not self.vips


async def escalation(session: AsyncSession, now: datetime, rules: dict[str, int]) -> Escalation:
    """The managers with the most overdue reminders (pending, due before now) and with the most
    neglected VIPs (whether a digest listed them or not; snoozed ones left out), a few named."""
    n = func.count().label("n")
    overdue_rows = (
        await session.execute(
            select(Reminder.owner_id, n)
            .where(Reminder.status == ReminderStatus.pending, Reminder.due_at < now)
            .group_by(Reminder.owner_id)
            .order_by(n.desc(), Reminder.owner_id)
            .limit(ESCALATION_MANAGERS)
        )
    ).all()
    score, on = rfm.latest_score_join()
    where = _neglected_where(rules, now, score, marked=False, vips_only=True)
    vip_rows: list[Any] = []
    names: dict[int, list[str]] = {}
    if where is not None:
        vip_rows = list(
            (
                await session.execute(
                    _joined(select(Client.owner_id, n).select_from(Client), score, on)
                    .where(*where)
                    .group_by(Client.owner_id)
                    .order_by(n.desc(), Client.owner_id)
                    .limit(ESCALATION_MANAGERS)
                )
            ).all()
        )
        for owner_id, _count in vip_rows:
            found = await session.scalars(
                _joined(select(Client.name).select_from(Client), score, on)
                .where(Client.owner_id == owner_id, *where)
                .order_by(score.monetary.desc().nulls_last(), Client.id)
                .limit(ESCALATION_NAMES)
            )
            names[owner_id] = list(found.all())
    ids = {r[0] for r in overdue_rows} | {r[0] for r in vip_rows}
    users = {u.id: u for u in (await session.scalars(select(User).where(User.id.in_(ids)))).all()}
    return Escalation(
        overdue=[OverdueLoad(users[o], int(c)) for o, c in overdue_rows if o in users],
        vips=[VipLoad(users[o], int(c), names.get(o, [])) for o, c in vip_rows if o in users],
    )
