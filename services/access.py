"""Who may see what: a manager sees only the clients they own and what hangs on them; admins see all."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.users import Role, User
from services.errors import NotFound


def sees_everything(user: User) -> bool:
    return user.effective_role == Role.admin


async def visible_client(session: AsyncSession, user: User, client_id: int) -> Client:
    """The client, or NotFound when it doesn't exist, was merged away, or belongs to someone else.

    "Not found" is also the answer for another manager's client, so nothing about it is revealed.
    """
    client = await session.get(Client, client_id)
    if client is None or client.merged_into_id is not None:
        raise NotFound()
    if not sees_everything(user) and client.owner_id != user.id:
        raise NotFound()
    return client


async def client_of(session: AsyncSession, user_id: int) -> Client | None:
    """The live client record a customer's Telegram account is linked to, if any."""
    return await session.scalar(
        select(Client).where(Client.telegram_id == user_id, Client.merged_into_id.is_(None))
    )
