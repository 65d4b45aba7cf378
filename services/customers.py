"""Customers: a Telegram account linked to exactly one client record, and the other way round.

The link is `clients.telegram_id` (unique). Contract used by other services:
- client_of(session, user_id): the live client record linked to this Telegram account, or None.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client


async def client_of(session: AsyncSession, user_id: int) -> Client | None:
    return await session.scalar(
        select(Client).where(Client.telegram_id == user_id, Client.merged_into_id.is_(None))
    )
