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


class Delivery(enum.StrEnum):
    sent = "sent"
    blocked = "blocked"  # the person blocked the bot (403)
    unreachable = "unreachable"  # chat not found / deactivated account


@dataclass(frozen=True, slots=True)
class Posted:
    """How one message of a broadcast went, with Telegram's id of it when it was sent."""

    delivery: Delivery
    message_id: int | None = None


class RateLimiter:
    """Slots for the whole bot (SEND_RATE per second) and per chat (one per PER_CHAT_INTERVAL)."""

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
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.clock = clock
        self.limiter = limiter

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
    ) -> Posted:
        """One message of a broadcast or a progress message: HTML `text` of at most 4096 characters
        (not split), or with `media` ("photo" or "document", Telegram's file_id) a caption of at most
        1024; paced like `send` but without the reachability read (the caller checked it), with
        Telegram's message id. A 429 holds every send of the bot for retry_after, not only this chat's:
        a broadcast hitting the flood limit means the bot's overall rate is too high."""
        sent: list[int] = []

        async def call() -> None:
            if media is not None and media[0] == "photo":
                message = await self.bot.send_photo(
                    chat_id, media[1], caption=text, parse_mode="HTML", reply_markup=reply_markup
                )
            elif media is not None:
                message = await self.bot.send_document(
                    chat_id, media[1], caption=text, parse_mode="HTML", reply_markup=reply_markup
                )
            else:
                message = await self.bot.send_message(
                    chat_id,
                    text,
                    reply_markup=reply_markup,
                    parse_mode="HTML",
                    link_preview_options={"is_disabled": True},
                )
            sent.append(message.message_id)

        delivery = await self._deliver(chat_id, call, hold_all=True)
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
        self, chat_id: int, call: Callable[[], Awaitable[object]], *, hold_all: bool = False
    ) -> Delivery:
        for _ in range(MAX_RETRY_AFTER_WAITS + 1):
            await self.limiter.wait(chat_id)
            try:
                await call()
                return Delivery.sent
            except TelegramRetryAfter as e:
                log.warning("429 for chat %s: retry after %s s", chat_id, e.retry_after)
                if hold_all:
                    self.limiter.hold_all(e.retry_after)
                else:
                    self.limiter.hold_chat(chat_id, e.retry_after)
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
