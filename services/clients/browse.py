"""The client list of the Mini App: filters (status, RFM segment and ABC class of the latest finished
analytics run, no contact for N days, a tag), and either the newest first with keyset pages (after a
client id: an index range read of (owner_id, id)) or the same search as /find, page by page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.analytics import RfmRun, RfmScore
from models.clients import Client, ClientPhone, ClientStatus, ClientTag
from models.users import User
from services import access, search
from services.analytics.segments import Segment

SIZE = 30
STALE_DAYS_MAX = 3650


@dataclass(frozen=True, slots=True)
class BrowseFilter:
    status: ClientStatus | None = None
    segment: Segment | None = None
    abc: str | None = None  # "A", "B" or "C"
    stale_days: int | None = None
    tag: str | None = None

    @property
    def analytics(self) -> bool:
        return self.segment is not None or self.abc is not None


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    name: str
    company: str | None
    status: ClientStatus
    phone: str | None
    last_contact_at: datetime | None
    segment: str | None  # None: not scored in the latest run (or no run yet)
    abc: str | None


@dataclass(frozen=True, slots=True)
class Listing:
    rows: list[Row]
    after: int | None = None  # keyset cursor of the next page (newest-first listing)
    page: int | None = None  # the next page of a search
    has_next: bool = False


async def latest_run(session: AsyncSession) -> int | None:
    """The latest finished RFM/ABC run, or None before the first one."""
    return await session.scalar(
        select(RfmRun.id)
        .where(RfmRun.finished_at.is_not(None))
        .order_by(RfmRun.finished_at.desc(), RfmRun.id.desc())
        .limit(1)
    )


def _conditions(flt: BrowseFilter, run_id: int | None, now: datetime) -> list:
    where: list = []
    if flt.status is not None:
        where.append(Client.status == flt.status)
    if flt.tag:
        where.append(exists().where(ClientTag.client_id == Client.id, ClientTag.tag == flt.tag))
    if flt.stale_days is not None:
        cutoff = now - timedelta(days=flt.stale_days)
        where.append(
            or_(
                Client.last_contact_at < cutoff,
                and_(Client.last_contact_at.is_(None), Client.created_at < cutoff),
            )
        )
    if flt.analytics:
        scored = [RfmScore.run_id == (run_id or 0), RfmScore.client_id == Client.id]
        if flt.segment is Segment.NO_RECENT:
            where.append(~exists().where(*scored))
            if flt.abc is not None:
                where.append(false())  # an unscored client has no class
        else:
            if flt.segment is not None:
                scored.append(RfmScore.segment == flt.segment.value)
            if flt.abc is not None:
                scored.append(RfmScore.abc_class == flt.abc)
            where.append(exists().where(*scored))
    return where


def _row_statement(run_id: int | None) -> Select:
    first_phone = (
        select(ClientPhone.e164)
        .where(ClientPhone.client_id == Client.id)
        .order_by(ClientPhone.id)
        .limit(1)
        .scalar_subquery()
    )
    score = select(RfmScore).where(RfmScore.run_id == (run_id or 0), RfmScore.client_id == Client.id)
    return select(
        Client.id,
        Client.name,
        Client.company,
        Client.status,
        first_phone,
        Client.last_contact_at,
        score.with_only_columns(RfmScore.segment).scalar_subquery(),
        score.with_only_columns(RfmScore.abc_class).scalar_subquery(),
    )


async def browse(
    session: AsyncSession,
    viewer: User,
    flt: BrowseFilter,
    now: datetime,
    *,
    after: int | None = None,
    size: int = SIZE,
) -> Listing:
    """The viewer's clients (admins: everyone's), newest first, `size` after the cursor."""
    run_id = await latest_run(session)
    stmt = _row_statement(run_id).where(Client.merged_into_id.is_(None), *_conditions(flt, run_id, now))
    if not access.sees_everything(viewer):
        stmt = stmt.where(Client.owner_id == viewer.id)
    if after is not None:
        stmt = stmt.where(Client.id < after)
    rows = [Row(*r) for r in (await session.execute(stmt.order_by(Client.id.desc()).limit(size + 1))).all()]
    has_next = len(rows) > size
    rows = rows[:size]
    return Listing(rows, after=rows[-1].id if has_next else None, has_next=has_next)


async def find(
    session: AsyncSession,
    viewer: User,
    query: search.Query,
    flt: BrowseFilter,
    now: datetime,
    *,
    page: int = 0,
    size: int = SIZE,
) -> Listing:
    """The /find search (a name part, a phone's last digits, a company, #tags), its hits in search
    order, `size` a page; the filters apply to each page's hits (a page may then show fewer)."""
    page = max(0, page)
    owner = None if access.sees_everything(viewer) else viewer.id
    found = await search.find_statement(session, query, owner, offset=page * size, limit=size + 1)
    if found is None:
        return Listing([])
    hits = found.subquery("hits")
    run_id = await latest_run(session)
    keep = and_(Client.merged_into_id.is_(None), *_conditions(flt, run_id, now)).label("keep")
    stmt = (
        _row_statement(run_id)
        .add_columns(keep)
        .select_from(hits)
        .join(Client, Client.id == hits.c.client_id)
        .order_by(hits.c.sort_key, hits.c.client_id)
    )
    rows = (await session.execute(stmt)).all()
    listed = [Row(*r[:8]) for r in rows[:size] if r[8]]
    return Listing(listed, page=page + 1 if len(rows) > size else None, has_next=len(rows) > size)
