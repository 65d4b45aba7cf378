"""The one way proactive messages leave the bot.

Paces to SEND_RATE overall and about one message per second per chat, honours 429 retry_after,
marks a user blocked on 403 and a chat unreachable on "chat not found" (and stops sending to
them), and splits text over 4096 characters at line boundaries. Reminders, surveys, campaigns and
notices come here; direct replies to a person's own update leave through bot/outbox.py after their
update committed, waiting out the same 429 holds and taking their place in the same overall rate.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import FSInputFile, InlineKeyboardMarkup
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox import ReplyPacer
from bot.text import split_message
from models.users import User
from services.clock import Clock
from services.queue import PermanentError

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = 1.0
MAX_RETRY_AFTER_WAITS = 5
# A broadcast's send that woke a little late (an event loop's sleep overshoots by a millisecond or
# two) may take the slot it missed within this window, so the lane holds its rate instead of
# losing a few percent to timer lag; at most CATCH_UP × rate sends close together (3 at 30/s).
CATCH_UP = 0.1


class Delivery(enum.StrEnum):
    sent = "sent"
    blocked = "blocked"  # the person blocked the bot (403)
    unreachable = "unreachable"  # chat not found / deactivated account
    withheld = "withheld"  # not sent: `go` said no when its slot came (a paused or cancelled campaign)


@dataclass(frozen=True, slots=True)
class Posted:
    """How one message of a broadcast went, with Telegram's id of it when it was sent."""

    delivery: Delivery
    message_id: int | None = None


class RateLimiter:
    """Slots for the whole bot (SEND_RATE per second) and per chat (one per PER_CHAT_INTERVAL).

    Replies and reminders reserve the next slot (`wait`, `wait_reply`); a broadcast's send only takes
    a slot that is free now (`wait_broadcast`), so whatever else the bot sends goes first and the
    broadcast fills the rest of the rate, never more."""

    def __init__(
        self,
        rate: float,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate
        self.per_chat_interval = per_chat_interval
        self.monotonic = monotonic
        self.sleep = sleep
        self._next_global = 0.0
        self._next_chat: dict[int, float] = {}
        self._held_all = 0.0  # a 429 holds everything (or one chat) until then
        self._held_chat: dict[int, float] = {}
        self._broadcast_turn = asyncio.Lock()

    def _reserve(self, chat_id: int) -> float:
        now = self.monotonic()
        at = max(now, self._next_global, self._next_chat.get(chat_id, 0.0))
        self._next_global = at + self.interval
        self._next_chat[chat_id] = at + self.per_chat_interval
        if len(self._next_chat) > 10_000:
            self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
        return at - now

    async def wait(self, chat_id: int) -> None:
        # Reservation is synchronous (no await between read and write), so no lock is needed.
        delay = self._reserve(chat_id)
        if delay > 0:
            await self.sleep(delay)

    async def wait_reply(self, chat_id: int | None) -> None:
        """A direct reply goes at once unless a 429 holds its chat or everything; it takes a place in
        the overall rate, so the proactive sends behind it leave room for it."""
        now = self.monotonic()
        self._next_global = max(self._next_global, now) + self.interval
        until = max(self._held_all, self._held_chat.get(chat_id, 0.0) if chat_id is not None else 0.0)
        if until > now:
            await self.sleep(until - now)

    async def wait_broadcast(self, chat_id: int) -> None:
        """Wait for a slot nobody reserved (and the chat's own one), then take it. Broadcast sends get
        their slots one after another in the order they asked (asyncio.Lock is first come, first
        served), so a campaign's messages leave in its order however many wait at once."""
        async with self._broadcast_turn:
            while True:
                now = self.monotonic()
                at = max(self._next_global, self._held_all, self._next_chat.get(chat_id, 0.0))
                if at <= now:
                    self._next_global = max(self._next_global, now - CATCH_UP) + self.interval
                    self._next_chat[chat_id] = now + self.per_chat_interval
                    return
                await self.sleep(at - now)

    def hold_chat(self, chat_id: int, seconds: float) -> None:
        until = self.monotonic() + seconds
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), until)
        self._held_chat[chat_id] = max(self._held_chat.get(chat_id, 0.0), until)
        if len(self._held_chat) > 10_000:
            now = self.monotonic()
            self._held_chat = {c: t for c, t in self._held_chat.items() if t > now}

    def hold_all(self, seconds: float) -> None:
        until = self.monotonic() + seconds
        self._next_global = max(self._next_global, until)
        self._held_all = max(self._held_all, until)


class Sender(ReplyPacer):
    """Proactive messages (`send`), and the pacing and bookkeeping direct replies share with them
    (`ReplyPacer`: bot/outbox.py sends every reply after its update committed)."""

    def __init__(
        self,
        bot: Bot,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        limiter: RateLimiter,
        paid_limiter: RateLimiter | None = None,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.clock = clock
        self.limiter = limiter
        # Paid broadcasts (Telegram's allow_paid_broadcast, up to 1000/s for Stars) have a lane of their
        # own at PAID_BROADCAST_RATE: they don't take the free slots replies and reminders need.
        self.paid_limiter = paid_limiter

    async def send(
        self,
        chat_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
        *,
        check_reachable: bool = True,
    ) -> Delivery:
        """Send HTML `text` (user data in it already escaped with bot.text.h) to a chat.

        Returns how it went. Raises on transient failures (network, 5xx, too many 429s) so the
        job queue retries, and PermanentError for a request Telegram will never accept.
        """
        if check_reachable and not await self._reachable(chat_id):
            return Delivery.blocked
        chunks = split_message(text)
        for i, chunk in enumerate(chunks):
            markup = reply_markup if i == len(chunks) - 1 else None
            result = await self._send_chunk(chat_id, chunk, markup)
            if result is not Delivery.sent:
                return result
        return Delivery.sent

    async def send_document(
        self,
        chat_id: int,
        path: Path,
        filename: str,
        caption: str | None = None,
        *,
        check_reachable: bool = True,
    ) -> Delivery:
        """Upload a file from disk (streamed, not read into memory) as a document with an HTML caption
        (at most 1024 characters, user data escaped), paced and handled like `send`."""
        if check_reachable and not await self._reachable(chat_id):
            return Delivery.blocked
        return await self._deliver(
            chat_id,
            lambda: self.bot.send_document(
                chat_id, FSInputFile(path, filename=filename), caption=caption, parse_mode="HTML"
            ),
        )

    async def post(
        self,
        chat_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
        *,
        media: tuple[str, str] | None = None,
        broadcast: bool = False,
        paid: bool = False,
        go: Callable[[], bool] | None = None,
    ) -> Posted:
        """One message of a broadcast or a progress message: HTML `text` of at most 4096 characters
        (not split), or with `media` ("photo" or "document", Telegram's file_id) a caption of at most
        1024; paced like `send` but without the reachability read (the caller checked it), with
        Telegram's message id. A 429 holds every send of the bot for retry_after, not only this chat's:
        a broadcast hitting the flood limit means the bot's overall rate is too high.

        `broadcast` sends take only free slots (see RateLimiter); `paid` ones go in the paid lane with
        allow_paid_broadcast. `go`, asked once the slot has come and before the request, may withhold
        the message (Delivery.withheld): a campaign paused or cancelled while it waited."""
        sent: list[int] = []
        extra: dict[str, bool] = {"allow_paid_broadcast": True} if paid else {}

        async def call() -> None:
            if media is not None and media[0] == "photo":
                message = await self.bot.send_photo(
                    chat_id, media[1], caption=text, parse_mode="HTML", reply_markup=reply_markup, **extra
                )
            elif media is not None:
                message = await self.bot.send_document(
                    chat_id, media[1], caption=text, parse_mode="HTML", reply_markup=reply_markup, **extra
                )
            else:
                message = await self.bot.send_message(
                    chat_id,
                    text,
                    reply_markup=reply_markup,
                    parse_mode="HTML",
                    link_preview_options={"is_disabled": True},
                    **extra,
                )
            sent.append(message.message_id)

        limiter = self.paid_limiter if paid and self.paid_limiter is not None else self.limiter
        delivery = await self._deliver(
            chat_id, call, hold_all=True, limiter=limiter, broadcast=broadcast or paid, go=go
        )
        return Posted(delivery, sent[-1] if delivery is Delivery.sent and sent else None)

    async def _send_chunk(self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> Delivery:
        return await self._deliver(
            chat_id,
            lambda: self.bot.send_message(
                chat_id,
                text,
                reply_markup=markup,
                parse_mode="HTML",
                link_preview_options={"is_disabled": True},
            ),
        )

    async def _deliver(
        self,
        chat_id: int,
        call: Callable[[], Awaitable[object]],
        *,
        hold_all: bool = False,
        limiter: RateLimiter | None = None,
        broadcast: bool = False,
        go: Callable[[], bool] | None = None,
    ) -> Delivery:
        limiter = limiter or self.limiter
        for _ in range(MAX_RETRY_AFTER_WAITS + 1):
            if broadcast:
                await limiter.wait_broadcast(chat_id)
            else:
                await limiter.wait(chat_id)
            if go is not None and not go():
                return Delivery.withheld
            try:
                await call()
                return Delivery.sent
            except TelegramRetryAfter as e:
                log.warning("429 for chat %s: retry after %s s", chat_id, e.retry_after)
                if hold_all:
                    limiter.hold_all(e.retry_after)
                else:
                    limiter.hold_chat(chat_id, e.retry_after)
                continue
            except TelegramForbiddenError as e:
                blocked = "blocked" in e.message.lower()
                await self._mark(chat_id, blocked=blocked)
                return Delivery.blocked if blocked else Delivery.unreachable
            except TelegramBadRequest as e:
                if "chat not found" in e.message.lower():
                    await self._mark(chat_id, blocked=False)
                    return Delivery.unreachable
                raise PermanentError(f"Telegram rejected the message: {e.message}") from e
            except (TelegramNetworkError, TelegramServerError):
                raise
        raise RuntimeError(f"still rate limited after {MAX_RETRY_AFTER_WAITS} waits")

    async def edit(
        self,
        chat_id: int,
        message_id: int | None,
        text: str,
        reply_markup: InlineKeyboardMarkup | None = None,
    ) -> Delivery:
        """Show `text` in place of a message the bot sent (a job's progress message), paced like a
        send; a message that can't be edited any more (or None) gets a new one instead."""
        if message_id is None:
            return await self.send(chat_id, text, reply_markup)
        for _ in range(MAX_RETRY_AFTER_WAITS + 1):
            await self.limiter.wait(chat_id)
            try:
                await self.bot.edit_message_text(
                    text=text,
                    chat_id=chat_id,
                    message_id=message_id,
                    reply_markup=reply_markup,
                    parse_mode="HTML",
                    link_preview_options={"is_disabled": True},
                )
                return Delivery.sent
            except TelegramRetryAfter as e:
                self.limiter.hold_chat(chat_id, e.retry_after)
                continue
            except TelegramBadRequest as e:
                if "not modified" in e.message.lower():
                    return Delivery.sent
                return await self.send(chat_id, text, reply_markup)
        raise RuntimeError(f"still rate limited after {MAX_RETRY_AFTER_WAITS} waits")

    async def before_reply(self, chat_id: int | None) -> None:
        await self.limiter.wait_reply(chat_id)

    def after_429(self, chat_id: int | None, seconds: float) -> None:
        if chat_id is None:
            self.limiter.hold_all(seconds)
        else:
            self.limiter.hold_chat(chat_id, seconds)

    async def mark_blocked(self, chat_id: int) -> None:
        await self._mark(chat_id, blocked=True)

    async def _reachable(self, chat_id: int) -> bool:
        async with self.session_factory() as session:
            user = await session.get(User, chat_id)
            return user is None or user.reachable

    async def _mark(self, chat_id: int, *, blocked: bool) -> None:
        now: datetime = self.clock.now()
        values = {"blocked_at": now} if blocked else {"unreachable_at": now}
        async with self.session_factory() as session, session.begin():
            await session.execute(update(User).where(User.id == chat_id).values(**values))
        log.info("chat %s marked %s", chat_id, "blocked" if blocked else "unreachable")
