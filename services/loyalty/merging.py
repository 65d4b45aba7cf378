"""Merging two client records: the survivor's account takes over the other's.

Called by the merge of clients (services/merge.py); nothing here knows about the merge itself."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.loyalty import LoyaltyAccount
from services.loyalty.ledger import ensure_account


async def merge_into(session: AsyncSession, survivor: Client, other: Client, now: datetime) -> int:
    """The survivor's account gets the other's balance, spend and purchases (its entries move over with
    every other row pointing at the other record); the survivor keeps its referral code, or takes the
    other's if it had none."""
    theirs = await session.get(LoyaltyAccount, other.id, populate_existing=True)
    if theirs is None:
        return 0
    balance, spend, purchases, code = (
        theirs.balance,
        theirs.total_spend,
        theirs.purchases,
        theirs.referral_code,
    )
    await session.delete(theirs)
    await session.flush()
    await ensure_account(session, survivor.id, now)
    mine = await session.get(LoyaltyAccount, survivor.id, populate_existing=True)
    assert mine is not None
    mine.balance += balance
    mine.total_spend = Decimal(mine.total_spend) + Decimal(spend)
    mine.purchases += purchases
    if mine.referral_code is None:
        mine.referral_code = code
    mine.updated_at = now
    await session.flush()
    return 1
