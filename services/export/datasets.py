"""What can be exported: each dataset's columns (stable snake_case keys; the views give the labels) and
its rows, read a keyset page at a time (constant memory: plain column rows, never ORM objects kept in
the session), limited to what the viewer may see — an admin everything, a manager their own clients
and what hangs on them (deals, contacts, purchases, survey answers of those clients).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.analytics import RfmRun, RfmScore
from models.campaigns import DeliveryStatus
from models.clients import Client, ClientPhone, ClientTag
from models.deals import Deal
from models.interactions import Interaction
from models.loyalty import Purchase
from models.surveys import Survey
from models.users import User
from services import access, audit
from services.analytics.segments import Segment
from services.campaigns import results as campaign_results
from services.errors import DomainError
from services.export.files import Column, Kind

BATCH = 2000  # rows per keyset page (and at most this many ids in one IN list)


class Dataset(enum.StrEnum):
    clients = "clients"
    deals = "deals"
    contacts = "contacts"
    purchases = "purchases"
    surveys = "surveys"
    audit = "audit"
    campaigns = "campaigns"


ADMIN_ONLY = frozenset({Dataset.audit, Dataset.campaigns})
ALL_CLIENTS = "all"  # the campaigns' audience column for a broadcast to every client

T, N, D, DT, P = Kind.TEXT, Kind.NUMBER, Kind.DATE, Kind.DATETIME, Kind.PHONE


def _cols(*spec: tuple[str, Kind, int]) -> tuple[Column, ...]:
    return tuple(Column(key, key, kind, width) for key, kind, width in spec)


COLUMNS: dict[Dataset, tuple[Column, ...]] = {
    Dataset.clients: _cols(
        ("id", N, 10),
        ("name", T, 28),
        ("phone", P, 16),
        ("phones", P, 24),
        ("email", T, 24),
        ("company", T, 20),
        ("position", T, 16),
        ("status", T, 10),
        ("tags", T, 20),
        ("source", T, 12),
        ("birthday", D, 11),
        ("owner_id", N, 12),
        ("owner", T, 18),
        ("created_at", DT, 16),
        ("last_contact_at", DT, 16),
        ("rfm_r", N, 6),
        ("rfm_f", N, 6),
        ("rfm_m", N, 6),
        ("rfm_segment", T, 18),
        ("abc_class", T, 6),
        ("vip", T, 6),
        ("revenue_365d", N, 12),
    ),
    Dataset.deals: _cols(
        ("id", N, 10),
        ("client_id", N, 10),
        ("client", T, 24),
        ("title", T, 28),
        ("stage", T, 12),
        ("amount", N, 12),
        ("currency", T, 8),
        ("expected_close", D, 11),
        ("lost_reason", T, 20),
        ("owner_id", N, 12),
        ("created_at", DT, 16),
        ("closed_at", DT, 16),
        ("owner", T, 18),
    ),
    Dataset.contacts: _cols(
        ("id", N, 10),
        ("client_id", N, 10),
        ("client", T, 24),
        ("occurred_at", DT, 16),
        ("kind", T, 10),
        ("outcome", T, 12),
        ("note", T, 40),
        ("author_id", N, 12),
        ("author", T, 18),
    ),
    Dataset.purchases: _cols(
        ("id", N, 10),
        ("client_id", N, 10),
        ("client", T, 24),
        ("purchased_at", DT, 16),
        ("amount", N, 12),
        ("currency", T, 8),
        ("tier", T, 10),
        ("discount_percent", N, 8),
        ("discounted", N, 12),
        ("points_redeemed", N, 10),
        ("paid", N, 12),
        ("points_earned", N, 10),
        ("origin", T, 8),
        ("manager_id", N, 12),
        ("manager", T, 18),
    ),
    Dataset.surveys: _cols(
        ("id", N, 10),
        ("client_id", N, 10),
        ("client", T, 24),
        ("trigger", T, 12),
        ("sent_at", DT, 16),
        ("csat", N, 6),
        ("csat_at", DT, 16),
        ("nps", N, 6),
        ("nps_at", DT, 16),
        ("comment", T, 40),
        ("manager_id", N, 12),
        ("manager", T, 18),
    ),
    Dataset.audit: _cols(
        ("at", DT, 16),
        ("actor_id", N, 12),
        ("actor", T, 18),
        ("client_id", N, 10),
        ("client", T, 24),
        ("action", T, 20),
        ("target", T, 14),
        ("before", T, 30),
        ("after", T, 30),
        ("note", T, 24),
    ),
    # The figures of /campaigns (services/campaigns/results.py), one row per started campaign.
    Dataset.campaigns: _cols(
        ("id", N, 10),
        ("status", T, 10),
        ("audience", T, 20),
        ("segment_id", N, 10),
        ("text", T, 40),
        ("author_id", N, 12),
        ("author", T, 18),
        ("paid_broadcast", T, 6),
        ("scheduled_for", T, 16),
        ("created_at", DT, 16),
        ("started_at", DT, 16),
        ("finished_at", DT, 16),
        *((f"delivery_{s.value}", N, 10) for s in DeliveryStatus),
        ("left", N, 8),
        ("interested", N, 10),
        ("link_clicks", N, 10),
        ("unsubscribed", N, 10),
        ("buyers", N, 10),
        ("purchases", N, 10),
        ("link", T, 30),
    ),
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose data and which of it: the viewer, and the filter chosen (clients: segment, status, tag,
    owner, vip; audit: actor, client, since, until — ISO times in UTC)."""

    viewer: User
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def owner_id(self) -> int | None:
        """The owner the rows are limited to: a manager's own id, or the owner an admin filtered by."""
        if not access.sees_everything(self.viewer):
            return self.viewer.id
        owner = self.params.get("owner")
        return int(owner) if owner is not None else None


def check_allowed(viewer: User, dataset: Dataset) -> None:
    if dataset in ADMIN_ONLY and not access.sees_everything(viewer):
        raise DomainError("not_allowed")


async def latest_run_id(session: AsyncSession) -> int | None:
    """The latest finished RFM run (its scores are what the card and exports show)."""
    return await session.scalar(
        select(RfmRun.id).where(RfmRun.finished_at.is_not(None)).order_by(RfmRun.id.desc()).limit(1)
    )


async def rows(session: AsyncSession, dataset: Dataset, scope: Scope) -> AsyncIterator[Sequence[Any]]:
    check_allowed(scope.viewer, dataset)
    names = _Names(session)
    if dataset is Dataset.clients:
        source = _clients(session, scope, names)
    elif dataset is Dataset.audit:
        source = _audit(session, scope)
    elif dataset is Dataset.campaigns:
        source = _campaigns(session, scope, names)
    else:
        source = _related(session, dataset, scope, names)
    async for row in source:
        yield row


class _Names:
    """Staff names by id, looked up once each (a company has few staff, so this stays small)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.known: dict[int, str] = {}

    async def load(self, ids: set[int | None]) -> None:
        missing = [i for i in ids if i is not None and i not in self.known]
        if missing:
            for user in await self.session.scalars(select(User).where(User.id.in_(missing))):
                self.known[user.id] = user.display_name

    def get(self, user_id: int | None) -> str | None:
        return None if user_id is None else self.known.get(user_id)


async def _clients(session: AsyncSession, scope: Scope, names: _Names) -> AsyncIterator[Sequence[Any]]:
    run_id = await latest_run_id(session)
    c, s = Client, RfmScore
    base = (
        select(
            c.id,
            c.name,
            c.email,
            c.company,
            c.position,
            c.status,
            c.source,
            c.birthday,
            c.owner_id,
            c.created_at,
            c.last_contact_at,
            c.vip,
            s.r,
            s.f,
            s.m,
            s.segment,
            s.abc_class,
            s.monetary,
        )
        .outerjoin(s, and_(s.run_id == (run_id if run_id is not None else -1), s.client_id == c.id))
        .where(c.merged_into_id.is_(None))
    )
    base = _client_filter(base, scope)
    last = 0
    while True:
        page = (await session.execute(base.where(c.id > last).order_by(c.id).limit(BATCH))).all()
        if not page:
            return
        ids = [r.id for r in page]
        phones, tags = await _phones_and_tags(session, ids)
        await names.load({r.owner_id for r in page})
        for r in page:
            numbers = phones.get(r.id, [])
            vip = bool(r.vip) or r.abc_class == "A"
            yield (
                r.id,
                r.name,
                numbers[0] if numbers else None,
                " ".join(numbers[1:]) or None,
                r.email,
                r.company,
                r.position,
                r.status.value,
                ", ".join(tags.get(r.id, [])) or None,
                r.source,
                r.birthday,
                r.owner_id,
                names.get(r.owner_id),
                r.created_at,
                r.last_contact_at,
                r.r,
                r.f,
                r.m,
                r.segment or Segment.NO_RECENT.value,
                r.abc_class,
                vip,
                r.monetary,
            )
        last = ids[-1]


def _client_filter(stmt: Any, scope: Scope) -> Any:
    c, s, p = Client, RfmScore, scope.params
    if (owner := scope.owner_id) is not None:
        stmt = stmt.where(c.owner_id == owner)
    if (segment := p.get("segment")) is not None:
        stmt = stmt.where(s.client_id.is_(None) if segment == Segment.NO_RECENT else s.segment == segment)
    if (status := p.get("status")) is not None:
        stmt = stmt.where(c.status == status)
    if (tag := p.get("tag")) is not None:
        stmt = stmt.where(c.id.in_(select(ClientTag.client_id).where(ClientTag.tag == tag)))
    if p.get("vip"):
        stmt = stmt.where(or_(c.vip.is_(True), s.abc_class == "A"))
    return stmt


async def _phones_and_tags(
    session: AsyncSession, ids: list[int]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Each client's phones (the first added first: that one is `phone`) and tags."""
    phones: dict[int, list[str]] = {}
    rows_ = await session.execute(
        select(ClientPhone.client_id, ClientPhone.e164)
        .where(ClientPhone.client_id.in_(ids))
        .order_by(ClientPhone.client_id, ClientPhone.id)
    )
    for client_id, e164 in rows_.all():
        phones.setdefault(client_id, []).append(e164)
    tags: dict[int, list[str]] = {}
    rows_ = await session.execute(
        select(ClientTag.client_id, ClientTag.tag)
        .where(ClientTag.client_id.in_(ids))
        .order_by(ClientTag.client_id, ClientTag.tag)
    )
    for client_id, tag in rows_.all():
        tags.setdefault(client_id, []).append(tag)
    return phones, tags


def _related_query(dataset: Dataset) -> tuple[Any, Any, str]:
    """(the table's id column, the select, the person column, the row builder) of a client-owned dataset."""
    if dataset is Dataset.deals:
        d = Deal
        stmt = select(
            d.id,
            d.client_id,
            Client.name.label("client"),
            d.title,
            d.stage,
            d.amount,
            d.currency,
            d.expected_close,
            d.lost_reason,
            d.owner_id,
            d.created_at,
            d.closed_at,
        )
        return d.id, stmt.join(Client, Client.id == d.client_id), "owner_id"
    if dataset is Dataset.contacts:
        i = Interaction
        stmt = select(
            i.id,
            i.client_id,
            Client.name.label("client"),
            i.occurred_at,
            i.kind,
            i.outcome,
            i.note,
            i.author_id,
        )
        return i.id, stmt.join(Client, Client.id == i.client_id), "author_id"
    if dataset is Dataset.purchases:
        p = Purchase
        stmt = select(
            p.id,
            p.client_id,
            Client.name.label("client"),
            p.created_at,
            p.amount,
            p.currency,
            p.tier,
            p.discount_percent,
            p.discounted,
            p.points_redeemed,
            p.paid,
            p.points_earned,
            p.origin,
            p.manager_id,
        )
        return p.id, stmt.join(Client, Client.id == p.client_id), "manager_id"
    sv = Survey
    stmt = select(
        sv.id,
        sv.client_id,
        Client.name.label("client"),
        sv.trigger,
        sv.sent_at,
        sv.csat,
        sv.csat_at,
        sv.nps,
        sv.nps_at,
        sv.comment,
        sv.manager_id,
    )
    stmt = stmt.join(Client, Client.id == sv.client_id).where(or_(sv.csat.is_not(None), sv.nps.is_not(None)))
    return sv.id, stmt, "manager_id"


async def _related(
    session: AsyncSession, dataset: Dataset, scope: Scope, names: _Names
) -> AsyncIterator[Sequence[Any]]:
    id_col, stmt, person = _related_query(dataset)
    if (owner := scope.owner_id) is not None:
        stmt = stmt.where(Client.owner_id == owner)
    last = 0
    while True:
        page = (await session.execute(stmt.where(id_col > last).order_by(id_col).limit(BATCH))).all()
        if not page:
            return
        await names.load({getattr(r, person) for r in page})
        for r in page:
            values = [v.value if isinstance(v, enum.Enum) else v for v in r]
            yield (*values, names.get(getattr(r, person)))
        last = page[-1].id


def audit_filter(params: dict[str, Any]) -> audit.Filter:
    def when(key: str) -> datetime | None:
        raw = params.get(key)
        return datetime.fromisoformat(raw).astimezone(UTC) if raw else None

    actor, client = params.get("actor"), params.get("client")
    return audit.Filter(
        actor_id=int(actor) if actor is not None else None,
        client_id=int(client) if client is not None else None,
        since=when("since"),
        until=when("until"),
    )


async def _audit(session: AsyncSession, scope: Scope) -> AsyncIterator[Sequence[Any]]:
    async for item in audit.stream(session, audit_filter(scope.params)):
        yield (
            item.at,
            item.actor_id,
            item.actor_name,
            item.client_id,
            item.client_name,
            item.action,
            item.target,
            item.before,
            item.after,
            item.note,
        )


async def _campaigns(session: AsyncSession, scope: Scope, names: _Names) -> AsyncIterator[Sequence[Any]]:
    async for page in campaign_results.stream(session, scope.viewer, BATCH):
        await names.load({line.created_by for line in page})
        for line in page:
            f = line.figures
            yield (
                line.id,
                line.status.value,
                line.segment_name if line.segment_name is not None else ALL_CLIENTS,
                line.segment_id,
                line.text,
                line.created_by,
                names.get(line.created_by),
                line.paid,
                line.scheduled_for,
                line.created_at,
                line.started_at,
                line.finished_at,
                *(f.counts[s] for s in DeliveryStatus),
                f.counts.left,
                f.clicks,
                f.link_clicks,
                f.unsubscribed,
                f.buyers,
                f.purchases,
                line.link,
            )


async def top_tags(session: AsyncSession, viewer: User, limit: int = 12) -> list[str]:
    """The tags most used on the clients the viewer sees (the tag filter's buttons)."""
    stmt = select(ClientTag.tag, func.count().label("n")).join(Client, Client.id == ClientTag.client_id)
    stmt = stmt.where(Client.merged_into_id.is_(None))
    if not access.sees_everything(viewer):
        stmt = stmt.where(Client.owner_id == viewer.id)
    rows_ = await session.execute(
        stmt.group_by(ClientTag.tag).order_by(func.count().desc(), ClientTag.tag).limit(limit)
    )
    return [tag for tag, _n in rows_.all()]
