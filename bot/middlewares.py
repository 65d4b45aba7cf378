"""The update pipeline. An update walks one way, through these outer middlewares in this order:

1. `PrivateChatsOnly` — the bot does CRM work only in a person's private chat with it. In groups,
   supergroups and channels it does nothing, except saying once, when it is added, to write to it in
   private. Client data never leaves into a shared chat.
2. `FloodGuard` — a person sending faster than anyone types is told once to slow down and then
   ignored for a cool-down, so one person's flood costs everyone else nothing.
3. `ChatSerializer` — one update at a time per chat, in arrival order (different chats run at
   once); with Redis also across instances.
4. `UnitOfWorkMiddleware` — one session and one transaction per update. Everything the handler says
   is held (bot/outbox.py) and leaves only after the commit; a failed handler or a failed commit
   sends the apology with a reference instead, never the success text. An update that was already
   handled (delivered again after a crash) is recognised at commit and skipped.
5. aiogram's FSM middleware (dialog state, saved in the same transaction), then `UserMiddleware`
   (the sender and their role), the locale, and `ContextMiddleware` (the handler's typed `ctx`).

The role gate is an inner middleware: it reads the `role` flag every handler declares and answers
"not allowed" when the sender's role doesn't fit, before the handler runs.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.types import CallbackQuery, Chat, InlineQuery, Message, TelegramObject, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Ctx
from bot.deps import Deps
from bot.fsm_storage import CURRENT_SESSION
from bot.outbox import OUTBOX, Outbox, ReplyPacer
from models.sequences import StopReason
from models.updates import ProcessedUpdate
from models.users import Role, User
from services import users as users_service
from services.clock import Clock
from services.sequences import hooks as drips
from services.users import resolve_language

log = logging.getLogger("bot.errors")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _language(data: dict[str, Any], i18n: I18n) -> str:
    """The language of an answer given before (or without) the user middleware's choice."""
    if locale := data.get("locale"):
        return str(locale)
    tg_user = data.get("event_from_user")
    return resolve_language(data.get("user"), getattr(tg_user, "language_code", None), i18n.default_locale)


class PrivateChatsOnly(BaseMiddleware):
    def __init__(self, i18n: I18n) -> None:
        self.i18n = i18n

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        if chat is None or chat.type == "private":
            return await handler(event, data)
        update: Update = event  # type: ignore[assignment]
        bot: Bot = data["bot"]
        with self.i18n.context(), self.i18n.use_locale(_language(data, self.i18n)):
            text = _("I work only in a private chat. Write to me directly: @{username}").format(
                username=(await bot.me()).username
            )
            try:
                if update.callback_query is not None:
                    await update.callback_query.answer(text[:200], show_alert=True)
                elif self._bot_was_added(update, bot):
                    await bot.send_message(chat.id, text)
            except TelegramAPIError:
                log.info("could not tell chat %s to use a private chat", chat.id)
        return None

    @staticmethod
    def _bot_was_added(update: Update, bot: Bot) -> bool:
        change = update.my_chat_member
        if change is None or change.new_chat_member.user.id != bot.id:
            return False
        return change.old_chat_member.status in ("left", "kicked") and change.new_chat_member.status in (
            "member",
            "administrator",
        )


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float
    quiet_until: float = 0.0
    told_at: float = float("-inf")


class FloodGuard(BaseMiddleware):
    """A token bucket per person: `rate` updates a second sustained, `burst` at once. Past it the
    person is told (once in `TELL_EVERY` seconds) and their updates are dropped for `cooldown`
    seconds, before they cost a database session, a lock or a reply; the bucket then refills from
    empty, so someone who keeps flooding stays quiet until they stop."""

    MAX_TRACKED = 50_000
    TELL_EVERY = 600.0

    def __init__(
        self,
        rate: float,
        burst: int,
        cooldown: float,
        i18n: I18n,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate, self.burst, self.cooldown = rate, float(burst), cooldown
        self.i18n = i18n
        self.monotonic = monotonic
        self._buckets: dict[int, _Bucket] = {}

    def allow(self, user_id: int) -> bool | None:
        """True: go on. False: over the limit just now (tell them). None: drop it silently."""
        now = self.monotonic()
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= self.MAX_TRACKED:
                self._forget_idle(now)
            bucket = self._buckets[user_id] = _Bucket(self.burst, now)
        if now < bucket.quiet_until:
            return None
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True
        bucket.quiet_until = bucket.updated = now + self.cooldown
        bucket.tokens = 0.0
        if now - bucket.told_at < self.TELL_EVERY:
            return None
        bucket.told_at = now
        return False

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {
            uid: b for uid, b in self._buckets.items() if b.quiet_until > now or now - b.updated < full_after
        }

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user = data.get("event_from_user")
        if tg_user is None:
            return await handler(event, data)
        verdict = self.allow(tg_user.id)
        if verdict:
            return await handler(event, data)
        if verdict is False:
            log.warning("flood from %s: ignored while it goes on", tg_user.id)
            await self._tell(data, tg_user.id)
        return None

    async def _tell(self, data: dict[str, Any], user_id: int) -> None:
        chat: Chat | None = data.get("event_chat")
        with self.i18n.context(), self.i18n.use_locale(_language(data, self.i18n)):
            text = _("⏳ Too many messages at once. I'm pausing: write again in {seconds} seconds.").format(
                seconds=round(self.cooldown)
            )
        try:
            await data["bot"].send_message(chat.id if chat else user_id, text)
        except TelegramAPIError:
            log.info("could not tell %s to slow down", user_id)


class ChatSerializer(BaseMiddleware):
    """One update at a time per chat, in arrival order. asyncio's lock wakes its waiters first come,
    first served, and the dispatcher starts one task per update in the order Telegram gave them, so
    two messages typed quickly are two steps in order. With Redis, aiogram's event isolation lock is
    taken inside as well, so two instances never handle one chat at once."""

    def __init__(self, isolation: BaseEventIsolation | None = None) -> None:
        self.isolation = isolation
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat: Chat | None = data.get("event_chat")
        tg_user = data.get("event_from_user")
        key = chat.id if chat is not None else tg_user.id if tg_user is not None else None
        if key is None:
            return await handler(event, data)
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                if self.isolation is None:
                    return await handler(event, data)
                bot: Bot = data["bot"]
                user_id = tg_user.id if tg_user is not None else key
                async with self.isolation.lock(StorageKey(bot_id=bot.id, chat_id=key, user_id=user_id)):
                    return await handler(event, data)
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class UnitOfWorkMiddleware(BaseMiddleware):
    """One session and one transaction per update; what the person is told leaves after the commit."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        i18n: I18n,
        clock: Clock,
        pacer: ReplyPacer,
    ) -> None:
        self.session_factory = session_factory
        self.i18n = i18n
        self.clock = clock
        self.pacer = pacer

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        update: Update = event  # type: ignore[assignment]
        box = Outbox(callback_query_id=update.callback_query.id if update.callback_query else None)
        token = OUTBOX.set(box)
        try:
            result = await self._in_transaction(handler, update, data, box)
        except BaseException:
            box.discard()  # cancelled mid-update: nothing was committed, so nothing is said
            raise
        finally:
            OUTBOX.reset(token)
        await box.flush(self.pacer, data.get("bot"))
        return result

    async def _in_transaction(
        self, handler: Handler, update: Update, data: dict[str, Any], box: Outbox
    ) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            session_token = CURRENT_SESSION.set(session)  # dialog state is saved in this same transaction
            try:
                try:
                    result = await handler(update, data)
                except Exception:
                    await session.rollback()
                    await self._apologise(update, data, box, "while handling")
                    return None
                if update.update_id:
                    session.add(ProcessedUpdate(update_id=update.update_id, processed_at=self.clock.now()))
                try:
                    await session.commit()
                except IntegrityError:
                    await session.rollback()
                    if await self._seen_before(session, update.update_id):
                        log.info("update %s was already handled: skipped", update.update_id)
                        box.discard()
                        box.callback_query_id = None  # it was answered the first time
                        return None
                    await self._apologise(update, data, box, "while committing")
                    return None
                except Exception:
                    await _rollback(session)
                    await self._apologise(update, data, box, "while committing")
                    return None
            finally:
                CURRENT_SESSION.reset(session_token)
        await box.run_after_commit()
        return result

    @staticmethod
    async def _seen_before(session: AsyncSession, update_id: int) -> bool:
        found = await session.scalar(
            select(ProcessedUpdate.update_id).where(ProcessedUpdate.update_id == update_id)
        )
        await session.rollback()
        return found is not None

    async def _apologise(self, update: Update, data: dict[str, Any], box: Outbox, where: str) -> None:
        """Log with a reference code; the person gets only the apology with that code (held in the
        outbox like every reply, so a callback query is still answered exactly once)."""
        ref = secrets.token_hex(4).upper()
        log.exception("error %s %s update %s", ref, where, update.update_id)
        box.discard()
        with self.i18n.context(), self.i18n.use_locale(_language(data, self.i18n)):
            text = _("Sorry, something went wrong on our side. Please try again. Reference: {ref}").format(
                ref=ref
            )
        # These calls are only held here; the outbox sends them (and deals with refusals).
        if update.callback_query is not None:
            await update.callback_query.answer(text[:200], show_alert=True)
        elif update.message is not None:
            await update.message.answer(text)
        elif update.inline_query is not None:
            await update.inline_query.answer([], cache_time=0, is_personal=True)


async def _rollback(session: AsyncSession) -> None:
    """Roll back after a failed commit; a commit that failed after it was done has nothing to undo."""
    try:
        await session.rollback()
    except Exception:
        log.warning("rollback after a failed commit failed too", exc_info=True)


class UserMiddleware(BaseMiddleware):
    """Loads (or creates) the sender, refreshes their profile, and puts `user` and `role` in data."""

    def __init__(self, clock: Clock, admin_ids: tuple[int, ...]) -> None:
        self.clock = clock
        self.admin_ids = admin_ids

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return None  # channel posts and bots: nothing for a CRM to do
        session: AsyncSession = data["session"]
        profile = users_service.TelegramProfile(
            id=tg_user.id,
            first_name=tg_user.first_name or "",
            last_name=tg_user.last_name,
            username=tg_user.username,
            language_code=tg_user.language_code,
        )
        user = await users_service.touch(session, profile, self.clock.now(), self.admin_ids)
        data["user"] = user
        data["role"] = user.effective_role
        return await handler(event, data)


class ContextMiddleware(BaseMiddleware):
    """Builds the handler's typed context (bot/context.py) once the session, user and locale are known."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        i18n = data.get("i18n")
        locale = i18n.current_locale if i18n is not None else self.deps.settings.default_language
        data["locale"] = locale
        if "state" not in data or "user" not in data:
            return await handler(event, data)
        data["ctx"] = Ctx(
            session=data["session"], user=data["user"], state=data["state"], deps=self.deps, locale=locale
        )
        return await handler(event, data)


class CustomerWrote(BaseMiddleware):
    """A customer's own message to the bot (not a command) stops their drip sequences: they answered,
    a person takes it from here. One UPDATE, for customers only."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: User | None = data.get("user")
        if (
            isinstance(event, Message)
            and user is not None
            and user.effective_role == Role.customer
            and not (event.text or "").startswith("/")
        ):
            await drips.stop_for_account(data["session"], user.id, StopReason.replied, self.clock.now())
        return await handler(event, data)


ROLE_LEVEL = {"any": 0, "staff": 1, "admin": 2}
EFFECTIVE_LEVEL = {Role.customer: 0, Role.manager: 1, Role.admin: 2}


class RoleGateMiddleware(BaseMiddleware):
    """Every handler declares flags={"role": "any" | "staff" | "admin"}; a missing flag denies."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        required = get_flag(data, "role")
        user: User | None = data.get("user")
        if required in ROLE_LEVEL and user is not None:
            if EFFECTIVE_LEVEL[user.effective_role] >= ROLE_LEVEL[required]:
                return await handler(event, data)
        elif required is None:
            log.error("handler %s has no role flag; denied", data.get("handler"))
        await self._deny(event)
        return None

    @staticmethod
    async def _deny(event: TelegramObject) -> None:
        text = _("⛔ Not allowed. This is only for the company's staff.")
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        elif isinstance(event, InlineQuery):
            await event.answer([], cache_time=0, is_personal=True)
