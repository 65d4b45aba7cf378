"""FakeTelegram: a Bot API HTTP server for tests, plus the API tests use to play the users."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections import Counter, defaultdict, deque
from collections.abc import Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import aiohttp
from aiohttp import web

from .chats import ChatState
from .crash import KillHook
from .errors import ApiError, default_description, too_many_requests
from .files import MAX_UPLOAD_SIZE, FileStore, UploadedFile
from .methods import BotApi, QueryRecord, commands_key
from .people import BotMessage, CallbackAnswer, FakeUser, Replies
from .ratelimit import Clock, RateLimiter
from .spec import ApiSpec
from .updates import Signal, UpdateQueue, WebhookSender

log = logging.getLogger(__name__)

_CONFIGURED_SECRET: Any = object()
_FLOOD_LIMITED_EXTRA = {"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"}


class Call(NamedTuple):
    """One request the bot made: the method (as the spec spells it) and its parameters.

    ``params`` are typed (ints, bools, parsed JSON objects, UploadedFile) once they passed the spec's
    checks, and the raw strings otherwise.
    """

    method: str
    params: dict[str, Any]


class FailedCall(NamedTuple):
    method: str
    params: dict[str, Any]
    error_code: int
    description: str


@dataclass
class _Fault:
    error_code: int
    description: str
    retry_after: int | None
    remaining: int
    skip: int = 0  # calls that still succeed before this fault starts


class PendingUpdate:
    """An update handed to the bot. Await it to wait until the bot processed it and get its replies."""

    def __init__(self, server: FakeTelegram, update_id: int, chat: ChatState, description: str) -> None:
        self.server = server
        self.update_id = update_id
        self.chat = chat
        self.description = description
        self._events_mark = len(chat.events)

    def __await__(self) -> Generator[Any, None, Replies]:
        return self.wait().__await__()

    async def wait(self) -> Replies:
        server, update_id = self.server, self.update_id
        if not await server.signal.wait_until(
            lambda: server.updates.is_done(update_id), server.update_timeout
        ):
            raise AssertionError(
                f"the bot never confirmed update {update_id} ({self.description}) "
                f"within {server.update_timeout:g}s: {server.delivery_hint()}"
            )
        if server.settle is not None:
            await server.settle()
        dropped = server.updates.dropped.get(update_id)
        if dropped == "drop_pending_updates":
            raise AssertionError(
                f"update {update_id} ({self.description}) was dropped by drop_pending_updates; "
                "send updates only after the bot has started (see FakeTelegram.wait_for_bot)"
            )
        return self._replies(dropped)

    def _replies(self, dropped: str | None) -> Replies:
        touched: dict[int, None] = {}  # message ids sent/edited, in order (a dict keeps it, deduplicated)
        deleted: list[int] = []
        for event in self.chat.events[self._events_mark :]:
            if event.kind == "deleted":
                deleted.append(event.message_id)
            else:
                touched.setdefault(event.message_id)
        messages = [self.chat.bot_messages[i] for i in touched if not self.chat.bot_messages[i].deleted]
        return Replies(messages, update_id=self.update_id, deleted=deleted, dropped=dropped)


class FakeTelegram:
    """A fake Telegram Bot API server on 127.0.0.1 that rejects what Telegram rejects.

    Point the bot at ``base_url`` (``TelegramAPIServer.from_base``); create users with ``user()`` and
    let them talk to the bot. Every request is in ``calls``; failed ones also in ``errors``.
    """

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        global_rate: float | None = 30,
        per_chat_rate: float | None = None,
        global_burst: float | None = None,
        per_chat_burst: float | None = None,
        clock: Clock = time.monotonic,
        bot_username: str = "crm_test_bot",
        bot_first_name: str = "CRM Test Bot",
        spec_path: Path | str | None = None,
        strict_html: bool = True,
        update_timeout: float = 10.0,
    ) -> None:
        self.token = token
        self.clock = clock
        self.strict_html = strict_html
        self.update_timeout = update_timeout
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.spec = ApiSpec.load(spec_path)
        self.rate_limiter = RateLimiter(global_rate, per_chat_rate, clock, global_burst, per_chat_burst)
        self.calls: list[Call] = []
        self.errors: list[FailedCall] = []
        self.stats: Counter[str] = Counter()  # "calls", and one count per error code: stats["429"]
        self.files = FileStore()
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, ChatState] = {}
        self.signal = Signal()
        self.updates = UpdateQueue(self.signal)
        self.webhook = WebhookSender(self.updates, self.signal, self._execute_webhook_reply)
        self.api = BotApi(self)
        self._faults: defaultdict[str, deque[_Fault]] = defaultdict(deque)
        self._in_flight = 0
        self._query_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self.kill_hooks: list[KillHook] = []
        # Awaited once an update is confirmed, before its replies are read: for a bot that confirms
        # updates before it has handled them (polling with handle_as_tasks=True), a test sets this
        # to something that waits until the bot's handling is done (see tests/fakebot_tests). The
        # app's own polling (bot/polling.py) confirms an update only once handled and needs none.
        self.settle: Callable[[], Awaitable[None]] | None = None

    # --- lifecycle ---

    async def start(self, port: int = 0) -> None:
        """Listen on 127.0.0.1 (a free port unless ``port`` is given)."""
        app = web.Application(client_max_size=MAX_UPLOAD_SIZE + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        host, bound_port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{bound_port}"

    async def stop(self) -> None:
        self.updates.closed = True
        self.signal.notify()
        await self.webhook.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: what the app gets as its Telegram API URL."""
        assert self._base_url is not None, "FakeTelegram.start() has not been awaited"
        return self._base_url

    # --- people ---

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        is_premium: bool = False,
        phone_number: str | None = None,
        started: bool = False,
    ) -> FakeUser:
        """A fake user (the same object for the same id).

        The bot can't message a user before they wrote to it (403), unless ``started`` says they
        talked to the bot before the test began.
        """
        if user_id not in self.users:
            user = FakeUser(
                self, user_id, first_name, last_name, username, language_code, is_premium, phone_number
            )
            self.users[user_id] = user
            self.chats[user_id] = ChatState(user)
        if started:
            self.chats[user_id].started = True
        return self.users[user_id]

    def chat(self, chat_id: int) -> ChatState:
        assert chat_id in self.chats, f"no fake user {chat_id}; create one with server.user()"
        return self.chats[chat_id]

    def block(self, user_id: int) -> None:
        """The user has blocked the bot: sends to them fail with 403 (no update is sent)."""
        self.chat(user_id).blocked = True

    def unblock(self, user_id: int) -> None:
        self.chat(user_id).blocked = False

    def process_my_chat_member(self, user: FakeUser, status: Literal["kicked", "member"]) -> PendingUpdate:
        """The user blocks ("kicked") or unblocks ("member") the bot, and the bot gets my_chat_member.

        The block takes effect at once; await the result to wait until the bot processed the update.
        """
        chat = self.chat(user.id)
        chat.blocked = status == "kicked"
        kicked = {"status": "kicked", "user": self.bot_user, "until_date": 0}
        member = {"status": "member", "user": self.bot_user}
        old, new = (member, kicked) if status == "kicked" else (kicked, member)
        payload = {
            "chat": user.to_chat(),
            "from": user.to_user(),
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        return self.submit(user, "my_chat_member", payload)

    def submit(self, user: FakeUser, kind: str, payload: dict[str, Any]) -> PendingUpdate:
        """Queue an update from ``user`` (``kind`` is the Update field: "message", "callback_query"...)."""
        chat = self.chat(user.id)
        if chat.blocked and kind != "my_chat_member":
            self.process_my_chat_member(user, "member")  # writing to a blocked bot restarts it
        if kind != "inline_query":  # an inline query doesn't open the chat with the bot
            chat.started = True
        update_id = self.updates.put({kind: payload})
        return PendingUpdate(self, update_id, chat, f"{kind} from {user.first_name} ({user.id})")

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Updates submitted inside the block reach the bot together, in one getUpdates response."""
        with self.updates.hold():
            yield

    async def send_batch(self, *actions: Awaitable[Replies]) -> list[Replies]:
        """Run person actions so that the bot receives all their updates in ONE getUpdates response,
        in the order given; returns each one's Replies once the bot processed them all.

            replies = await server.send_batch(alice.send("Ivan"), alice.send("+7 999 123-45-67"))
            first, second = await server.send_batch(alice.press("OK"), alice.press("OK"))  # double tap

        Each action is what a person method returns, not awaited (``alice.send(...)``,
        ``alice.press(...)``, ``alice.share_contact(...)``...): each submits its update as soon as it
        starts, and they start in order. A press finds its button before any update is handled, so
        two presses of one label press the same button. In a batch, which reply answers which update
        can't be told: every update's Replies hold all messages its chat got from the moment the
        batch was submitted until all were processed; ``callback_answer`` is exact per press.
        """
        before = self.updates.submitted
        with self.updates.hold():
            tasks = [asyncio.ensure_future(action) for action in actions]
            for _ in range(1000):
                if self.updates.submitted - before >= len(tasks) or any(t.done() for t in tasks):
                    break
                await asyncio.sleep(0)
            failed = [t for t in tasks if t.done() and t.exception() is not None]
            if failed or self.updates.submitted - before != len(tasks):
                for task in tasks:
                    task.cancel()
                if failed:
                    raise failed[0].exception()  # type: ignore[misc]
                raise AssertionError(
                    f"send_batch: {len(tasks)} actions submitted {self.updates.submitted - before} "
                    "updates; pass person actions (alice.send(...)), each making one update"
                )
        return list(await asyncio.gather(*tasks))

    def register_callback_query(self, user: FakeUser) -> str:
        """A new callback query id the bot may answer (within CALLBACK_QUERY_TTL on ``clock``)."""
        query_id = f"{user.id}{next(self._query_ids):06d}"
        self.api.callback_queries[query_id] = QueryRecord(created=self.clock(), user_id=user.id)
        return query_id

    def callback_answer(self, query_id: str) -> CallbackAnswer | None:
        record = self.api.callback_queries.get(query_id)
        return record.answer if record else None

    def register_inline_query(self, user: FakeUser) -> str:
        query_id = f"{user.id}{next(self._query_ids):06d}"
        self.api.inline_queries[query_id] = QueryRecord(created=self.clock())
        return query_id

    def inline_answer(self, query_id: str) -> list[dict[str, Any]] | None:
        record = self.api.inline_queries.get(query_id)
        return record.answer if record else None

    # --- waiting ---

    async def wait_idle(self) -> None:
        """Wait until every update is processed and no request (other than getUpdates) is running."""

        def idle() -> bool:
            return not self.updates.pending_count and not self._in_flight

        if not await self.signal.wait_until(idle, self.update_timeout):
            raise AssertionError(
                f"not idle after {self.update_timeout:g}s: {self.updates.pending_count} pending updates, "
                f"{self._in_flight} requests running; {self.delivery_hint()}"
            )

    async def wait_quiet(self, seconds: float = 0.2) -> None:
        """Wait until idle (``wait_idle``) and no call came for ``seconds``: for a bot in another
        process, whose handling the fake can't see, a settling pause after the last expected reply."""
        while True:
            await self.wait_idle()
            seen = len(self.calls)
            await asyncio.sleep(seconds)
            if len(self.calls) == seen and not self._in_flight:
                return

    async def wait_for_bot(self, *, polls_before: int = 0, within: float | None = None) -> None:
        """Wait until the bot receives updates: it called getUpdates, or set a webhook.

        For a bot (re)started against a server that already had a poller, pass the
        ``updates.polls`` count from before the start: the new bot must make a getUpdates of its own.
        """
        timeout = self.update_timeout if within is None else within
        if not await self.signal.wait_until(
            lambda: self.updates.polls > polls_before or self.webhook.active, timeout
        ):
            raise AssertionError(f"the bot neither called getUpdates nor set a webhook within {timeout:g}s")

    async def wait_for_message(
        self,
        user: FakeUser,
        contains: str | None = None,
        *,
        since: int = 0,
        within: float | None = None,
    ) -> BotMessage:
        """Wait until the bot sent or edited a message in ``user``'s chat (one whose text contains
        ``contains``, if given) after the chat's ``since``-th event (``len(server.chat(id).events)``
        taken before the action). For a bot that confirms updates before it handled them."""
        chat = self.chat(user.id)
        timeout = self.update_timeout if within is None else within
        found: list[BotMessage] = []

        def seen() -> bool:
            for event in chat.events[since:]:
                message = chat.bot_messages.get(event.message_id)
                if event.kind == "deleted" or message is None or message.deleted:
                    continue
                if contains is None or contains in (message.text or ""):
                    found.append(message)
                    return True
            return False

        if not await self.signal.wait_until(seen, timeout):
            shown = "\n".join(f"  {m!r}" for m in chat.visible_bot_messages()[-5:]) or "  (nothing)"
            raise AssertionError(
                f"no message{f' containing {contains!r}' if contains else ''} reached "
                f"{user.first_name} ({user.id}) within {timeout:g}s; the last ones:\n{shown}"
            )
        return found[0]

    def delivery_hint(self) -> str:
        webhook = self.webhook
        if webhook.config is not None:
            return (
                f"webhook {webhook.config.url}; last delivery error: {webhook.last_error_message or 'none'}"
            )
        if not self.updates.polls:
            return "nobody called getUpdates; is the bot running against this server?"
        return "is the bot still polling, with handle_as_tasks=False, and not stuck in a handler?"

    # --- webhook ---

    async def post_raw_update(self, update: dict[str, Any], secret: str | None = _CONFIGURED_SECRET) -> int:
        """POST an update straight to the webhook (bypassing the queue); returns the HTTP status.

        ``secret`` defaults to the configured secret_token; pass a wrong one, or None for no header.
        """
        config = self.webhook.config
        assert config is not None, "the bot has not set a webhook"
        update = {"update_id": self.updates.new_id(), **update}
        return await self.webhook.post(
            update, config.secret_token if secret is _CONFIGURED_SECRET else secret
        )

    # --- inspection & fault injection ---

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call of ``method``, in order."""
        name = self._canonical_name(method)
        return [call.params for call in self.calls if call.method == name]

    def clear_calls(self) -> None:
        self.calls.clear()
        self.errors.clear()

    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        *,
        after: int = 0,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail with this error (before any other check);
        with ``after``, that many calls succeed first (e.g. the second upload of an export fails)."""
        if error_code == 429 and retry_after is None:
            retry_after = 1
        description = description or default_description(error_code, retry_after)
        self._faults[self._canonical_name(method)].append(
            _Fault(error_code, description, retry_after, times, after)
        )

    def kill_on(
        self,
        pid: int,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        text_contains: str | None = None,
        where: Callable[[Call, Any], bool] | None = None,
        hold_offset: bool = True,
    ) -> KillHook:
        """SIGKILL process ``pid`` right after the first successful call that matches (see crash.py):
        the call takes effect (the person sees it), the bot never gets the answer."""
        if pid in (os.getpid(), os.getppid()):
            raise ValueError("kill_on needs the pid of a bot in another process, not of the tests")
        hook = KillHook(
            pid,
            self._canonical_name(method) if method else None,
            chat_id,
            text_contains,
            where,
            hold_offset,
            on_change=self.signal.notify,
        )
        self.kill_hooks.append(hook)
        return hook

    @property
    def holding_offsets(self) -> bool:
        """An armed kill hook keeps getUpdates from confirming updates (see crash.py)."""
        return any(hook.armed and hook.hold_offset for hook in self.kill_hooks)

    def _fire_kill_hooks(self, call: Call, result: Any) -> None:
        chat_id = call.params.get("chat_id")
        if chat_id is None and "callback_query_id" in call.params:
            record = self.api.callback_queries.get(call.params["callback_query_id"])
            chat_id = record.user_id if record else None
        for hook in self.kill_hooks:
            if hook.matches(call, result, chat_id):
                log.info("fakebot: %s fired by %s; killing %d", hook.describe(), call.method, hook.pid)
                hook.fire(call)
                self.signal.notify()

    def file_bytes(self, file_id: str) -> bytes:
        """The content of a file the bot sent or a fake user uploaded."""
        stored = self.files.get(file_id)
        assert stored is not None, f"no file {file_id!r}"
        return stored.content

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        """The commands the bot set for this scope (default: BotCommandScopeDefault) and language."""
        return list(self.api.commands.get(commands_key(scope, language_code), []))

    def _canonical_name(self, method: str) -> str:
        spec = self.spec.method(method)
        if spec is None:
            raise ValueError(f"{method!r} is not a Bot API method")
        return spec.name

    # --- request handling ---

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").to_json(), status=401)
        try:
            raw, files = await _read_request(request)
        except ApiError as error:
            return web.json_response(error.to_json(), status=error.error_code)
        body, status = await self.execute(request.match_info["method"], raw, files)
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        stored = self.files.by_path(request.match_info["path"])
        if request.match_info["token"] != self.token or stored is None:
            return web.json_response(ApiError(404, "Not Found").to_json(), status=404)
        return web.Response(body=stored.content, content_type=stored.mime_type or "application/octet-stream")

    async def execute(
        self,
        method_name: str,
        raw: dict[str, Any],
        files: dict[str, UploadedFile],
    ) -> tuple[dict[str, Any], int]:
        """Run one Bot API call; returns the JSON body and HTTP status Telegram would answer with."""
        spec = self.spec.method(method_name)
        name = spec.name if spec else method_name
        params: dict[str, Any] = {**raw, **files}
        self.calls.append(Call(name, params))
        self.stats["calls"] += 1
        counted = name != "getUpdates"
        self._in_flight += counted
        try:
            if spec is None:
                raise ApiError(404, "Not Found")
            self._raise_injected_fault(name)
            typed = self.spec.parse_params(spec, raw, files)
            params.clear()  # record the typed parameters in place of the raw ones
            params.update(typed)
            self._check_flood_limits(name, typed)
            result = await self._run_handler(name, spec.returns, typed)
            if self.kill_hooks:
                self._fire_kill_hooks(Call(name, params), result)
        except ApiError as error:
            self.stats[str(error.error_code)] += 1
            self.errors.append(FailedCall(name, params, error.error_code, error.description))
            log.debug("fakebot %s -> %s %s", name, error.error_code, error.description)
            return error.to_json(), error.error_code
        finally:
            self._in_flight -= counted
            self.signal.notify()
        return {"ok": True, "result": result}, 200

    async def _run_handler(self, name: str, returns: tuple[str, ...], params: dict[str, Any]) -> Any:
        handler = self.api.handlers.get(name)
        if handler is None:
            if returns == ("Boolean",):
                return True
            raise ApiError(
                500, f"Internal Server Error: FakeTelegram does not implement {name} (tests/fakebot)"
            )
        result = handler(params)
        if hasattr(result, "__await__"):
            result = await result
        return result

    def _raise_injected_fault(self, name: str) -> None:
        faults = self._faults.get(name)
        if not faults:
            return
        fault = faults[0]
        if fault.skip > 0:
            fault.skip -= 1
            return
        fault.remaining -= 1
        if fault.remaining <= 0:
            faults.popleft()
        raise ApiError(fault.error_code, fault.description, retry_after=fault.retry_after)

    def _check_flood_limits(self, name: str, params: dict[str, Any]) -> None:
        limited = name.startswith("edit") or (name.startswith("send") and name != "sendChatAction")
        if not limited and name not in _FLOOD_LIMITED_EXTRA:
            return
        retry_after = self.rate_limiter.acquire(
            params.get("chat_id", params.get("inline_message_id")),
            paid=bool(params.get("allow_paid_broadcast")),
        )
        if retry_after is not None:
            raise too_many_requests(retry_after)

    async def _execute_webhook_reply(self, response: aiohttp.ClientResponse) -> None:
        """Run the method a webhook may answer with (aiogram's "reply into webhook")."""
        raw: dict[str, Any] = {}
        files: dict[str, UploadedFile] = {}
        if response.content_type == "multipart/form-data":
            reader = aiohttp.MultipartReader.from_response(response)
            while (part := await reader.next()) is not None:
                assert isinstance(part, aiohttp.BodyPartReader)
                if part.filename:
                    files[part.name or ""] = UploadedFile(part.filename, bytes(await part.read(decode=True)))
                else:
                    raw[part.name or ""] = await part.text()
        elif response.content_type == "application/json":
            body = await response.json()
            raw = body if isinstance(body, dict) else {}
        else:
            await response.read()
        if method := raw.pop("method", None):
            await self.execute(str(method), raw, files)


async def _read_request(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Parameters from the query string and a form, multipart or JSON body; files separately."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.body_exists:
        return raw, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: the JSON request body must be an object")
        raw.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
            else:
                raw[key] = value
    return raw, files


__all__ = ["Call", "FailedCall", "FakeTelegram", "PendingUpdate"]
