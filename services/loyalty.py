"""The bonus program: ledger, purchases, tiers, gifts, referrals, birthday bonus (being built).

Contract used by other services (kept while this module grows):
- on_linked(session, client, user, now): a customer's Telegram account was just linked to `client`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.users import User


async def on_linked(session: AsyncSession, client: Client, user: User, now: datetime) -> None:
    """Welcome bonus and a pending referral are settled here once the loyalty program exists."""
    return None


async def remember_referral(session: AsyncSession, user: User, code: str, now: datetime) -> bool:
    """`/start r_<code>`: the person came through a customer's referral link; settled on linking.

    Returns False for an unknown code (the caller says the link is not valid)."""
    return False
