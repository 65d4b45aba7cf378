"""The stale-deal nudge: open deals without activity for a while, nudged once until active again."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.deals import Deal
from models.users import User
from services.deals.changes import record_event
from services.deals.rules import CLOSED_STAGES

STALE_BATCH = 5000


def stale_cutoff(now: datetime, stale_days: int) -> datetime:
    return now - timedelta(days=stale_days)


def is_stale(deal: Deal, now: datetime, stale_days: int) -> bool:
    return (
        deal.stage not in CLOSED_STAGES
        and deal.nudged_at is None
        and deal.last_activity_at <= stale_cutoff(now, stale_days)
    )


async def stale_deals(
    session: AsyncSession, now: datetime, stale_days: int, limit: int = STALE_BATCH
) -> list[tuple[int, datetime, str | None]]:
    """(id, last_activity_at, owner's time zone) of open deals without activity for stale_days that
    weren't nudged yet, stalest first: a range read of (stage, last_activity_at) per open stage."""
    rows = (
        await session.execute(
            select(Deal.id, Deal.last_activity_at, User.timezone)
            .join(User, User.id == Deal.owner_id)
            .where(
                Deal.stage.not_in(CLOSED_STAGES),
                Deal.last_activity_at <= stale_cutoff(now, stale_days),
                Deal.nudged_at.is_(None),
            )
            .order_by(Deal.last_activity_at, Deal.id)
            .limit(limit)
        )
    ).all()
    return [(deal_id, at, tz) for deal_id, at, tz in rows]


def nudge_key(deal_id: int, last_activity_at: datetime) -> str:
    return f"nudge:{deal_id}:{last_activity_at.isoformat()}"


async def mark_nudged(session: AsyncSession, deal: Deal, now: datetime, stale_days: int) -> None:
    deal.nudged_at = now
    record_event(session, deal, None, now, "nudge", None, None, days=stale_days)
    await session.flush()
