"""Saved segments: who sees which, creating, editing and deleting them (each recorded in the audit
trail), a page of a segment's clients, and the values offered for a condition.

A manager sees and changes only the segments they made, and a segment only ever counts or lists the
viewer's own clients (services/segments/query.py); admins see everyone's. The "owner" condition is
for admins only. Edits and deletes carry the version they were shown at: a stale one is refused.
Names are unique per creator whatever the case; two saves of one name by one person come from one
chat, which handles one update at a time (bot/middlewares.ChatSerializer), so the check before the
write is enough and the unique index is the backstop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client, ClientTag
from models.segments import SavedSegment
from models.users import User
from services import audit
from services.access import sees_everything
from services.analytics.rfm import is_vip
from services.errors import DomainError, NotFound
from services.segments.conditions import ADMIN_FIELDS, Conditions, Field, dump, parse
from services.segments.query import Basis, matching
from services.users import staff

NAME_LIMIT = 60
PAGE = 8  # segments a page of /segments
CLIENTS_PAGE = 8
TOP_VALUES = 12  # tags or sources offered as buttons
STAFF_SHOWN = 20


def conditions_of(segment: SavedSegment) -> Conditions:
    return parse(segment.conditions)


def clean_name(text: str | None) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise DomainError("segment_name_empty")
    if len(name) > NAME_LIMIT:
        raise DomainError("segment_name_long", limit=NAME_LIMIT)
    return name


def check_allowed(viewer: User, conditions: Conditions) -> None:
    """A manager may not save a condition on the owner (their segments are their clients anyway)."""
    if not sees_everything(viewer) and any(c.field in ADMIN_FIELDS for c in conditions.items):
        raise DomainError("segment_owner_admin_only")


async def visible(session: AsyncSession, viewer: User, segment_id: int) -> SavedSegment:
    """The segment, or NotFound when it is gone or (for a manager) someone else's."""
    segment = await session.get(SavedSegment, segment_id)
    if segment is None or (not sees_everything(viewer) and segment.created_by != viewer.id):
        raise NotFound()
    return segment


@dataclass(frozen=True, slots=True)
class ListPage:
    items: list[SavedSegment]
    page: int
    has_next: bool


async def listing(session: AsyncSession, viewer: User, page: int, size: int = PAGE) -> ListPage:
    """The viewer's segments (admins: everyone's) by name."""
    page = max(0, page)
    q = select(SavedSegment)
    if not sees_everything(viewer):
        q = q.where(SavedSegment.created_by == viewer.id)
    q = q.order_by(SavedSegment.name_key, SavedSegment.id).offset(page * size).limit(size + 1)
    rows = list((await session.scalars(q)).all())
    return ListPage(rows[:size], page, len(rows) > size)


async def _check_name(session: AsyncSession, creator_id: int, name: str, segment_id: int | None) -> None:
    q = select(SavedSegment.name).where(
        SavedSegment.created_by == creator_id, SavedSegment.name_key == name.casefold()
    )
    if segment_id is not None:
        q = q.where(SavedSegment.id != segment_id)
    if (taken := await session.scalar(q.limit(1))) is not None:
        raise DomainError("segment_name_taken", name=taken)


async def check_name(session: AsyncSession, viewer: User, name: str, segment_id: int | None) -> str:
    """A typed name, cleaned, and free among the creator's segments (of `segment_id` when editing)."""
    name = clean_name(name)
    creator = viewer.id
    if segment_id is not None:
        creator = (await visible(session, viewer, segment_id)).created_by
    await _check_name(session, creator, name, segment_id)
    return name


async def create(
    session: AsyncSession, viewer: User, name: str, conditions: Conditions, now: datetime
) -> SavedSegment:
    name = clean_name(name)
    check_allowed(viewer, conditions)
    await _check_name(session, viewer.id, name, None)
    segment = SavedSegment(
        name=name,
        name_key=name.casefold(),
        created_by=viewer.id,
        conditions=dump(conditions),
        version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(segment)
    await session.flush()
    target = f"segment:{segment.id}"
    audit.record(session, viewer.id, "segment.create", target, now, after=name, conditions=dump(conditions))
    return segment


async def update(
    session: AsyncSession,
    viewer: User,
    segment_id: int,
    version: int,
    name: str,
    conditions: Conditions,
    now: datetime,
) -> SavedSegment:
    """Save an edit made from `version`; DomainError("segment_changed") when it changed meanwhile."""
    segment = await visible(session, viewer, segment_id)
    if segment.version != version:
        raise DomainError("segment_changed")
    name = clean_name(name)
    check_allowed(viewer, conditions)
    await _check_name(session, segment.created_by, name, segment.id)
    before_name, before = segment.name, segment.conditions
    segment.name, segment.name_key = name, name.casefold()
    segment.conditions = dump(conditions)
    segment.version += 1
    segment.updated_at = now
    await session.flush()
    audit.record(
        session,
        viewer.id,
        "segment.update",
        f"segment:{segment.id}",
        now,
        before=before_name,
        after=name,
        conditions_before=before,
        conditions_after=segment.conditions,
    )
    return segment


async def delete(session: AsyncSession, viewer: User, segment_id: int, version: int, now: datetime) -> str:
    """Delete the segment shown at `version`; its name."""
    segment = await visible(session, viewer, segment_id)
    if segment.version != version:
        raise DomainError("segment_changed")
    name = segment.name
    audit.record(
        session,
        viewer.id,
        "segment.delete",
        f"segment:{segment.id}",
        now,
        before=name,
        conditions=segment.conditions,
    )
    await session.delete(segment)
    await session.flush()
    return name


# --- a segment's clients ---


@dataclass(frozen=True, slots=True)
class ClientRow:
    id: int
    version: int
    name: str
    company: str | None
    vip: bool


@dataclass(frozen=True, slots=True)
class ClientsPage:
    items: list[ClientRow]
    page: int
    has_next: bool


async def clients_page(
    session: AsyncSession,
    conditions: Conditions,
    viewer: User,
    basis: Basis,
    page: int,
    size: int = CLIENTS_PAGE,
) -> ClientsPage:
    """A page of the matching clients in id order, with the VIP mark (one statement)."""
    page = max(0, page)
    q = (
        select(Client.id, Client.version, Client.name, Client.company, is_vip())
        .where(*matching(conditions, viewer, basis))
        .order_by(Client.id)
        .offset(page * size)
        .limit(size + 1)
    )
    rows = (await session.execute(q)).all()
    items = [ClientRow(i, v, n, c, bool(vip)) for i, v, n, c, vip in rows[:size]]
    return ClientsPage(items, page, len(rows) > size)


# --- the values offered for a condition ---


async def top_values(session: AsyncSession, viewer: User, field: Field, limit: int = TOP_VALUES) -> list[str]:
    """The tags or sources most used on the clients the viewer sees, most used first."""
    if field == Field.tags:
        value = ClientTag.tag
        q = select(value).join(Client, Client.id == ClientTag.client_id)
    elif field == Field.source:
        value = Client.source
        q = select(value).where(Client.source.is_not(None), Client.source != "")
    else:
        raise ValueError(f"no common values for {field}")
    q = q.where(Client.merged_into_id.is_(None))
    if not sees_everything(viewer):
        q = q.where(Client.owner_id == viewer.id)
    q = q.group_by(value).order_by(func.count().desc(), value).limit(limit)
    return [str(v) for v in (await session.scalars(q)).all()]


async def owner_choices(session: AsyncSession) -> list[User]:
    """The active staff an admin may pick as owners, by name."""
    people = sorted(await staff(session), key=lambda u: (u.display_name.casefold(), u.id))
    return people[:STAFF_SHOWN]


async def names_of(session: AsyncSession, user_ids: Iterable[int]) -> dict[int, str]:
    ids = set(user_ids)
    if not ids:
        return {}
    rows = (await session.scalars(select(User).where(User.id.in_(ids)))).all()
    return {u.id: u.display_name for u in rows}
