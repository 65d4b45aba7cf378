"""What job handlers share: the recipient of a job, and sending to a loaded user through deps.sender."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram.types import InlineKeyboardMarkup

from bot.sender import Delivery
from models.users import User
from scheduler.queue import JobContext
from services.queue import PermanentError

if TYPE_CHECKING:
    from bot.deps import Deps


async def recipient(ctx: JobContext) -> User:
    """The user named by the job's payload["user_id"]."""
    user = await ctx.session.get(User, int(ctx.job.payload["user_id"]))
    if user is None:
        raise PermanentError("recipient is not known to the bot")
    return user


async def send_to(deps: Deps, user: User, text: str, markup: InlineKeyboardMarkup | None = None) -> str:
    """Send to a loaded user: skip people who blocked the bot without asking the database again."""
    if not user.reachable:
        return Delivery.blocked.value
    return (await deps.sender.send(user.id, text, markup, check_reachable=False)).value
