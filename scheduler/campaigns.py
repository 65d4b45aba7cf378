"""The sending engine of broadcasts: `campaign.step`, one durable job at a time per campaign.

A step becomes the campaign's runner, turns rows a dead process left "sending" into "unknown" (never
resent: at most once), then for up to STEP_SECONDS takes the due queued rows in order, a batch at a
time (core.claim_batch). For each row it checks, at that moment, consent, the linked and open chat,
quiet hours in the recipient's time zone (a row in them waits for 10:00 there) and the weekly limit,
and claims the rest ("sending", committed before any of them is sent). The claimed rows go out through
deps.sender's broadcast lane, several at once: each takes only a slot no reply or reminder reserved,
so the campaign fills what is left of SEND_RATE and nothing else waits for it (a paid campaign has a
lane of its own at PAID_BROADCAST_RATE). 429 holds, 403 marks the person blocked; the results are
committed in batches with Telegram's message ids. The status is read every STATUS_EVERY: Pause and
Cancel stop it within that (rows claimed but not sent yet go back to the queue). ERRORS_IN_ROW failures
in a row pause the campaign and tell the person who started it. The next step is queued in the step's
own transaction: a crash before its commit only means the same step runs again once its lease expires.

The progress message in the starter's chat is edited at most every PROGRESS_EVERY by a task of its
own, so the chat's pace (one message a second) never holds up claims, sends or the commit of results;
the step's end (finished, paused, cancelled) edits it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.sender import Delivery
from bot.views import campaigns as views
from models.campaigns import Campaign, CampaignStatus, DeliveryStatus
from models.users import User
from scheduler.queue import JobContext, PermanentError
from services.campaigns import core
from services.campaigns.texts import render
from services.queue import enqueue
from services.users import resolve_language

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

STEP = core.STEP_JOB
STEP_SECONDS = 40.0  # and at most a third of the queue's lease, so a step never outlives its lease
CLAIM_AHEAD = 0.5  # seconds of sending claimed at once (rate × this rows, 1..MAX_BATCH)
MAX_BATCH = 500
IN_FLIGHT = 0.3  # seconds of sending under way at once (rate × this sends, at least 2)
FLUSH_EVERY = 0.1  # results are committed this often (and at the end of a step)
STATUS_EVERY = 0.25  # the campaign's status is read this often: Pause and Cancel act within it
ERRORS_IN_ROW = 10
PROGRESS_EVERY = timedelta(seconds=5)
PROGRESS_CHECK = 1.0  # seconds between two looks of the progress task (it edits every PROGRESS_EVERY)
PROGRESS_GRACE = 2.0  # seconds an edit under way at the end of a run may take before it is cancelled
WAIT_FOR_OTHERS = timedelta(seconds=5)


async def step(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    try:
        campaign_id = int(ctx.job.payload["campaign_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad campaign payload") from None
    runner = ctx.job.id
    async with deps.session_factory() as s, s.begin():
        campaign = await core.take_over(s, campaign_id, runner)
        if campaign is None:
            return "not sending"
        cap = await core.weekly_cap(s)
    paid = campaign.paid and deps.sender.paid_limiter is not None
    rate = deps.settings.paid_broadcast_rate if paid else deps.settings.send_rate
    run = _Run(deps, campaign, runner, cap, paid, rate)
    await run.go(min(STEP_SECONDS, deps.settings.queue_lease_seconds / 3))
    if run.errors >= ERRORS_IN_ROW:
        await _pause_for_errors(deps, campaign, runner, run.errors)
    return await _after(ctx, campaign_id, runner, run.sent)


class _Run:
    """One step's sending: a feeder claims batches of due rows (CLAIM_AHEAD of sending at a time, so
    a kill leaves at most that many "unknown"), IN_FLIGHT × rate sends wait for their slots at once,
    results are committed in batches every FLUSH_EVERY, and the status is read every STATUS_EVERY.
    Between those the feeder waits on `wake` (no polling); the progress message has a task of its own."""

    def __init__(
        self, deps: Deps, campaign: Campaign, runner: int, cap: int, paid: bool, rate: float
    ) -> None:
        self.deps, self.campaign, self.runner, self.cap, self.paid = deps, campaign, runner, cap, paid
        self.batch = max(1, min(MAX_BATCH, round(rate * CLAIM_AHEAD)))
        self.workers = max(2, round(rate * IN_FLIGHT))
        self.media = (campaign.media_kind, campaign.media_file_id) if campaign.media_file_id else None
        self.todo: asyncio.Queue[core.Outgoing | None] = asyncio.Queue()
        self.results: list[core.Result] = []
        self.unsent: list[int] = []  # claimed, never sent (stopped first): back to the queue
        self.sent = 0
        self.errors = campaign.errors_in_row  # failures in a row
        self.stored_errors = campaign.errors_in_row
        self.stopped = False
        self.busy = 0  # sends under way
        self.low = max(1, self.workers // 2)  # fewer rows waiting than this: claim more
        self.wake = asyncio.Event()  # a worker needs more rows, went idle or stopped the run
        self.ended = asyncio.Event()  # the run is over: the progress task ends

    def going(self) -> bool:
        return not self.stopped

    async def go(self, budget: float) -> None:
        deps = self.deps
        started = time.monotonic()
        workers = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        shown = asyncio.create_task(self._show_progress(started))
        next_status = next_flush = started
        try:
            while True:
                self.wake.clear()  # set from here on by a worker: nothing it signals is missed
                now = time.monotonic()
                if now >= next_status:
                    async with deps.session_factory() as s:
                        if not await core.still_mine(s, self.campaign.id, self.runner):
                            self.stopped = True
                    next_status = now + STATUS_EVERY
                if now >= next_flush:
                    await self._flush()
                    next_flush = now + FLUSH_EVERY
                if self.stopped or now - started >= budget:
                    break
                if self.todo.qsize() < self.low:
                    async with deps.session_factory() as s, s.begin():
                        claimed = await core.claim_batch(
                            s,
                            self.campaign,
                            self.runner,
                            deps.clock.now(),
                            deps.settings.default_timezone,
                            self.cap,
                            self.batch,
                        )
                    for out in claimed.outgoing:
                        self.todo.put_nowait(out)
                    if claimed.looked_at == 0 and self.todo.empty() and self._idle():
                        break  # nothing due now: the next step comes when the first waiting row is due
                    if claimed.looked_at:
                        continue
                # until a worker needs more rows, goes idle or stops the run, or the next flush or read
                await self._until(min(next_status, next_flush, started + budget))
        finally:
            for _ in workers:
                self.todo.put_nowait(None)
            await asyncio.gather(*workers, return_exceptions=True)
            while not self.todo.empty():
                if (left := self.todo.get_nowait()) is not None:
                    self.unsent.append(left.delivery_id)
            await self._flush()
            await self._end_progress(shown)

    async def _until(self, deadline: float) -> None:
        delay = deadline - time.monotonic()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), delay)

    async def _show_progress(self, started: float) -> None:
        """The progress message, off the send path: looked at every PROGRESS_CHECK, edited at most
        every PROGRESS_EVERY (progress() keeps to it and logs its failures), until the run ends."""
        while not self.ended.is_set():
            elapsed = time.monotonic() - started
            rate = self.sent / elapsed if elapsed > 1 and self.sent else None
            await progress(self.deps, self.campaign.id, rate)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.ended.wait(), PROGRESS_CHECK)

    async def _end_progress(self, shown: asyncio.Task[None]) -> None:
        """Let an edit under way finish (for up to PROGRESS_GRACE), else cancel it; the step's forced
        edit comes next (_after) with how it stands."""
        self.ended.set()
        try:
            await asyncio.wait({shown}, timeout=PROGRESS_GRACE)
        finally:  # also when the step itself is cancelled meanwhile
            if not shown.done():
                shown.cancel()
        await asyncio.wait({shown})
        if not shown.cancelled() and (e := shown.exception()) is not None:
            log.warning("campaign %s: the progress task failed: %r", self.campaign.id, e)

    def _idle(self) -> bool:
        return self.busy == 0

    async def _work(self) -> None:
        while (out := await self.todo.get()) is not None:
            if self.todo.qsize() < self.low:
                self.wake.set()
            if self.stopped:
                self.unsent.append(out.delivery_id)
                continue
            self.busy += 1
            try:
                result = await self._send(out)
            finally:
                self.busy -= 1
                if self.busy == 0:
                    self.wake.set()
            if result is None:
                self.unsent.append(out.delivery_id)
                continue
            self.results.append(result)
            if result.status is DeliveryStatus.sent:
                self.sent += 1
            if result.status is DeliveryStatus.failed:
                self.errors += 1
                if self.errors >= ERRORS_IN_ROW:
                    self.stopped = True
                    self.wake.set()
            elif result.status in (DeliveryStatus.sent, DeliveryStatus.blocked):
                self.errors = 0

    async def _send(self, out: core.Outgoing) -> core.Result | None:
        """Send one claimed row; None when it was withheld (the campaign stopped while it waited)."""
        deps, campaign = self.deps, self.campaign
        with deps.i18n.context(), deps.i18n.use_locale(out.language):
            text = render(core.text_for(campaign, out.language), out.values)
            markup = views.recipient_markup(campaign, out.client_id)
        try:
            posted = await deps.sender.post(
                out.chat_id,
                text,
                markup,
                media=self.media,  # type: ignore[arg-type]
                broadcast=True,
                paid=self.paid,
                go=self.going,
            )
        except PermanentError as e:
            return core.Result(out.delivery_id, DeliveryStatus.failed, error=str(e))
        except (
            Exception
        ) as e:  # network, 5xx, 429s that didn't end: failed, not retried (it may have arrived)
            log.warning("campaign %s: delivery %s failed: %r", campaign.id, out.delivery_id, e)
            return core.Result(out.delivery_id, DeliveryStatus.failed, error=repr(e))
        if posted.delivery is Delivery.withheld:
            return None
        if posted.delivery is Delivery.sent:
            return core.Result(out.delivery_id, DeliveryStatus.sent, posted.message_id)
        return core.Result(out.delivery_id, DeliveryStatus.blocked, error=posted.delivery.value)

    async def _flush(self) -> None:
        """Commit the results so far (and rows to give back, and the failures-in-a-row count)."""
        results, self.results = self.results, []
        unsent, self.unsent = self.unsent, []
        errors = self.errors
        if not results and not unsent and errors == self.stored_errors:
            return
        async with self.deps.session_factory() as s, s.begin():
            await core.record_many(s, results, self.deps.clock.now())
            await core.release(s, unsent)
            if errors != self.stored_errors:
                await core.set_errors(s, self.campaign.id, errors)
        self.stored_errors = errors


async def _pause_for_errors(deps: Deps, campaign: Campaign, runner: int, errors: int) -> None:
    """ERRORS_IN_ROW failures in a row pause the campaign and tell its starter."""
    async with deps.session_factory() as s, s.begin():
        if not await core.pause_by_runner(s, campaign.id, runner):
            return
        last = await core.last_error(s, campaign.id)
        starter = await s.get(User, campaign.created_by)
    if starter is not None:
        locale = resolve_language(starter, starter.tg_language, deps.settings.default_language)
        with deps.i18n.context(), deps.i18n.use_locale(locale):
            text = views.paused_for_errors(campaign, errors, last)
        try:
            await deps.sender.send(starter.id, text)
        except Exception as e:  # the campaign is paused all the same; its progress message says so
            log.warning("campaign %s: telling its starter about the pause failed: %r", campaign.id, e)
    await progress(deps, campaign.id, None, force=True)


async def _after(ctx: JobContext, campaign_id: int, runner: int, sent: int) -> str:
    """Queue the next step (due now, or when the first waiting row is due), or finish the campaign."""
    deps: Deps = ctx.deps
    now = deps.clock.now()
    async with deps.session_factory() as s, s.begin():
        if not await core.still_mine(s, campaign_id, runner):
            outcome = f"stopped; sent {sent}"
            due = None
        elif (due := await core.next_due(s, campaign_id)) is not None:
            outcome = f"sent {sent}; more"
        elif await core.sending_elsewhere(s, campaign_id):  # an older step records its last send
            outcome, due = f"sent {sent}; waits", now + WAIT_FOR_OTHERS
        else:
            campaign = await s.get(Campaign, campaign_id, with_for_update=True)
            assert campaign is not None
            campaign.status, campaign.finished_at = CampaignStatus.done, now
            outcome = f"done; sent {sent}"
    await progress(deps, campaign_id, None, force=True)  # how it stands after this step
    if due is not None:
        key = f"{STEP}:{campaign_id}:j{ctx.job.id}"
        await enqueue(ctx.session, STEP, {"campaign_id": campaign_id}, max(due, now), key=key)
    return outcome[:32]


async def progress(deps: Deps, campaign_id: int, rate: float | None, *, force: bool = False) -> None:
    """Edit the progress message in the starter's chat (a new one the first time), at most every
    PROGRESS_EVERY unless `force` (a change of status). A failure to show it never stops the sending."""
    try:
        await _progress(deps, campaign_id, rate, force)
    except Exception as e:
        log.warning("campaign %s: the progress message failed: %r", campaign_id, e)


async def _progress(deps: Deps, campaign_id: int, rate: float | None, force: bool) -> None:
    now = deps.clock.now()
    async with deps.session_factory() as s, s.begin():
        campaign = await s.get(Campaign, campaign_id, with_for_update=True)
        if campaign is None or campaign.progress_chat_id is None:
            return
        recent = campaign.progress_at is not None and now - campaign.progress_at < PROGRESS_EVERY
        if not force and recent and campaign.progress_message_id is not None:
            return
        campaign.progress_at = now
        counts = await core.counts(s, campaign_id)
        starter = await s.get(User, campaign.progress_chat_id)
        chat_id, message_id = campaign.progress_chat_id, campaign.progress_message_id
        locale = resolve_language(
            starter, starter.tg_language if starter else None, deps.settings.default_language
        )
        with deps.i18n.context(), deps.i18n.use_locale(locale):
            text = views.progress_text(campaign, counts, rate, views.wall_text(campaign, locale))
            markup = views.progress_keyboard(campaign)
    if message_id is not None:
        await deps.sender.edit(chat_id, message_id, text, markup)
        return
    posted = await deps.sender.post(chat_id, text, markup)
    if posted.message_id is not None:
        async with deps.session_factory() as s, s.begin():
            campaign = await s.get(Campaign, campaign_id)
            if campaign is not None and campaign.progress_message_id is None:
                campaign.progress_message_id = posted.message_id
