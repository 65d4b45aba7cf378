"""my_chat_member: a person blocked or unblocked the bot."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import ChatMemberUpdated

from bot.context import Ctx

ANY = {"role": "any"}

router = Router(name="membership")
router.my_chat_member.filter(F.chat.type == "private")


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED), flags=ANY)
async def blocked(event: ChatMemberUpdated, ctx: Ctx) -> None:
    ctx.user.blocked_at = ctx.now()
    await ctx.session.flush()


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER), flags=ANY)
async def unblocked(event: ChatMemberUpdated, ctx: Ctx) -> None:
    ctx.user.blocked_at = None
    await ctx.session.flush()
