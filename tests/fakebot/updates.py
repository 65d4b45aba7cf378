"""The bot's update queue: long polling (getUpdates) and webhook delivery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp

from .errors import ApiError

log = logging.getLogger(__name__)

# Update types delivered when allowed_updates is unset or empty.
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONFLICT_OTHER_GET_UPDATES = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)


class Signal:
    """Wakes every waiter whenever some state changed; waiters re-check their own condition."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds (bound it with ``asyncio.timeout``)."""
        while not predicate():
            await self._event.wait()

    async def wait_until(self, predicate: Callable[[], bool], seconds: float) -> bool:
        """Like ``wait_for``, but give up after ``seconds``: returns whether ``predicate()`` holds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.wait_for(predicate)
        return predicate()


def update_type(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


class UpdateQueue:
    """Updates not yet confirmed by the bot, in order. An update is "done" once it left the queue."""

    def __init__(self, signal: Signal) -> None:
        self._signal = signal
        self._pending: list[dict[str, Any]] = []
        self._next_id = 1
        self.allowed_updates: list[str] | None = None  # the bot's setting (getUpdates or setWebhook)
        self.dropped: dict[int, str] = {}  # update_id -> why it was dropped instead of delivered
        self.polls = 0  # getUpdates calls received
        self.closed = False
        self._poll_generation = 0
        self._poll_interrupted_by: ApiError | None = None
        self.submitted = 0  # updates ever put in the queue
        self._holds = 0  # while > 0, nothing is delivered: updates gather for one batch

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Deliver nothing inside the block; on leaving it, what gathered goes out together (one
        getUpdates response, if the bot polls with a limit that fits them)."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            self._signal.notify()

    @property
    def held(self) -> bool:
        return self._holds > 0

    def first_pending_id(self) -> int | None:
        return self._pending[0]["update_id"] if self._pending else None

    def new_id(self) -> int:
        update_id = self._next_id
        self._next_id += 1
        return update_id

    def put(self, update: dict[str, Any]) -> int:
        update_id = self.new_id()
        self._pending.append({"update_id": update_id, **update})
        self.submitted += 1
        self._signal.notify()
        return update_id

    def is_done(self, update_id: int) -> bool:
        return all(update["update_id"] != update_id for update in self._pending)

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def deliverable(self, limit: int = 100) -> list[dict[str, Any]]:
        """The first ``limit`` pending updates, after dropping those allowed_updates excludes
        (none while a batch is being gathered)."""
        if self.held:
            return []
        for update in list(self._pending):
            if not self._is_wanted(update_type(update)):
                self._drop(update, "allowed_updates")
        return self._pending[:limit]

    def _is_wanted(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in DEFAULT_EXCLUDED_UPDATES

    def confirm(self, offset: int) -> None:
        """getUpdates' ``offset``: forget updates below it (a negative one keeps only the last -offset)."""
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        self._signal.notify()

    def remove(self, update_id: int) -> None:
        self._pending = [u for u in self._pending if u["update_id"] != update_id]
        self._signal.notify()

    def drop_all(self, reason: str) -> None:
        for update in list(self._pending):
            self._drop(update, reason)

    def _drop(self, update: dict[str, Any], reason: str) -> None:
        self._pending.remove(update)
        self.dropped[update["update_id"]] = reason
        self._signal.notify()

    def interrupt_polls(self, reason: ApiError) -> None:
        """End a waiting getUpdates with ``reason`` (a newer getUpdates, or setWebhook)."""
        self._poll_generation += 1
        self._poll_interrupted_by = reason
        self._signal.notify()

    async def poll(self, *, offset: int | None, limit: int, wait_seconds: float) -> list[dict[str, Any]]:
        """getUpdates: confirm updates below ``offset``, return the next ones (waiting for one if none)."""
        if offset is not None:
            self.confirm(offset)
        self.interrupt_polls(ApiError(409, CONFLICT_OTHER_GET_UPDATES))
        generation = self._poll_generation
        self.polls += 1
        batch: list[dict[str, Any]] = []

        def ready() -> bool:
            nonlocal batch
            batch = self.deliverable(limit)
            return bool(batch) or self.closed or generation != self._poll_generation

        await self._signal.wait_until(ready, wait_seconds)
        if generation != self._poll_generation and self._poll_interrupted_by is not None:
            raise self._poll_interrupted_by
        return [] if self.closed else batch


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    ip_address: str | None = None


ReplyExecutor = Callable[[aiohttp.ClientResponse], Awaitable[None]]


class WebhookSender:
    """POSTs pending updates to the webhook one at a time, in order; retries failed deliveries."""

    RETRY_DELAYS = (0.05, 0.1, 0.2, 0.5, 1.0)
    REQUEST_TIMEOUT = 30.0

    def __init__(self, queue: UpdateQueue, signal: Signal, execute_reply: ReplyExecutor) -> None:
        self._queue = queue
        self._signal = signal
        self._execute_reply = execute_reply
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self.config: WebhookConfig | None = None
        self.last_error_date: int | None = None
        self.last_error_message: str | None = None

    @property
    def active(self) -> bool:
        return self.config is not None

    async def set(self, config: WebhookConfig) -> None:
        await self.delete()
        self.config = config
        self._task = asyncio.create_task(self._deliver_forever(config), name="fakebot-webhook")

    async def delete(self) -> None:
        self.config = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            if task is not asyncio.current_task():  # a webhook reply may delete the webhook
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._signal.notify()

    async def close(self) -> None:
        await self.delete()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(self, update: dict[str, Any], secret: str | None) -> int:
        """POST one update to the webhook with ``secret`` (None: no header); returns the HTTP status."""
        assert self.config is not None, "no webhook is set"
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with self._client().post(self.config.url, json=update, headers=headers) as response:
            await response.read()
            return response.status

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.REQUEST_TIMEOUT))
        return self._session

    async def _deliver_forever(self, config: WebhookConfig) -> None:
        failures = 0
        while True:
            pending: list[dict[str, Any]] = []

            def has_update() -> bool:
                nonlocal pending
                pending = self._queue.deliverable(1)
                return bool(pending)

            await self._signal.wait_for(has_update)
            update = pending[0]
            if await self._deliver(config, update):
                failures = 0
                self._queue.remove(update["update_id"])
            else:
                await asyncio.sleep(self.RETRY_DELAYS[min(failures, len(self.RETRY_DELAYS) - 1)])
                failures += 1

    async def _deliver(self, config: WebhookConfig, update: dict[str, Any]) -> bool:
        headers = {SECRET_HEADER: config.secret_token} if config.secret_token else {}
        try:
            async with self._client().post(config.url, json=update, headers=headers) as response:
                if not 200 <= response.status < 300:
                    self._record_error(
                        f"Wrong response from the webhook: {response.status} {response.reason}"
                    )
                    return False
                await self._execute_reply(response)
                return True
        except (aiohttp.ClientError, TimeoutError) as error:
            self._record_error(f"Connection failed: {type(error).__name__}: {error}")
            return False

    def _record_error(self, message: str) -> None:
        log.warning("fakebot webhook delivery failed: %s", message)
        self.last_error_date = int(time.time())
        self.last_error_message = message
