"""Who changed what, as one timeline.

Changes to a client (create, each field, phones, tags, status, owner, merge, link) and to the team (roles,
deactivation, invites) are AuditEvent rows written in the same transaction as the change, with the
client they are about and the value before and after. Changes to a deal, to consent and to points are
recorded where they happen — deal_events (old -> new), consent_events (each decision; the one before
it is the previous state) and loyalty_entries (the balance before and after) — and are not recorded a
second time: the four tables are read as one timeline, newest first (by time, then source, then id),
filtered by person, client and period.

- `window` (/audit) pages it by keyset: a page reads its rows plus one, each table giving at most that
  many from where the cursor points, and counts nothing (a total would be the whole trail, millions of
  rows, on every press). Its buttons carry a `Cursor`: the first or last row's place, a short token.
  audit_events reads its part as a range of its time index; deal_events, consent_events and
  loyalty_entries have no index on their time yet (only per deal or client), so there the database
  still picks the page's top rows by a scan — an (at, id) index on each would make it a range too.
- `page` (a client card's 🕓 Changes) pages one client's timeline by number, with a total: a client's
  rows are few and each table reads them through its client index.
- `stream` (exports) reads the whole timeline a keyset batch at a time.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
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
from services.errors import DomainError

PAGE = 8
RECENT_SCAN = 200  # recent_clients: how many of the latest changes it looks through
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


# --- keyset paging ---

OLDER, NEWER = "o", "n"
# A source's letter in a cursor token.
_LETTERS = {"audit": "a", "consent": "c", "deal": "d", "points": "p"}
_SOURCES = {letter: source for source, letter in _LETTERS.items()}
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"  # base 64, no ":"
_TOKEN = re.compile(r"([on])([acdp])([0-9A-Za-z_-]{1,11})\.([0-9A-Za-z_-]{1,11})")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_BIGINT = 2**63


@dataclass(frozen=True, slots=True)
class Key:
    """A row's place in the timeline: its time, then its source, then its id (newest first is all
    three descending)."""

    at: datetime
    source: str
    id: int


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page starts: the rows just older (OLDER) or just newer (NEWER) than `key`."""

    direction: str
    key: Key

    def token(self) -> str:
        """Short enough for a button: "o" or "n", the source's letter, the time in microseconds, a
        dot and the id, both numbers in base 64 (about 16 characters; at most 24)."""
        micros = (self.key.at - _EPOCH) // _MICROSECOND
        return f"{self.direction}{_LETTERS[self.key.source]}{_base64(micros)}.{_base64(self.key.id)}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """A cursor from its token; DomainError("bad_cursor") when it isn't one."""
        found = _TOKEN.fullmatch(token)
        if found is None:
            raise DomainError("bad_cursor")
        direction, letter, micros, id_ = found.groups()
        try:
            at = _EPOCH + _number(micros) * _MICROSECOND
        except OverflowError:
            raise DomainError("bad_cursor") from None
        row_id = _number(id_)
        if row_id >= _BIGINT:
            raise DomainError("bad_cursor")
        return cls(direction, Key(at, _SOURCES[letter], row_id))


def _base64(n: int) -> str:
    out = ""
    while True:
        n, r = divmod(n, 64)
        out = _DIGITS[r] + out
        if not n:
            return out


def _number(digits: str) -> int:
    n = 0
    for digit in digits:
        n = n * 64 + _DIGITS.index(digit)
    return n


@dataclass(frozen=True, slots=True)
class Window:
    """A page of the timeline read by keyset: its items, newest first, and whether there is more on
    either side. `first` and `last` are the places of its first and last rows (the cursors of its
    Newer and Older buttons); `moved` says the page asked for was gone, so this is the newest one."""

    items: list[Item]
    newer: bool
    older: bool
    first: Key | None = None
    last: Key | None = None
    moved: bool = False

    def cursor(self, direction: str) -> Cursor | None:
        key = self.first if direction == NEWER else self.last
        return Cursor(direction, key) if key is not None else None


async def window(
    session: AsyncSession, flt: Filter, cursor: Cursor | None = None, per_page: int = PAGE
) -> Window:
    """One page of the timeline, newest first, after `cursor` (None: the newest page). Reads the page's
    rows and one more, to know whether there is another page beyond it; counts nothing.

    Going back (NEWER) reads the rows just newer than the cursor, oldest first, and turns them round;
    fewer than a page of them means the top is near, and the newest page is shown instead (it holds
    them). A cursor that finds nothing older (its rows were removed since, or it was made up) gives
    the newest page too, marked `moved`."""
    if cursor is not None and cursor.direction == NEWER:
        keys = await _keys(session, flt, cursor.key, newer=True, limit=per_page + 1)
        if len(keys) > per_page:
            return await _window(session, keys[:per_page][::-1], newer=True, older=True)
        cursor = None
    if cursor is None:
        keys = await _keys(session, flt, None, newer=False, limit=per_page + 1)
        return await _window(session, keys[:per_page], newer=False, older=len(keys) > per_page)
    keys = await _keys(session, flt, cursor.key, newer=False, limit=per_page + 1)
    if not keys:
        return replace(await window(session, flt, None, per_page), moved=True)
    return await _window(session, keys[:per_page], newer=True, older=len(keys) > per_page)


async def _window(session: AsyncSession, keys: list[Key], *, newer: bool, older: bool) -> Window:
    items = await _load(session, [(k.source, k.id) for k in keys])
    first, last = (keys[0], keys[-1]) if keys else (None, None)
    return Window(items, newer=newer, older=older, first=first, last=last)


def _spec() -> list[tuple[str, Any, Any, Any, Any, bool]]:
    """Each table of the timeline: (source, id, time, actor, client columns, joins deals)."""
    return [
        ("audit", AuditEvent.id, AuditEvent.at, AuditEvent.actor_id, AuditEvent.client_id, False),
        ("consent", ConsentEvent.id, ConsentEvent.at, ConsentEvent.actor_id, ConsentEvent.client_id, False),
        ("deal", DealEvent.id, DealEvent.at, DealEvent.actor_id, Deal.client_id, True),
        ("points", LedgerEntry.id, LedgerEntry.at, LedgerEntry.actor_id, LedgerEntry.client_id, False),
    ]


def _branches(
    flt: Filter, key: Key | None = None, *, newer: bool = False, limit: int | None = None
) -> list[Any]:
    """One SELECT (src, id, at) per table, filtered. With `limit`: only the rows past `key` (older, or
    newer), in timeline order, at most `limit` of them — so each table reads no more than a page."""
    branches = []
    for source, id_, at, actor, client, join in _spec():
        stmt = select(literal(source).label("src"), id_.label("id"), at.label("at"))
        if join:
            stmt = stmt.select_from(DealEvent).join(Deal, Deal.id == DealEvent.deal_id)
        if flt.actor_id is not None:
            stmt = stmt.where(actor == flt.actor_id)
        if flt.client_id is not None:
            stmt = stmt.where(client == flt.client_id)
        if flt.since is not None:
            stmt = stmt.where(at >= flt.since)
        if flt.until is not None:
            stmt = stmt.where(at < flt.until)
        if key is not None:
            stmt = stmt.where(_past(key, source, id_, at, newer=newer))
        if limit is not None:
            order = (at.asc(), id_.asc()) if newer else (at.desc(), id_.desc())
            inner = stmt.order_by(*order).limit(limit).subquery()
            stmt = select(inner.c.src, inner.c.id, inner.c.at)
        branches.append(stmt)
    return branches


def _past(key: Key, source: str, id_: Any, at: Any, *, newer: bool) -> Any:
    """This table's rows beyond `key` in timeline order. The source is fixed per table, so the
    (at, source, id) comparison becomes one on (at, id): a range of an index on the time."""
    if newer:
        if source > key.source:
            return at >= key.at
        if source < key.source:
            return at > key.at
        return and_(at >= key.at, or_(at > key.at, id_ > key.id))
    if source < key.source:
        return at <= key.at
    if source > key.source:
        return at < key.at
    return and_(at <= key.at, or_(at < key.at, id_ < key.id))


async def _keys(session: AsyncSession, flt: Filter, key: Key | None, *, newer: bool, limit: int) -> list[Key]:
    """Up to `limit` places past `key` (None: from the newest), in reading order: newest first, or
    oldest first when going `newer`."""
    t = union_all(*_branches(flt, key, newer=newer, limit=limit)).subquery("timeline")
    columns = (t.c.at, t.c.src, t.c.id)
    order = [c.asc() for c in columns] if newer else [c.desc() for c in columns]
    rows = (await session.execute(select(t.c.src, t.c.id, t.c.at).order_by(*order).limit(limit))).all()
    return [Key(r.at, r.src, r.id) for r in rows]


# --- numbered pages (one client) and the whole timeline ---


async def page(session: AsyncSession, flt: Filter, page_no: int, per_page: int = PAGE) -> Page:
    """One page of a client's timeline, newest first (a page past the end shows the last one), with
    the total. For one client only: counting the whole trail would read all of it (see `window`)."""
    t = union_all(*_branches(flt)).subquery("timeline")
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
    """The whole timeline, newest first, a keyset batch at a time (for exports)."""
    last: Key | None = None
    while True:
        keys = await _keys(session, flt, last, newer=False, limit=batch)
        if not keys:
            return
        for item in await _load(session, [(k.source, k.id) for k in keys]):
            yield item
        last = keys[-1]


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
    """The clients changed most recently (the /audit client filter's buttons): (id, name). Looks
    through the latest RECENT_SCAN changes by time (a range of the time index), not every client's."""
    latest = await session.scalars(
        select(AuditEvent.client_id)
        .where(AuditEvent.client_id.is_not(None))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(RECENT_SCAN)
    )
    ids = list(dict.fromkeys(latest))[:limit]
    names = await _names(session, Client, set(ids))
    return [(i, names[i]) for i in ids if i in names]
