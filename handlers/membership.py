"""my_chat_member: a person blocked or unblocked the bot."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated
from sqlalchemy.ext.asyncio import AsyncSession

from models.users import User
from services.clock import Clock

ANY = {"role": "any"}


def router() -> Router:
    r = Router(name="membership")
    r.my_chat_member.filter(F.chat.type == "private")

    @r.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED), flags=ANY)
    async def blocked(event: ChatMemberUpdated, session: AsyncSession, user: User, clock: Clock) -> None:
        user.blocked_at = clock.now()
        await session.flush()

    @r.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER), flags=ANY)
    async def unblocked(event: ChatMemberUpdated, session: AsyncSession, user: User) -> None:
        user.blocked_at = None
        await session.flush()

    return r
