"""Reading: a client's points summary (staff card, the customer's /balance) and the history pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.loyalty import LedgerEntry, LoyaltyAccount
from models.users import User
from services.access import client_of, visible_client
from services.errors import DomainError
from services.loyalty.settings import Tier, program

HISTORY_PAGE = 10
LAST_ENTRIES = 10
EXPIRING_WINDOW = timedelta(days=30)


@dataclass(slots=True)
class Summary:
    client: Client
    balance: int
    total_spend: Decimal
    tier: Tier
    next_tier: Tier | None
    expiring: int = 0  # points expiring in the next 30 days
    entries: list[LedgerEntry] = field(default_factory=list)

    @property
    def to_next(self) -> Decimal | None:
        return None if self.next_tier is None else self.next_tier.threshold - self.total_spend


async def summary(
    session: AsyncSession, client: Client, now: datetime, *, last: int = 0, with_expiring: bool = False
) -> Summary:
    """One primary-key read for the account (the running balance; no SUM over the history), an index
    range for points expiring soon and the last entries."""
    prog = await program(session)
    acc = await session.get(LoyaltyAccount, client.id)
    balance = acc.balance if acc else 0
    spend = Decimal(acc.total_spend) if acc else Decimal(0)
    tier, following = prog.tier_for(spend)
    result = Summary(client, balance, spend, tier, following)
    if acc is None:
        return result
    if with_expiring:
        result.expiring = int(
            await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.remaining), 0)).where(
                    LedgerEntry.client_id == client.id,
                    LedgerEntry.remaining > 0,
                    LedgerEntry.expires_at <= now + EXPIRING_WINDOW,
                )
            )
            or 0
        )
    if last:
        result.entries = list(
            (
                await session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.client_id == client.id)
                    .order_by(LedgerEntry.id.desc())
                    .limit(last)
                )
            ).all()
        )
    return result


async def customer_summary(session: AsyncSession, user: User, now: datetime) -> Summary:
    """/balance: the linked customer's own points. Not linked: DomainError("not_linked")."""
    client = await client_of(session, user.id)
    if client is None:
        raise DomainError("not_linked")
    return await summary(session, client, now, last=LAST_ENTRIES, with_expiring=True)


async def staff_summary(session: AsyncSession, user: User, client_id: int, now: datetime) -> Summary:
    client = await visible_client(session, user, client_id)
    return await summary(session, client, now)


@dataclass(slots=True)
class HistoryPage:
    client: Client
    items: list[LedgerEntry]
    total: int
    page: int
    per_page: int = HISTORY_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def history(session: AsyncSession, user: User, client_id: int, page: int = 0) -> HistoryPage:
    client = await visible_client(session, user, client_id)
    total = (
        await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.client_id == client.id)
        )
        or 0
    )
    pages = max(1, -(-total // HISTORY_PAGE))
    page = min(max(page, 0), pages - 1)
    items = (
        await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.client_id == client.id)
            .order_by(LedgerEntry.id.desc())
            .offset(page * HISTORY_PAGE)
            .limit(HISTORY_PAGE)
        )
    ).all()
    return HistoryPage(client, list(items), total, page)
