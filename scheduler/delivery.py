"""What job handlers share: the recipient of a job, and sending a job's message to a loaded user through
deps.sender, at most once."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup

from bot.sender import Delivery
from models.users import User
from scheduler.queue import JobContext
from services.queue import PermanentError


async def recipient(ctx: JobContext) -> User:
    """The user named by the job's payload["user_id"]."""
    user = await ctx.session.get(User, int(ctx.job.payload["user_id"]))
    if user is None:
        raise PermanentError("recipient is not known to the bot")
    return user


UNKNOWN = "unknown"  # claimed by a run of the job that died: maybe delivered, never sent again


async def send_to(ctx: JobContext, user: User, text: str, markup: InlineKeyboardMarkup | None = None) -> str:
    """Send a job's message to a loaded user, at most once: people who blocked the bot are skipped
    without asking the database again, and the message is claimed (committed) before it leaves, so a
    run of the job after a crash doesn't send it twice (UNKNOWN). A send that fails while we live
    and will be retried (network, 5xx) gives its claim back."""
    if not user.reachable:
        return Delivery.blocked.value
    if not await ctx.claim_send():
        return UNKNOWN
    try:
        return (await ctx.deps.sender.send(user.id, text, markup, check_reachable=False)).value
    except PermanentError:  # Telegram will never take it: the job ends, nothing to retry
        raise
    except Exception:
        await ctx.release_send()
        raise
