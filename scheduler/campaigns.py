"""The sending engine of broadcasts: `campaign.step`, one durable job at a time per campaign.

A step becomes the campaign's runner, turns rows a dead process left "sending" into "unknown" (never
resent: at most once), then for up to STEP_SECONDS takes the due queued rows in order. For each it
checks, at that moment, consent, the linked and open chat, quiet hours in the recipient's time zone (a
row in them waits for 10:00 there) and the weekly limit; claims it ("sending", committed before the
send), sends it through deps.sender (its overall and per-chat pacing, 429 holds, 403 marking the
person blocked), and commits the result with Telegram's message id. Between two sends it reads the
campaign's status, so Pause and Cancel take effect at once, and it keeps to BROADCAST_SHARE of
SEND_RATE, leaving the rest for replies and reminders. ERRORS_IN_ROW failures in a row pause the
campaign and tell the person who started it. The next step is queued in the step's own transaction:
a crash before its commit only means the same step runs again once its lease expires.

The progress message in the starter's chat is edited at most every PROGRESS_EVERY.
"""

from __future__ import annotations

import asyncio
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
STEP_SECONDS = 20.0  # and at most a third of the queue's lease, so a step never outlives its lease
BATCH = 50
BROADCAST_SHARE = 0.8
ERRORS_IN_ROW = 10
PROGRESS_EVERY = timedelta(seconds=5)
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
    interval = 1.0 / (deps.settings.send_rate * BROADCAST_SHARE)
    budget = min(STEP_SECONDS, deps.settings.queue_lease_seconds / 3)
    started = time.monotonic()
    sent = 0
    stopped = False
    next_progress = started
    errors = campaign.errors_in_row  # failures in a row so far (the row is written only when it changes)
    while not stopped and time.monotonic() - started < budget:
        async with deps.session_factory() as s:
            ids = await core.due_rows(s, campaign_id, deps.clock.now(), BATCH)
        if not ids:
            break
        for delivery_id in ids:
            if time.monotonic() - started >= budget:
                break
            async with deps.session_factory() as s:
                if not await core.still_mine(s, campaign_id, runner):
                    stopped = True
                    break
            began = time.monotonic()
            outcome = await _one(deps, campaign, delivery_id, runner, cap)
            if outcome is DeliveryStatus.sent:
                sent += 1
            if outcome in (DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.blocked):
                if outcome is DeliveryStatus.failed or errors:
                    paused, errors = await _errors(deps, campaign, outcome)
                    if paused:
                        stopped = True
                        break
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))
            if time.monotonic() >= next_progress:
                elapsed = time.monotonic() - started
                await progress(deps, campaign_id, sent / elapsed if elapsed > 0 and sent else None)
                next_progress = time.monotonic() + PROGRESS_EVERY.total_seconds()
    return await _after(ctx, campaign_id, runner, sent)


async def _one(
    deps: Deps, campaign: Campaign, delivery_id: int, runner: int, cap: int
) -> DeliveryStatus | None:
    """Check, claim, send and record one row."""
    now = deps.clock.now()
    async with deps.session_factory() as s, s.begin():
        claimed = await core.claim(s, campaign, delivery_id, runner, now, deps.settings.default_timezone, cap)
    if not isinstance(claimed, core.Outgoing):
        return claimed
    with deps.i18n.context(), deps.i18n.use_locale(claimed.language):
        text = render(core.text_for(campaign, claimed.language), claimed.values)
        markup = views.recipient_markup(campaign, claimed.client_id)
    status, message_id, error = DeliveryStatus.failed, None, None
    try:
        media = (campaign.media_kind, campaign.media_file_id) if campaign.media_file_id else None
        posted = await deps.sender.post(claimed.chat_id, text, markup, media=media)  # type: ignore[arg-type]
    except PermanentError as e:
        error = str(e)
    except Exception as e:  # network, 5xx, 429s that didn't end: failed, not retried (it may have arrived)
        log.warning("campaign %s: delivery %s failed: %r", campaign.id, delivery_id, e)
        error = repr(e)
    else:
        if posted.delivery is Delivery.sent:
            status, message_id = DeliveryStatus.sent, posted.message_id
        else:
            status, error = DeliveryStatus.blocked, posted.delivery.value
    async with deps.session_factory() as s, s.begin():
        await core.record(s, delivery_id, status, deps.clock.now(), message_id, error)
    return status


async def _errors(deps: Deps, campaign: Campaign, outcome: DeliveryStatus) -> tuple[bool, int]:
    """Count failures in a row (a delivery resets it); ERRORS_IN_ROW of them pause the campaign and
    tell its starter. Returns whether it paused, and the count."""
    async with deps.session_factory() as s, s.begin():
        row = await s.get(Campaign, campaign.id, with_for_update=True, populate_existing=True)
        if row is None:
            return True, 0
        if outcome is not DeliveryStatus.failed:
            row.errors_in_row = 0
            return False, 0
        row.errors_in_row += 1
        if row.errors_in_row < ERRORS_IN_ROW or row.status != CampaignStatus.sending:
            return False, row.errors_in_row
        row.status = CampaignStatus.paused
        last = await core.last_error(s, campaign.id)
        errors = row.errors_in_row
        starter = await s.get(User, row.created_by)
    if starter is not None:
        locale = resolve_language(starter, starter.tg_language, deps.settings.default_language)
        with deps.i18n.context(), deps.i18n.use_locale(locale):
            text = views.paused_for_errors(campaign, errors, last)
        try:
            await deps.sender.send(starter.id, text)
        except Exception as e:  # the campaign is paused all the same; its progress message says so
            log.warning("campaign %s: telling its starter about the pause failed: %r", campaign.id, e)
    await progress(deps, campaign.id, None, force=True)
    return True, errors


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
