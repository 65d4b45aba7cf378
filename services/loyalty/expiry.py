"""Expiry: lots past their expiry date become expire entries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.loyalty import EXPIRE, LedgerEntry, LoyaltyAccount
from services.loyalty.ledger import move_balance

EXPIRE_BATCH = 500  # clients per expiry job run


async def expire_due(
    session: AsyncSession, now: datetime, limit: int = EXPIRE_BATCH
) -> tuple[int, int, bool]:
    """Lots past their expiry become expire entries, per client (oldest first). Returns (clients,
    points, more to do). Each client's account row is locked first, so a redemption at the same time
    sees either the lots before or after."""
    client_ids = list(
        (
            await session.scalars(
                select(LedgerEntry.client_id)
                .where(LedgerEntry.remaining > 0, LedgerEntry.expires_at <= now)
                .order_by(LedgerEntry.expires_at)
                .limit(limit * 4)
            )
        ).all()
    )
    unique = list(dict.fromkeys(client_ids))[:limit]
    total = 0
    for client_id in unique:
        await session.execute(
            update(LoyaltyAccount)
            .where(LoyaltyAccount.client_id == client_id)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        lots = (
            await session.execute(
                select(LedgerEntry.id, LedgerEntry.remaining).where(
                    LedgerEntry.client_id == client_id,
                    LedgerEntry.remaining > 0,
                    LedgerEntry.expires_at <= now,
                )
            )
        ).all()
        points = sum(r for _, r in lots)
        if not points:
            continue
        await session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id.in_([lot_id for lot_id, _ in lots]))
            .values(remaining=0)
            .execution_options(synchronize_session=False)
        )
        balance = await move_balance(session, client_id, -points, now)
        first = min(lot_id for lot_id, _ in lots)
        session.add(
            LedgerEntry(
                client_id=client_id,
                at=now,
                kind=EXPIRE,
                points=-points,
                balance_after=balance,
                remaining=0,
                idempotency_key=f"expire:{client_id}:{first}:{now:%Y%m%d%H%M%S}",
                lots=[[lot_id, r] for lot_id, r in lots],
            )
        )
        total += points
    await session.flush()
    return len(unique), total, len(unique) == limit
