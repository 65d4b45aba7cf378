"""Drip sequences' sends: `sequence.send`, one durable job per enrolment and due step.

The job checks, at that moment, the enrolment (still active), the client (linked, reachable, marketing
consent), quiet hours in the recipient's time zone (the step waits for 10:00 there) and the weekly
limit of marketing messages shared with broadcasts (the step waits CAP_RETRY, counted), then claims the
step's delivery row ("sending", committed before the send), sends it (with its photo or document, as a
broadcast is) through deps.sender's broadcast lane with its link buttons, the tracked button when
chosen and the one-tap Unsubscribe, and commits the result with the
next step's job. A crash between the claim and the result leaves the row "sending": the next run (or
the planner's safety net) makes it "unknown" and never sends it again.

The planner (plan) runs the segment trigger's check and the safety net every few minutes."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.sender import Delivery
from bot.views import sequences as views
from models.sequences import StepStatus
from scheduler.queue import JobContext, PermanentError
from services.campaigns.texts import render
from services.segments import query
from services.sequences import build, hooks, sending

if TYPE_CHECKING:
    from bot.deps import Deps

log = logging.getLogger(__name__)

SEND = hooks.SEND_JOB


async def send_step(ctx: JobContext) -> str:
    deps: Deps = ctx.deps
    try:
        enrolment_id = int(ctx.job.payload["enrolment_id"])
    except (KeyError, TypeError, ValueError):
        raise PermanentError("bad sequence payload") from None
    async with deps.session_factory() as s, s.begin():
        prepared = await sending.prepare(
            s, enrolment_id, ctx.job.id, deps.clock.now(), deps.settings.default_timezone
        )
    out = prepared.outgoing
    if out is None:
        return prepared.outcome[:32]
    with deps.i18n.context(), deps.i18n.use_locale(out.language):
        text = render(out.text, out.values)
        markup = views.recipient_markup(out.delivery_id, out.client_id, out.interested, out.buttons)
    status, message_id, error = StepStatus.failed, None, None
    try:
        posted = await deps.sender.post(out.chat_id, text, markup, media=out.media, broadcast=True)
    except PermanentError as e:
        error = str(e)
    except Exception as e:  # network, 5xx, 429s that didn't end: failed, not retried (it may have arrived)
        log.warning("sequence enrolment %s: delivery %s failed: %r", enrolment_id, out.delivery_id, e)
        error = repr(e)
    else:
        if posted.delivery is Delivery.sent:
            status, message_id = StepStatus.sent, posted.message_id
        else:
            status, error = StepStatus.blocked, posted.delivery.value
    async with deps.session_factory() as s, s.begin():
        outcome = await sending.record(s, out, status, deps.clock.now(), message_id=message_id, error=error)
    return outcome[:32]


async def plan(session: AsyncSession, now: datetime, currency: str, default_language: str) -> int:
    """The segment trigger's periodic check, then the safety net; how many enrolments and jobs it made."""
    basis = await query.basis(session, now, currency, default_language)
    started = await build.check_segments(session, now, basis)
    return started + await sending.revive(session, now)
