"""Reading, with access: a deal and its card, a client's deals, the pipeline per stage, the history,
and finding a client for a new deal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.deals import Deal, DealEvent
from models.reminders import Reminder, ReminderStatus
from models.users import User
from services import clients as clients_service
from services import search
from services.access import visible_client
from services.errors import NotFound

LIST_PAGE = 8
HISTORY_PAGE = 10
SEARCH_LIMIT = 8


async def visible_deal(session: AsyncSession, user: User, deal_id: int) -> tuple[Deal, Client]:
    """The deal and its client, or NotFound (also for a deal of another manager's client)."""
    deal = await session.get(Deal, deal_id)
    if deal is None:
        raise NotFound()
    client = await visible_client(session, user, deal.client_id)
    return deal, client


async def next_step(session: AsyncSession, deal: Deal) -> Reminder | None:
    return await session.scalar(
        select(Reminder)
        .where(
            Reminder.client_id == deal.client_id,
            Reminder.status == ReminderStatus.pending,
            Reminder.deal_id == deal.id,
        )
        .order_by(Reminder.due_at, Reminder.id)
        .limit(1)
    )


@dataclass(slots=True)
class Card:
    deal: Deal
    client: Client
    owner: User | None
    next_step: Reminder | None


async def card(session: AsyncSession, user: User, deal_id: int) -> Card:
    deal, client = await visible_deal(session, user, deal_id)
    owner = await session.get(User, deal.owner_id)
    return Card(deal=deal, client=client, owner=owner, next_step=await next_step(session, deal))


@dataclass(slots=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _page(page: int, total: int, per_page: int) -> int:
    pages = max(1, -(-total // per_page))
    return min(max(page, 0), pages - 1)


async def client_deals(
    session: AsyncSession, user: User, client_id: int, page: int = 0, per_page: int = LIST_PAGE
) -> tuple[Client, Page]:
    """A client's deals, open ones first, newest first."""
    client = await visible_client(session, user, client_id)
    total = await session.scalar(select(func.count()).select_from(Deal).where(Deal.client_id == client.id))
    page = _page(page, total or 0, per_page)
    deals = (
        await session.scalars(
            select(Deal)
            .where(Deal.client_id == client.id)
            .order_by(Deal.closed_at.is_not(None), Deal.created_at.desc(), Deal.id.desc())
            .offset(page * per_page)
            .limit(per_page)
        )
    ).all()
    return client, Page(list(deals), total or 0, page, per_page)


@dataclass(slots=True)
class StageTotals:
    stage: str
    count: int = 0
    sums: dict[str, Decimal] = field(default_factory=dict)


async def pipeline(session: AsyncSession, owner_id: int | None, stages: Sequence[str]) -> list[StageTotals]:
    """Count and sum per stage (sums per currency), one GROUP BY; owner_id None: everyone's.

    Configured stages come in their order (empty ones too); deals in a stage no longer configured
    follow at the end so nothing disappears from the overview.
    """
    query = select(Deal.stage, Deal.currency, func.count(), func.sum(Deal.amount)).group_by(
        Deal.stage, Deal.currency
    )
    if owner_id is not None:
        query = query.where(Deal.owner_id == owner_id)
    totals = {stage: StageTotals(stage) for stage in stages}
    for stage, currency, count, total in (await session.execute(query)).all():
        row = totals.setdefault(stage, StageTotals(stage))
        row.count += count
        if total is not None:
            row.sums[currency] = row.sums.get(currency, Decimal(0)) + Decimal(total)
    return list(totals.values())


async def stage_deals(
    session: AsyncSession, owner_id: int | None, stage: str, page: int = 0, per_page: int = LIST_PAGE
) -> Page:
    """Deals in one stage, most recently active first: a range read of (owner_id, stage,
    last_activity_at) for a manager, of (stage, last_activity_at) for everyone's.

    Items are (Deal, client name)."""
    where = [Deal.stage == stage]
    if owner_id is not None:
        where.insert(0, Deal.owner_id == owner_id)
    total = await session.scalar(select(func.count()).select_from(Deal).where(*where)) or 0
    page = _page(page, total, per_page)
    rows = (
        await session.execute(
            select(Deal, Client.name)
            .join(Client, Client.id == Deal.client_id)
            .where(*where)
            .order_by(Deal.last_activity_at.desc(), Deal.id.desc())
            .offset(page * per_page)
            .limit(per_page)
        )
    ).all()
    return Page([(deal, name) for deal, name in rows], total, page, per_page)


async def history(
    session: AsyncSession, user: User, deal_id: int, page: int = 0, per_page: int = HISTORY_PAGE
) -> tuple[Deal, Page]:
    """The deal's events, newest first; items are (DealEvent, actor display name or None)."""
    deal, _ = await visible_deal(session, user, deal_id)
    total = (
        await session.scalar(select(func.count()).select_from(DealEvent).where(DealEvent.deal_id == deal.id))
        or 0
    )
    page = _page(page, total, per_page)
    rows = (
        await session.execute(
            select(DealEvent, User)
            .outerjoin(User, User.id == DealEvent.actor_id)
            .where(DealEvent.deal_id == deal.id)
            .order_by(DealEvent.at.desc(), DealEvent.id.desc())
            .offset(page * per_page)
            .limit(per_page)
        )
    ).all()
    return deal, Page([(e, u.display_name if u else None) for e, u in rows], total, page, per_page)


async def owner_names(session: AsyncSession, events: Sequence[DealEvent]) -> dict[int, str]:
    """Display names of the people named by "owner" events."""
    ids = {
        int(value)
        for event in events
        if event.kind == "owner"
        for value in (event.old_value, event.new_value)
        if value and value.lstrip("-").isdigit()
    }
    if not ids:
        return {}
    users = (await session.scalars(select(User).where(User.id.in_(ids)))).all()
    return {u.id: u.display_name for u in users}


async def find_clients(
    session: AsyncSession, user: User, text: str, region: str, limit: int = SEARCH_LIMIT
) -> tuple[list[Client], bool]:
    """The user's clients (an admin: everyone's) matching a part of the name, company, email or a
    phone's last digits — the clients' own search (index range scans). Returns (clients, more)."""
    query = search.parse_query(text, region)
    if query.empty:
        return [], False
    page = await clients_service.search_page(session, user, query, 0, size=limit)
    return page.items, page.has_next
