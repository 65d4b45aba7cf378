"""Timing: a queue tick claims and runs due jobs every QUEUE_TICK_SECONDS, and recurring work is
planned at start and then every PLAN_EVERY_MINUTES.

The tick is one task that runs, then sleeps what is left of the interval: a tick that outlasts the
interval (a long batch of sends) is simply followed by the next one at once, never overlapped by it,
so there is nothing to skip and nothing to warn about. Planning is a task of its own too, and a stop
lets a planning run in progress finish its transactions instead of cancelling it midway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from scheduler import sequences as sequence_jobs
from scheduler.followups import plan_followup_digests
from scheduler.imports import plan_cleanup as plan_imports_cleanup
from scheduler.queue import JobQueue
from scheduler.recurring import (
    plan_admin_digests,
    plan_loyalty_daily,
    plan_reports_rollup,
    plan_rfm_nightly,
    plan_stale_deal_nudges,
    plan_updates_cleanup,
)
from services.campaigns import core as campaigns
from services.clock import Clock

log = logging.getLogger(__name__)

PLAN_EVERY_MINUTES = 10
STOP_GRACE_SECONDS = 30


class Scheduler:
    def __init__(
        self,
        queue: JobQueue,
        session_factory: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
    ) -> None:
        self.queue = queue
        self.session_factory = session_factory
        self.clock = clock
        self.settings = settings
        self._ticker: asyncio.Task[None] | None = None
        self._planner: asyncio.Task[None] | None = None
        self._stop_planning = asyncio.Event()

    async def tick(self) -> None:
        try:
            await self.queue.run_due()  # keeps claiming batches while they come back full
        except Exception:
            log.exception("queue tick failed; will try again at the next tick")

    async def tick_forever(self) -> None:
        """Tick, then wait out the rest of the interval; the first tick runs at once, so whatever fell
        due while the bot was down runs right at start."""
        loop = asyncio.get_running_loop()
        interval = self.settings.queue_tick_seconds
        while True:
            started = loop.time()
            await self.tick()
            await asyncio.sleep(max(0.0, interval - (loop.time() - started)))

    def planners(self) -> list[tuple[str, Callable[[AsyncSession], Awaitable[object]]]]:
        """Each recurring plan with what its failure is logged as; each runs in its own transaction."""
        s, now = self.settings, self.clock.now()
        tz = s.default_timezone
        return [
            ("recurring work", lambda db: plan_admin_digests(db, now, s.digest_hour, tz)),
            ("stale-deal nudges", lambda db: plan_stale_deal_nudges(db, now, s.deal_stale_days, tz)),
            ("the bonus program's daily run", lambda db: plan_loyalty_daily(db, now, tz)),
            ("the clean-up of handled updates", lambda db: plan_updates_cleanup(db, now, tz)),
            ("the nightly RFM run", lambda db: plan_rfm_nightly(db, now, tz)),
            ("the reports' rollup", lambda db: plan_reports_rollup(db, now, tz)),
            ("the follow-up digests", lambda db: plan_followup_digests(db, now, s.digest_hour, tz)),
            ("broadcasts left without a step", lambda db: campaigns.revive(db, now)),
            (
                "the drip sequences' segment check and safety net",
                lambda db: sequence_jobs.plan(db, now, s.default_currency, s.default_language),
            ),
            ("the clean-up of abandoned imports", lambda db: plan_imports_cleanup(db, now, tz)),
        ]

    async def plan(self) -> None:
        """Plan every recurring job; one failing plan doesn't keep the others from being planned."""
        for what, planner in self.planners():
            try:
                async with self.session_factory() as session, session.begin():
                    await planner(session)
            except Exception:
                log.exception("planning %s failed", what)

    async def plan_forever(self) -> None:
        """Plan at once (what fell due while the bot was down), then every PLAN_EVERY_MINUTES until
        the stop; a stop waits between two runs, never inside one."""
        while not self._stop_planning.is_set():
            await self.plan()
            try:
                await asyncio.wait_for(self._stop_planning.wait(), PLAN_EVERY_MINUTES * 60)
            except TimeoutError:
                pass

    def start(self) -> None:
        self._ticker = asyncio.create_task(self.tick_forever(), name="queue-tick")
        self._stop_planning.clear()
        self._planner = asyncio.create_task(self.plan_forever(), name="plan")

    async def stop(self) -> None:
        if self._planner is not None:
            # A stop while planning (SIGTERM right after the start) lets that run finish: cancelled,
            # it would die in the middle of a transaction with an error in the log.
            planner, self._planner = self._planner, None
            self._stop_planning.set()
            try:
                async with asyncio.timeout(STOP_GRACE_SECONDS):
                    await asyncio.gather(planner, return_exceptions=True)
            except TimeoutError:
                log.warning("planning still running after %s s; stopped", STOP_GRACE_SECONDS)
        if self._ticker is None:
            return
        # Stopping the tick lets the jobs in flight finish and gives claimed-but-unstarted rows back, so
        # nothing is sent twice or left claimed; wait for that.
        ticker, self._ticker = self._ticker, None
        ticker.cancel()
        try:
            async with asyncio.timeout(STOP_GRACE_SECONDS):
                await asyncio.gather(ticker, return_exceptions=True)
                await self.queue.wait_idle()
        except TimeoutError:
            log.warning("queue batch still running after %s s; its leases will expire", STOP_GRACE_SECONDS)
