"""A client's deals as the client card sees them: the open ones' count and sums, and activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.deals import Deal
from services.deals.rules import CLOSED_STAGES


@dataclass(frozen=True, slots=True)
class OpenSummary:
    count: int
    sums: dict[str, Decimal]  # currency -> sum of amounts


async def open_summary(session: AsyncSession, client_id: int) -> OpenSummary:
    rows = (
        await session.execute(
            select(Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount), 0))
            .where(Deal.client_id == client_id, Deal.stage.not_in(CLOSED_STAGES))
            .group_by(Deal.currency)
        )
    ).all()
    return OpenSummary(
        count=sum(n for _, n, _ in rows),
        sums={currency: Decimal(total) for currency, _, total in rows if total},
    )


async def touch_client_deals(session: AsyncSession, client_id: int, now: datetime) -> None:
    """Something happened with the client (a logged contact): their open deals are active again,
    and a stale-deal nudge may be sent again later."""
    await session.execute(
        update(Deal)
        .where(Deal.client_id == client_id, Deal.stage.not_in(CLOSED_STAGES))
        .values(last_activity_at=now, nudged_at=None)
        .execution_options(synchronize_session=False)
    )
