"""/clients pages and search results, PAGE at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client, ClientPhone, ClientStatus, ClientTag
from models.users import User
from services import access, search
from services.analytics import rfm

PAGE = 8


@dataclass(frozen=True, slots=True)
class ListFilter:
    status: ClientStatus | None = None
    tag: str | None = None
    stale_days: int | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]  # Client; ListRow from search_rows
    page: int
    has_next: bool
    vips: frozenset[int] = frozenset()  # list_page: which of the items are VIPs


async def list_page(session: AsyncSession, viewer: User, flt: ListFilter, page: int, now: datetime) -> Page:
    """The viewer's clients (admins: everyone's), newest first, PAGE at a time (LIMIT PAGE + 1)."""
    page = max(0, page)
    stmt = select(Client, rfm.is_vip().label("is_vip")).where(Client.merged_into_id.is_(None))
    if not access.sees_everything(viewer):
        stmt = stmt.where(Client.owner_id == viewer.id)
    if flt.status is not None:
        stmt = stmt.where(Client.status == flt.status)
    if flt.tag:
        stmt = stmt.where(exists().where(ClientTag.client_id == Client.id, ClientTag.tag == flt.tag))
    if flt.stale_days is not None:
        cutoff = now - timedelta(days=flt.stale_days)
        stmt = stmt.where(
            or_(
                Client.last_contact_at < cutoff,
                and_(Client.last_contact_at.is_(None), Client.created_at < cutoff),
            )
        )
    found = (await session.execute(stmt.order_by(Client.id.desc()).offset(page * PAGE).limit(PAGE + 1))).all()
    rows = [r[0] for r in found[:PAGE]]
    return Page(rows, page, len(found) > PAGE, frozenset(r[0].id for r in found[:PAGE] if r[1]))


async def search_page(
    session: AsyncSession, viewer: User, query: search.Query, page: int, *, size: int = PAGE
) -> Page:
    page = max(0, page)
    owner = None if access.sees_everything(viewer) else viewer.id
    ids = await search.find_ids(session, query, owner, offset=page * size, limit=size + 1)
    if not ids:
        return Page([], page, False)
    by_id = {c.id: c for c in (await session.scalars(select(Client).where(Client.id.in_(ids[:size])))).all()}
    items = [by_id[i] for i in ids[:size] if i in by_id and by_id[i].merged_into_id is None]
    return Page(items, page, len(ids) > size)


@dataclass(frozen=True, slots=True)
class ListRow:
    """A client as a list button shows it."""

    id: int
    version: int
    name: str
    company: str | None
    phone: str | None  # the first number, E.164
    vip: bool = False  # the manual flag or class A (services/analytics/rfm.is_vip)

    @classmethod
    def of(cls, client: Client) -> ListRow:
        return cls(
            client.id,
            client.version,
            client.name,
            client.company,
            client.phones[0].e164 if client.phones else None,
            bool(client.vip),
        )


async def search_rows(
    session: AsyncSession, viewer: User, query: search.Query, page: int, *, size: int = PAGE
) -> Page:
    """search_page as list rows: the search and the rows it shows are one statement."""
    page = max(0, page)
    owner = None if access.sees_everything(viewer) else viewer.id
    found = await search.find_statement(session, query, owner, offset=page * size, limit=size + 1)
    if found is None:
        return Page([], page, False)
    hits = found.subquery("hits")
    first_phone = (
        select(ClientPhone.e164)
        .where(ClientPhone.client_id == Client.id)
        .order_by(ClientPhone.id)
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(
            Client.id,
            Client.version,
            Client.name,
            Client.company,
            first_phone,
            rfm.is_vip(),
            Client.merged_into_id,
        )
        .select_from(hits)
        .join(Client, Client.id == hits.c.client_id)
        .order_by(hits.c.sort_key, hits.c.client_id)
    )
    rows = (await session.execute(stmt)).all()
    items = [ListRow(*row[:5], bool(row[5])) for row in rows[:size] if row.merged_into_id is None]
    return Page(items, page, len(rows) > size)
