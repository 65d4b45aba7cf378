"""A drip step from due to delivered: the checks at the moment it would leave (the enrolment still
active, the client linked and reachable, marketing consent, quiet hours in the recipient's time zone,
the weekly limit shared with broadcasts), the claim ("sending", committed before the send), the result,
and the move to the next step. A row found "sending" by a later run (the process died during the send)
becomes "unknown": it may have arrived, so it is never sent again and the drip goes on.

The planner's safety net (revive): rows left "sending" by a dead job become "unknown", and a due
enrolment with no job queued gets one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.consent import Purpose
from models.jobs import Job, JobStatus
from models.sequences import (
    Enrolment,
    EnrolmentStatus,
    Sequence,
    SequenceDelivery,
    SequenceStep,
    StepStatus,
    StopReason,
)
from models.users import User
from services import consent
from services.campaigns import core as campaigns
from services.campaigns.texts import Values
from services.errors import NotFound
from services.queue import enqueue
from services.sequences import hooks
from services.users import SUPPORTED_LANGUAGES, language_of

CAP_RETRY = timedelta(hours=6)  # a step over the weekly limit looks again this much later
DONE = (StepStatus.sent, StepStatus.unknown, StepStatus.failed, StepStatus.blocked)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A step claimed for sending (committed as "sending"): to whom, what, in which language."""

    delivery_id: int
    enrolment_id: int
    client_id: int
    chat_id: int
    language: str
    text: str  # the template in that language
    interested: bool
    values: Values
    media: tuple[str, str] | None = None  # ("photo" | "document", file_id)
    buttons: tuple[tuple[str, str], ...] = ()  # the URL buttons: (label, url)


@dataclass(frozen=True, slots=True)
class Prepared:
    outcome: str
    outgoing: Outgoing | None = None


async def _advance(
    session: AsyncSession, enrolment: Enrolment, step: SequenceStep | None, now: datetime
) -> str:
    """After a step (sent, or settled without a send): the next one is due its delay from now, or the
    drip is done."""
    if step is not None:
        enrolment.last_step_id = step.id
    nxt = await session.scalar(
        select(SequenceStep).where(
            SequenceStep.sequence_id == enrolment.sequence_id, SequenceStep.position == enrolment.position + 1
        )
    )
    if nxt is None:
        enrolment.status, enrolment.ended_at, enrolment.next_at = EnrolmentStatus.done, now, None
        await session.flush()
        return "done"
    enrolment.position = nxt.position
    enrolment.next_at = now + timedelta(minutes=nxt.delay_minutes)
    await session.flush()
    await hooks.schedule(session, enrolment)
    return "next"


async def _stop(session: AsyncSession, enrolment: Enrolment, reason: StopReason, now: datetime) -> str:
    enrolment.status, enrolment.stop_reason = EnrolmentStatus.stopped, reason.value
    enrolment.ended_at, enrolment.next_at = now, None
    await session.flush()
    return f"stopped: {reason.value}"


async def _live(session: AsyncSession, job_id: int | None) -> bool:
    """Whether that job is still pending or running (so its claim isn't a dead process's)."""
    if job_id is None:
        return False
    status = await session.scalar(select(Job.status).where(Job.id == job_id))
    return status in (JobStatus.pending, JobStatus.running)


async def prepare(
    session: AsyncSession, enrolment_id: int, runner: int, now: datetime, default_tz: str
) -> Prepared:
    """Decide what the enrolment's due step does now; a claimed send comes back as `outgoing`."""
    enrolment = await session.get(Enrolment, enrolment_id, with_for_update=True)
    if enrolment is None or enrolment.status != EnrolmentStatus.active:
        return Prepared("not active")
    if enrolment.next_at is None or enrolment.next_at > now:
        await hooks.schedule(session, enrolment)  # an older job: the due one is (or is now) queued
        return Prepared("not due")
    sequence = await session.get(Sequence, enrolment.sequence_id)
    if sequence is None or not sequence.active:
        return Prepared(await _stop(session, enrolment, StopReason.deactivated, now))
    step = await session.scalar(
        select(SequenceStep).where(
            SequenceStep.sequence_id == enrolment.sequence_id, SequenceStep.position == enrolment.position
        )
    )
    if step is None:
        return Prepared(await _advance(session, enrolment, None, now))
    delivery = await session.scalar(
        select(SequenceDelivery).where(
            SequenceDelivery.enrolment_id == enrolment.id, SequenceDelivery.step_id == step.id
        )
    )
    if delivery is not None and delivery.status == StepStatus.sending:
        if delivery.claimed_by != runner and await _live(session, delivery.claimed_by):
            return Prepared("sending elsewhere")  # another job is sending it now: it records the result
        # claimed by a run that died before its result was committed: maybe delivered, never resent
        delivery.status, delivery.at = StepStatus.unknown, now
    if delivery is not None and delivery.status in DONE:
        return Prepared(await _advance(session, enrolment, step, now))

    client = await session.get(Client, enrolment.client_id)
    if client is None or client.merged_into_id is not None or client.telegram_id is None:
        return Prepared(await _stop(session, enrolment, StopReason.blocked, now))
    user = await session.get(User, client.telegram_id)
    if not await consent.allowed(session, client.id, Purpose.marketing):
        return Prepared(await _stop(session, enrolment, StopReason.consent, now))
    if user is not None and (user.blocked_at is not None or user.unreachable_at is not None):
        return Prepared(await _stop(session, enrolment, StopReason.blocked, now))
    zone = client.timezone or (user.timezone if user is not None else None)
    if (wait := campaigns.wait_until(now, zone, default_tz)) is not None:
        enrolment.next_at = wait
        await session.flush()
        await hooks.schedule(session, enrolment)
        return Prepared("quiet hours")
    if await campaigns.sent_lately(session, client.id, now) >= await campaigns.weekly_cap(session):
        if delivery is None:
            delivery = SequenceDelivery(
                enrolment_id=enrolment.id,
                step_id=step.id,
                client_id=client.id,
                status=StepStatus.capped,
                capped=0,
            )
            session.add(delivery)
        delivery.status, delivery.capped, delivery.at = StepStatus.capped, (delivery.capped or 0) + 1, now
        enrolment.next_at = now + CAP_RETRY
        await session.flush()
        await hooks.schedule(session, enrolment)
        return Prepared("capped")
    if delivery is None:
        delivery = SequenceDelivery(enrolment_id=enrolment.id, step_id=step.id, client_id=client.id, capped=0)
        session.add(delivery)
    delivery.status, delivery.claimed_by, delivery.at = StepStatus.sending, runner, now
    await session.flush()
    if user is not None:
        language = language_of(user.language, user.tg_language, sequence.default_language)
    else:
        language = client.language if client.language in SUPPORTED_LANGUAGES else sequence.default_language
    text = step.texts.get(language) or step.texts[sequence.default_language]
    values = await campaigns.values_of(session, client)
    media = (step.media_kind, step.media_file_id) if step.media_kind and step.media_file_id else None
    return Prepared(
        "claimed",
        Outgoing(
            delivery.id,
            enrolment.id,
            client.id,
            client.telegram_id,
            language,
            text,
            step.interested,
            values,
            media=media,
            buttons=tuple((str(label), str(url)) for label, url in step.buttons or []),
        ),
    )


async def record(
    session: AsyncSession,
    out: Outgoing,
    status: StepStatus,
    now: datetime,
    *,
    message_id: int | None = None,
    error: str | None = None,
) -> str:
    """The send's result, and the drip moves on (a 403 stops it)."""
    done = await session.execute(
        update(SequenceDelivery)
        .where(SequenceDelivery.id == out.delivery_id, SequenceDelivery.status == StepStatus.sending)
        .values(status=status, at=now, tg_message_id=message_id, error=error[:200] if error else None)
        .execution_options(synchronize_session=False)
    )
    enrolment = await session.get(Enrolment, out.enrolment_id, with_for_update=True)
    if enrolment is None or done.rowcount != 1:
        return status.value
    step = await session.scalar(
        select(SequenceStep)
        .join(SequenceDelivery, SequenceDelivery.step_id == SequenceStep.id)
        .where(SequenceDelivery.id == out.delivery_id)
    )
    if status == StepStatus.blocked:
        enrolment.last_step_id = step.id if step is not None else enrolment.last_step_id
        if enrolment.status == EnrolmentStatus.active:
            await _stop(session, enrolment, StopReason.blocked, now)
        return status.value
    if enrolment.status != EnrolmentStatus.active:  # stopped while it was being sent
        enrolment.last_step_id = step.id if step is not None else enrolment.last_step_id
        return status.value
    return f"{status.value}; {await _advance(session, enrolment, step, now)}"


async def revive(session: AsyncSession, now: datetime, limit: int = 500) -> int:
    """The planner's safety net: rows left "sending" by a job no longer pending or running become
    "unknown" (never resent); a due enrolment with no job queued or running gets one. Returns how many
    jobs were queued."""
    live = select(Job.id).where(
        Job.id == SequenceDelivery.claimed_by, Job.status.in_((JobStatus.pending, JobStatus.running))
    )
    await session.execute(
        update(SequenceDelivery)
        .where(SequenceDelivery.status == StepStatus.sending, ~live.exists())
        .values(status=StepStatus.unknown, at=now)
        .execution_options(synchronize_session=False)
    )
    due = (
        await session.scalars(
            select(Enrolment)
            .where(Enrolment.status == EnrolmentStatus.active, Enrolment.next_at <= now)
            .order_by(Enrolment.next_at)
            .limit(limit)
        )
    ).all()
    queued = 0
    for enrolment in due:
        prefix = f"{hooks.SEND_JOB}:{enrolment.id}:"
        has_job = await session.scalar(
            select(Job.id)
            .where(
                Job.kind == hooks.SEND_JOB,
                Job.idempotency_key.startswith(prefix, autoescape=True),
                Job.status.in_((JobStatus.pending, JobStatus.running)),
            )
            .limit(1)
        )
        if has_job is None:
            key = f"{prefix}revive:{now:%Y%m%d%H%M%S}"
            queued += await enqueue(session, hooks.SEND_JOB, {"enrolment_id": enrolment.id}, now, key=key)
    return queued


async def click(session: AsyncSession, delivery_id: int, telegram_id: int, now: datetime) -> bool:
    """A press of "I'm interested" under a step by its recipient: True the first time, False after;
    NotFound for someone else's or a forged one."""
    delivery = await session.get(SequenceDelivery, delivery_id, with_for_update=True)
    client = await session.get(Client, delivery.client_id) if delivery is not None else None
    if (
        delivery is None
        or client is None
        or client.telegram_id != telegram_id
        or delivery.status != StepStatus.sent
    ):
        raise NotFound()
    if delivery.clicked_at is not None:
        return False
    delivery.clicked_at = now
    await session.flush()
    return True
