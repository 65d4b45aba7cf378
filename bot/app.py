"""The application factory: one place that wires settings, database, bot, dispatcher, sender and queue."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import DisabledEventIsolation
from aiogram.types import LinkPreviewOptions
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot import menus
from bot.config import Settings
from bot.db import create_engine, create_session_factory
from bot.deps import Deps
from bot.fsm_storage import CommitBoundStorage, SqlStorage
from bot.i18n import UserLocaleMiddleware, create_i18n
from bot.middlewares import (
    ChatSerializer,
    ContextMiddleware,
    CustomerWrote,
    FloodGuard,
    PrivateChatsOnly,
    RoleGateMiddleware,
    UnitOfWorkMiddleware,
    UserMiddleware,
)
from bot.outbox import HoldUntilCommit
from bot.polling import Poller
from bot.sender import RateLimiter, Sender
from bot.telegram_models import pin_response_models
from bot.webapp import server as webapp_server
from handlers import build_routers
from scheduler.jobs import registry
from scheduler.queue import JobQueue
from scheduler.runner import Scheduler
from services import users as users_service
from services.clock import Clock, SystemClock

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    bot: Bot
    dp: Dispatcher
    i18n: I18n
    clock: Clock
    sender: Sender
    queue: JobQueue
    scheduler: Scheduler
    deps: Deps | None = None
    _closers: list = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def startup(self, *, start_scheduler: bool = True) -> None:
        """Configured admins exist, menus are set, and work that fell due while we were down runs."""
        async with self.session_factory() as session, session.begin():
            await users_service.ensure_admins(session, self.settings.admin_ids, self.clock.now())
        await self._set_menus()
        if start_scheduler:
            self.scheduler.start()
        # aiogram's import leaves ~190k long-lived objects; freezing them keeps every full garbage
        # collection from walking them again (measured: /find max round trip 213 ms -> 26 ms).
        gc.collect()
        gc.freeze()

    async def _set_menus(self) -> None:
        try:
            await menus.set_defaults(self.bot, self.i18n, self.settings.default_language)
            async with self.session_factory() as session:
                staff = await users_service.staff(session)
            for user in staff:
                await menus.set_for_user(
                    self.bot, self.i18n, user, self.settings.default_language, self.settings.webapp_url
                )
        except Exception:
            # Menus are a convenience; a failure here must not keep the bot from starting.
            log.exception("could not set command menus")

    async def shutdown(self) -> None:
        await self.scheduler.stop()
        for close in reversed(self._closers):
            await close()
        await self.bot.session.close()
        await self.engine.dispose()

    def request_stop(self) -> None:
        """SIGTERM/SIGINT: stop taking updates; the ones running and the queue batch in flight finish."""
        self._stopping.set()

    async def wait_stop(self) -> None:
        await self._stopping.wait()

    @asynccontextmanager
    async def polling(self, *, long_poll_seconds: int = 30) -> AsyncIterator[None]:
        """Long polling in the background while the block runs (bot/polling.py: updates run as
        concurrent tasks and are confirmed to Telegram only once handled); leaving the block lets the
        running ones finish and confirms them."""
        stop = asyncio.Event()
        poller = Poller(
            self.dp, self.bot, timeout=long_poll_seconds, allowed_updates=self.dp.resolve_used_update_types()
        )
        task = asyncio.create_task(poller.run(stop))
        try:
            yield
        finally:
            stop.set()
            await task

    async def run_polling(self, *, polling_timeout: int = 30) -> None:
        """Long polling until `request_stop` (SIGTERM/SIGINT in main.py)."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        await self.startup()
        webapp = None
        try:
            if self.settings.webapp_url and self.deps is not None:
                # The Mini App's own server (in webhook mode it shares the webhook's: bot/webhook.py).
                webapp = await webapp_server.start(self.deps)
            async with self.polling(long_poll_seconds=polling_timeout):
                await self.wait_stop()
        finally:
            if webapp is not None:
                await webapp.cleanup()
            await self.shutdown()


def _storage(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], clock: Clock
) -> tuple[BaseStorage, BaseEventIsolation]:
    if settings.redis_url:
        # Imported only here: the redis client is an optional extra (pip install '.[redis]').
        from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage

        key_builder = DefaultKeyBuilder(with_bot_id=True, with_destiny=True)
        storage = RedisStorage.from_url(settings.redis_url, key_builder=key_builder)
        return CommitBoundStorage(storage), RedisEventIsolation(storage.redis, key_builder=key_builder)
    return SqlStorage(session_factory, clock=clock), DisabledEventIsolation()


def _call_plain_filters_inline(dp: Dispatcher) -> None:
    """aiogram runs every non-async filter (F.text, F.data == ..., a small predicate) through
    asyncio.to_thread at each check (aiogram/dispatcher/event/handler.py, see aiogram#1661), so an
    update walking the routers made ~30 worker-thread round trips before reaching its handler.
    Filters are cheap predicates that never block: they are called inline instead, unchanged."""
    for router in dp.chain_tail:
        for observer in router.observers.values():
            for handler in (observer._handler, *observer.handlers):
                for flt in handler.filters or ():
                    if not flt.awaitable:
                        flt.callback = _inline(flt.callback)
                        flt.awaitable = True


def _inline(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def call(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return call


def create_app(settings: Settings, *, clock: Clock | None = None, engine: AsyncEngine | None = None) -> App:
    clock = clock or SystemClock()
    pin_response_models()
    engine = engine or create_engine(settings.database_url)
    session_factory = create_session_factory(engine)
    i18n = create_i18n(settings.default_language)

    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    bot = Bot(
        settings.bot_token,
        session=session,
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)
        ),
    )
    paid = RateLimiter(settings.paid_broadcast_rate) if settings.paid_broadcast_rate else None
    sender = Sender(bot, session_factory, clock, RateLimiter(settings.send_rate), paid)
    deps = Deps(
        settings=settings, bot=bot, i18n=i18n, sender=sender, clock=clock, session_factory=session_factory
    )
    queue = JobQueue(
        session_factory,
        clock,
        registry,
        deps=deps,
        batch_size=settings.queue_batch_size,
        lease=timedelta(seconds=settings.queue_lease_seconds),
    )
    scheduler = Scheduler(queue, session_factory, clock, settings)

    storage, isolation = _storage(settings, session_factory, clock)
    # The update pipeline, in order (bot/middlewares.py explains each step). aiogram's own FSM
    # middleware is placed after the unit of work, so dialog state is read and saved in the update's
    # transaction; its event isolation is off because ChatSerializer already holds the chat (and,
    # with Redis, the cross-instance lock).
    dp = Dispatcher(
        storage=storage,
        events_isolation=DisabledEventIsolation(),
        disable_fsm=True,
        settings=settings,
        clock=clock,
        deps=deps,
    )
    bot.session.middleware(HoldUntilCommit())
    dp.update.outer_middleware(PrivateChatsOnly(i18n))
    dp.update.outer_middleware(
        FloodGuard(settings.flood_rate, settings.flood_burst, settings.flood_cooldown_seconds, i18n)
    )
    dp.update.outer_middleware(
        ChatSerializer(None if isinstance(isolation, DisabledEventIsolation) else isolation)
    )
    dp.update.outer_middleware(UnitOfWorkMiddleware(session_factory, i18n, clock, sender))
    dp.update.outer_middleware(dp.fsm)
    dp.update.outer_middleware(UserMiddleware(clock, settings.admin_ids))
    dp.update.outer_middleware(UserLocaleMiddleware(i18n))
    dp.update.outer_middleware(ContextMiddleware(deps))
    dp.message.outer_middleware(CustomerWrote(clock))
    gate = RoleGateMiddleware()
    for observer in (dp.message, dp.edited_message, dp.callback_query, dp.inline_query, dp.my_chat_member):
        observer.middleware(gate)
    dp.include_routers(*build_routers())
    _call_plain_filters_inline(dp)

    app = App(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        bot=bot,
        dp=dp,
        i18n=i18n,
        clock=clock,
        sender=sender,
        queue=queue,
        scheduler=scheduler,
        deps=deps,
    )
    app._closers.append(storage.close)
    app._closers.append(isolation.close)
    return app
