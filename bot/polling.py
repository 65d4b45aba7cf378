"""Long polling that confirms an update to Telegram only once it has been handled.

aiogram's own polling, with updates handled as concurrent tasks, asks for the next batch (and so
confirms the last one) while those tasks still run: a process killed a moment later loses the
messages it was still working on, and nobody answers them. Here the offset sent to Telegram never
passes the oldest update still being handled, so after a crash Telegram delivers again everything
that wasn't finished; what was finished and delivered again is recognised and skipped by the unit
of work (`processed_updates`, bot/middlewares.py). This is what webhook mode gets from answering
Telegram only after the update was handled.

Updates of different chats still run at once (`ChatSerializer` orders those of one chat).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramConflictError, TelegramNetworkError, TelegramServerError
from aiogram.methods import GetUpdates
from aiogram.types import Update

log = logging.getLogger(__name__)

BATCH = 100  # Telegram's maximum per getUpdates
RETRY_SECONDS = (1, 2, 5, 10, 30)
REMEMBER_DONE = 1000  # finished update ids kept to recognise a redelivery while the offset lags


class Poller:
    def __init__(
        self, dp: Dispatcher, bot: Bot, *, timeout: int = 30, allowed_updates: list[str] | None = None
    ) -> None:
        self.dp, self.bot = dp, bot
        self.timeout = timeout
        self.allowed_updates = allowed_updates
        self._running: dict[int, asyncio.Task[None]] = {}
        self._done: deque[int] = deque(maxlen=REMEMBER_DONE)
        self._done_set: set[int] = set()
        self._next = 0  # the offset: every update below it is handled
        self._sent = 0  # the offset Telegram was last given (it confirms what is below)
        self._finished = asyncio.Event()

    def offset(self) -> int | None:
        """What may be confirmed: up to the oldest update still running, else past the newest seen."""
        if self._running:
            return min(self._running)
        return self._next or None

    async def run(self, stop: asyncio.Event) -> None:
        failures = idle = 0
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                fetch = asyncio.create_task(self._fetch())
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not fetch.done():
                    fetch.cancel()
                    break
                try:
                    updates = fetch.result()
                    failures = 0
                except (TelegramNetworkError, TelegramServerError, TelegramConflictError) as e:
                    delay = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                    failures += 1
                    log.warning("getUpdates failed (%s); again in %s s", e, delay)
                    await _sleep_unless(stop, delay)
                    continue
                if self._start(updates) or not self._running:
                    idle = 0
                    continue
                # Only updates still running came back (their offset isn't confirmed yet): wait for
                # one of them to finish, or a moment (longer while nothing changes), then ask again.
                self._finished.clear()
                await _wait_for(self._finished, stop, min(0.05 * 2**idle, 0.5))
                idle += 1
        finally:
            stopping.cancel()
            await self._finish()

    async def _fetch(self) -> list[Update]:
        # A short poll while updates are running, so a finished one is confirmed soon.
        timeout = 0 if self._running else self.timeout
        offset = self.offset()
        method = GetUpdates(offset=offset, limit=BATCH, timeout=timeout, allowed_updates=self.allowed_updates)
        self._sent = max(self._sent, offset or 0)
        return await self.bot(method, request_timeout=timeout + 10)

    def _start(self, updates: list[Update]) -> bool:
        """Start the updates not seen yet, in order; True when there was one."""
        started = False
        for update in updates:
            uid = update.update_id
            self._next = max(self._next, uid + 1)
            if uid in self._running or uid in self._done_set:
                continue
            self._running[uid] = asyncio.create_task(self._handle(update))
            started = True
        return started

    async def _handle(self, update: Update) -> None:
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception:
            log.exception("update %s failed", update.update_id)
        finally:
            self._running.pop(update.update_id, None)
            if len(self._done) == self._done.maxlen:
                self._done_set.discard(self._done[0])
            self._done.append(update.update_id)
            self._done_set.add(update.update_id)
            self._finished.set()

    async def _finish(self) -> None:
        """A stop: let the running updates end, then confirm them to Telegram."""
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
        if self._next > self._sent:  # handled since Telegram was last told
            try:
                await self.bot(GetUpdates(offset=self._next, limit=1, timeout=0), request_timeout=10)
            except Exception:  # they will come again and be recognised as handled
                log.warning("could not confirm the last updates before stopping", exc_info=True)


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def _wait_for(event: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    waiters = {asyncio.create_task(event.wait()), asyncio.create_task(stop.wait())}
    _, pending = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
