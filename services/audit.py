"""Who changed what, as one timeline.

Changes to a client (create, each field, phones, tags, status, owner, merge, link) and to the team (roles,
deactivation, invites) are AuditEvent rows written in the same transaction as the change, with the
client they are about and the value before and after. Changes to a deal, to consent and to points are
recorded where they happen — deal_events (old -> new), consent_events (each decision; the one before
it is the previous state) and loyalty_entries (the balance before and after) — and are not recorded a
second time: `page` and `stream` read the four tables as one timeline, newest first, filtered by
person, client and period.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import AuditEvent
from models.clients import Client
from models.consent import DEFAULTS, ConsentEvent
from models.deals import Deal, DealEvent
from models.loyalty import LedgerEntry
from models.users import User

PAGE = 8
SHOWN_LIMIT = 1000  # a before/after value is kept up to this many characters


def shown(value: Any) -> str | None:
    """A value as the audit keeps it: text, lists joined, dates in ISO, enums by their key."""
    if value is None:
        return None
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, list | tuple | set):
        value = ", ".join(shown(v) or "" for v in value)
    elif isinstance(value, datetime | date):
        value = value.isoformat()
    elif isinstance(value, bool):
        value = "true" if value else "false"
    text = str(value)
    return text if len(text) <= SHOWN_LIMIT else text[: SHOWN_LIMIT - 1] + "…"


def record(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    target: str,
    at: datetime,
    *,
    client_id: int | None = None,
    before: Any = None,
    after: Any = None,
    **details: Any,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        target=target,
        at=at,
        details=details,
        client_id=client_id,
        before=shown(before),
        after=shown(after),
    )
    session.add(event)
    return event


def record_change(
    session: AsyncSession,
    actor_id: int | None,
    client_id: int,
    field: str,
    before: Any,
    after: Any,
    at: datetime,
) -> AuditEvent | None:
    """A client's field changed from `before` to `after` (nothing is recorded when it didn't)."""
    old, new = shown(before), shown(after)
    if old == new:
        return None
    return record(
        session,
        actor_id,
        f"client.{field}",
        f"client:{client_id}",
        at,
        client_id=client_id,
        before=old,
        after=new,
    )


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filter:
    actor_id: int | None = None
    client_id: int | None = None
    since: datetime | None = None  # inclusive, UTC
    until: datetime | None = None  # exclusive, UTC


@dataclass(frozen=True, slots=True)
class Item:
    source: str  # audit | deal | consent | points
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    client_id: int | None
    client_name: str | None
    action: str  # "client.name", "deal.stage", "consent.marketing", "points.reversal", "team.promote"...
    target: str | None
    before: str | None
    after: str | None
    note: str | None  # a deal's title, a points entry's reason and amount, a consent's source


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Item]
    page: int
    pages: int
    total: int


def _branches(flt: Filter) -> list[Any]:
    spec = [
        (literal("audit"), AuditEvent.id, AuditEvent.at, AuditEvent.actor_id, AuditEvent.client_id, None),
        (
            literal("consent"),
            ConsentEvent.id,
            ConsentEvent.at,
            ConsentEvent.actor_id,
            ConsentEvent.client_id,
            None,
        ),
        (literal("deal"), DealEvent.id, DealEvent.at, DealEvent.actor_id, Deal.client_id, Deal),
        (
            literal("points"),
            LedgerEntry.id,
            LedgerEntry.at,
            LedgerEntry.actor_id,
            LedgerEntry.client_id,
            None,
        ),
    ]
    branches = []
    for src, id_, at, actor, client, join in spec:
        stmt = select(src.label("src"), id_.label("id"), at.label("at"))
        if join is not None:
            stmt = stmt.select_from(DealEvent).join(Deal, Deal.id == DealEvent.deal_id)
        if flt.actor_id is not None:
            stmt = stmt.where(actor == flt.actor_id)
        if flt.client_id is not None:
            stmt = stmt.where(client == flt.client_id)
        if flt.since is not None:
            stmt = stmt.where(at >= flt.since)
        if flt.until is not None:
            stmt = stmt.where(at < flt.until)
        branches.append(stmt)
    return branches


def _timeline(flt: Filter) -> Any:
    return union_all(*_branches(flt)).subquery("timeline")


async def page(session: AsyncSession, flt: Filter, page_no: int, per_page: int = PAGE) -> Page:
    """One page of the timeline, newest first (a page past the end shows the last one)."""
    t = _timeline(flt)
    total = await session.scalar(select(func.count()).select_from(t)) or 0
    pages = max(1, -(-total // per_page))
    page_no = min(max(page_no, 0), pages - 1)
    rows = (
        await session.execute(
            select(t.c.src, t.c.id)
            .order_by(t.c.at.desc(), t.c.src.desc(), t.c.id.desc())
            .offset(page_no * per_page)
            .limit(per_page)
        )
    ).all()
    return Page(await _load(session, [(r.src, r.id) for r in rows]), page_no, pages, total)


async def stream(session: AsyncSession, flt: Filter, batch: int = 500) -> AsyncIterator[Item]:
    """The whole timeline, newest first, a keyset page at a time (for exports)."""
    last: tuple[datetime, str, int] | None = None
    while True:
        t = _timeline(flt)
        stmt = select(t.c.src, t.c.id, t.c.at).order_by(t.c.at.desc(), t.c.src.desc(), t.c.id.desc())
        if last is not None:
            at, src, id_ = last
            stmt = stmt.where(
                or_(t.c.at < at, and_(t.c.at == at, or_(t.c.src < src, and_(t.c.src == src, t.c.id < id_))))
            )
        rows = (await session.execute(stmt.limit(batch))).all()
        if not rows:
            return
        for item in await _load(session, [(r.src, r.id) for r in rows]):
            yield item
        last = (rows[-1].at, rows[-1].src, rows[-1].id)


async def _load(session: AsyncSession, keys: Sequence[tuple[str, int]]) -> list[Item]:
    """The rows behind (source, id) keys, as items in the same order."""
    ids: dict[str, list[int]] = {}
    for src, id_ in keys:
        ids.setdefault(src, []).append(id_)
    raw: dict[tuple[str, int], dict[str, Any]] = {}
    if ids.get("audit"):
        for e in await session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids["audit"]))):
            raw["audit", e.id] = dict(
                at=e.at,
                actor_id=e.actor_id,
                client_id=e.client_id,
                action=e.action,
                target=e.target,
                before=e.before,
                after=e.after,
                note=None,
            )
    if ids.get("deal"):
        rows = await session.execute(
            select(DealEvent, Deal.client_id, Deal.title)
            .join(Deal, Deal.id == DealEvent.deal_id)
            .where(DealEvent.id.in_(ids["deal"]))
        )
        for e, client_id, title in rows.all():
            raw["deal", e.id] = dict(
                at=e.at,
                actor_id=e.actor_id,
                client_id=client_id,
                action=f"deal.{e.kind}",
                target=f"deal:{e.deal_id}",
                before=e.old_value,
                after=e.new_value,
                note=title,
            )
    if ids.get("consent"):
        for e in await session.scalars(select(ConsentEvent).where(ConsentEvent.id.in_(ids["consent"]))):
            raw["consent", e.id] = dict(
                at=e.at,
                actor_id=e.actor_id,
                client_id=e.client_id,
                action=f"consent.{e.purpose.value}",
                target=e.source.value,
                before=shown(await _consent_before(session, e)),
                after=shown(e.granted),
                note=e.source.value,
            )
    if ids.get("points"):
        for e in await session.scalars(select(LedgerEntry).where(LedgerEntry.id.in_(ids["points"]))):
            note = f"{e.points:+d}" + (f" {e.reason}" if e.reason else "")
            raw["points", e.id] = dict(
                at=e.at,
                actor_id=e.actor_id,
                client_id=e.client_id,
                action=f"points.{e.kind}",
                target=None,
                before=str(e.balance_after - e.points),
                after=str(e.balance_after),
                note=note,
            )
    people = await _names(session, User, {r["actor_id"] for r in raw.values()})
    clients = await _names(session, Client, {r["client_id"] for r in raw.values()})
    items = []
    for src, id_ in keys:
        if (r := raw.get((src, id_))) is None:
            continue
        items.append(
            Item(
                source=src,
                id=id_,
                actor_name=people.get(r["actor_id"]),
                client_name=clients.get(r["client_id"]),
                **r,
            )
        )
    return items


async def _consent_before(session: AsyncSession, event: ConsentEvent) -> bool:
    """The state a consent decision changed: the decision before it, else the purpose's default."""
    previous = await session.scalar(
        select(ConsentEvent.granted)
        .where(
            ConsentEvent.client_id == event.client_id,
            ConsentEvent.purpose == event.purpose,
            or_(ConsentEvent.at < event.at, and_(ConsentEvent.at == event.at, ConsentEvent.id < event.id)),
        )
        .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())
        .limit(1)
    )
    return DEFAULTS[event.purpose] if previous is None else bool(previous)


async def _names(session: AsyncSession, model: Any, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    if model is User:
        return {u.id: u.display_name for u in await session.scalars(select(User).where(User.id.in_(wanted)))}
    rows = await session.execute(select(Client.id, Client.name).where(Client.id.in_(wanted)))
    return {i: n for i, n in rows.all()}


async def recent_clients(session: AsyncSession, limit: int = 10) -> list[tuple[int, str]]:
    """The clients changed most recently (the /audit client filter's buttons): (id, name)."""
    latest = func.max(AuditEvent.at)
    rows = await session.execute(
        select(AuditEvent.client_id, Client.name)
        .join(Client, Client.id == AuditEvent.client_id)
        .group_by(AuditEvent.client_id, Client.name)
        .order_by(latest.desc())
        .limit(limit)
    )
    return [(i, n) for i, n in rows.all()]
