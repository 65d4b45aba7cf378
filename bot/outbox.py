"""What a person is told leaves only after what they were told about is committed.

While an update is handled, every Bot API call that would show the person something (send, edit,
delete, answer a callback or inline query, set their menu...) is held in the update's `Outbox`
instead of going out; `UnitOfWorkMiddleware` (bot/middlewares.py) commits the update's transaction
and only then sends what the outbox holds, in order. A failed commit throws the outbox away and the
person gets the apology instead. Calls that only read (getMe, getFile, getChat...) go straight
through, so a handler can still download a file or ask who the bot is.

Handlers therefore never see the result of a held call (they get a placeholder `True`); none needs
it. A file a handler sends must outlive the handler (send bytes, `BufferedInputFile`, not a temporary
file it deletes on the way out). Sending after commit also gives one place for what every reply needs:

- a 429 is waited out (retry_after, through the sender's limiter, so proactive sends hold too) and
  the call is retried;
- a 403 from a person who blocked the bot marks them blocked;
- an edit of a message that can no longer be edited is sent as a new message instead, an edit to
  what the message already shows is dropped, and a stale callback query is not an error;
- a callback query is answered exactly once: a second answer is dropped, and a query the handler
  didn't answer gets an empty answer so the button stops spinning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5  # a reply meeting 429 (or a network error) this many times in a row is given up
NETWORK_RETRY_SECONDS = 0.5

OUTBOX: ContextVar[Outbox | None] = ContextVar("outbox", default=None)

EDITS = (EditMessageText, EditMessageReplyMarkup, EditMessageCaption)
GONE = ("message can't be edited", "message to edit not found", "message not found")


class ReplyPacer:
    """The part of the sender's pacing a reply takes part in (bot/sender.py implements it)."""

    async def before_reply(self, chat_id: int | None) -> None:  # waits out a 429 hold
        return None

    def after_429(self, chat_id: int | None, seconds: float) -> None:
        return None

    async def mark_blocked(self, chat_id: int) -> None:
        return None


@dataclass(slots=True)
class _Held:
    make_request: NextRequestMiddlewareType[Any]
    bot: Bot
    method: TelegramMethod[Any]


@dataclass
class Outbox:
    """The calls one update made, to be sent after its transaction commits."""

    callback_query_id: str | None = None  # the update's callback query, answered exactly once
    held: list[_Held] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    pending_state: dict[Any, dict[str, Any]] = field(default_factory=dict)  # bot/fsm_storage.py
    _answered: bool = False

    def hold(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> None:
        self.held.append(_Held(make_request, bot, method))

    def discard(self) -> None:
        """The transaction rolled back: nothing of what the handler said may leave."""
        self.held.clear()
        self.after_commit.clear()
        self.pending_state.clear()

    async def run_after_commit(self) -> None:
        """Work that must follow the commit but precede the replies (dialog state kept in Redis). The
        update is committed by now, so a failure here is logged and the replies still leave."""
        steps, self.after_commit = self.after_commit, []
        for step in steps:
            try:
                await step()
            except Exception:
                log.exception("saving dialog state after the commit failed")

    async def flush(self, pacer: ReplyPacer, default_bot: Bot | None = None) -> None:
        held, self.held = self.held, []
        for item in held:
            if isinstance(item.method, AnswerCallbackQuery):
                if self._answered:
                    log.debug("dropped a second answer to callback query %s", item.method.callback_query_id)
                    continue
                self._answered = True
            await _deliver(item, pacer)
        if self.callback_query_id and not self._answered and default_bot is not None:
            self._answered = True
            answer = AnswerCallbackQuery(callback_query_id=self.callback_query_id)
            await _deliver(_Held(_direct, default_bot, answer), pacer)


async def _direct(bot: Bot, method: TelegramMethod[Any]) -> Any:
    return await bot(method)  # outside any update's outbox: goes straight out


def _chat_of(method: TelegramMethod[Any]) -> int | None:
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int) else None


async def _deliver(item: _Held, pacer: ReplyPacer) -> None:
    method, chat_id = item.method, _chat_of(item.method)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        await pacer.before_reply(chat_id)
        try:
            await item.make_request(item.bot, method)
            return
        except TelegramRetryAfter as e:
            log.warning(
                "429 on %s to chat %s: retry after %s s", method.__api_method__, chat_id, e.retry_after
            )
            pacer.after_429(chat_id, e.retry_after)
        except TelegramForbiddenError:
            if chat_id is not None:
                await pacer.mark_blocked(chat_id)
            return
        except TelegramBadRequest as e:
            await _bad_request(item, e, pacer)
            return
        except (TelegramNetworkError, TelegramServerError) as e:
            log.warning("%s to chat %s failed (%s), attempt %s", method.__api_method__, chat_id, e, attempt)
            await asyncio.sleep(NETWORK_RETRY_SECONDS * attempt)
    log.error("gave up %s to chat %s after %s attempts", method.__api_method__, chat_id, MAX_ATTEMPTS)


async def _bad_request(item: _Held, error: TelegramBadRequest, pacer: ReplyPacer) -> None:
    desc = error.message.lower()
    method = item.method
    if isinstance(method, EDITS) and "not modified" in desc:
        return
    if isinstance(method, AnswerCallbackQuery) and ("too old" in desc or "invalid" in desc):
        return  # the person pressed long ago; nothing is waiting for this answer
    if isinstance(method, EditMessageText) and any(g in desc for g in GONE) and method.chat_id is not None:
        fresh = SendMessage(
            chat_id=method.chat_id,
            text=method.text,
            parse_mode=method.parse_mode,
            entities=method.entities,
            link_preview_options=method.link_preview_options,
            reply_markup=method.reply_markup,
        )
        await _deliver(_Held(item.make_request, item.bot, fresh), pacer)
        return
    if isinstance(method, EDITS) and any(g in desc for g in GONE):
        return
    log.error("Telegram refused %s: %s", method.__api_method__, error.message)


# Calls that only read go straight through; everything else waits for the commit.
def _reads(method: TelegramMethod[Any]) -> bool:
    name = method.__api_method__
    return name.startswith("get") or name in ("logOut", "close")


class HoldUntilCommit(BaseRequestMiddleware):
    """The Bot session's request middleware that fills the current update's outbox."""

    async def __call__(
        self, make_request: NextRequestMiddlewareType[Any], bot: Bot, method: TelegramMethod[Any]
    ) -> Any:
        box = OUTBOX.get()
        if box is None or _reads(method):
            return await make_request(bot, method)
        box.hold(make_request, bot, method)
        return True
