"""Enrolment and stops, called from the domains whose events start or end a drip: the account linked
(services/customers), a tag added (services/clients/edit), a deal entering a stage or closing
(services/deals/changes), a purchase (services/loyalty/purchases), marketing consent withdrawn
(services/consent), the client writing to the bot, a manager's button on the card.

Each runs in the caller's transaction. The enrolment queues its first step's job in the same
transaction (the database says what is due; the planner re-queues whatever lost its job)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.sequences import Enrolment, EnrolmentStatus, Sequence, SequenceStep, StopReason, Trigger
from services.queue import enqueue

SEND_JOB = "sequence.send"  # scheduler/sequences.py


def job_key(enrolment_id: int, position: int, due: datetime) -> str:
    """One job per enrolment, step and due time: planning the same again adds nothing."""
    return f"{SEND_JOB}:{enrolment_id}:{position}:{due:%Y%m%d%H%M%S}"


async def schedule(session: AsyncSession, enrolment: Enrolment) -> bool:
    """Queue the job of the enrolment's next step at its due time (in the caller's transaction)."""
    if enrolment.status != EnrolmentStatus.active or enrolment.next_at is None:
        return False
    key = job_key(enrolment.id, enrolment.position, enrolment.next_at)
    return await enqueue(session, SEND_JOB, {"enrolment_id": enrolment.id}, enrolment.next_at, key=key)


async def enrol(
    session: AsyncSession,
    sequence: Sequence,
    client_id: int,
    via: str,
    now: datetime,
    by: int | None = None,
) -> Enrolment | None:
    """Start the sequence for the client (active sequences, linked clients); None when the client is
    in it already (the partial unique index decides a race), or it has no step, or the client can't
    be written to."""
    if not sequence.active:
        return None
    client = await session.get(Client, client_id)
    if client is None or client.merged_into_id is not None or client.telegram_id is None:
        return None
    first = await session.scalar(
        select(SequenceStep).where(SequenceStep.sequence_id == sequence.id, SequenceStep.position == 1)
    )
    if first is None:
        return None
    if await active_enrolment(session, sequence.id, client_id) is not None:
        return None
    enrolment = Enrolment(
        sequence_id=sequence.id,
        client_id=client_id,
        status=EnrolmentStatus.active,
        position=1,
        next_at=now + timedelta(minutes=first.delay_minutes),
        enrolled_by=by,
        via=via,
        started_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(enrolment)
            await session.flush()
    except IntegrityError:  # enrolled at the same moment by another event
        return None
    await schedule(session, enrolment)
    return enrolment


async def active_enrolment(session: AsyncSession, sequence_id: int, client_id: int) -> Enrolment | None:
    return await session.scalar(
        select(Enrolment).where(
            Enrolment.sequence_id == sequence_id,
            Enrolment.client_id == client_id,
            Enrolment.status == EnrolmentStatus.active,
        )
    )


async def on_event(
    session: AsyncSession, trigger: Trigger, client_id: int, now: datetime, arg: str | None = None
) -> int:
    """Enrol the client in every active sequence this event triggers; how many it started."""
    q = select(Sequence).where(Sequence.active.is_(True), Sequence.trigger == trigger)
    if arg is not None:
        q = q.where(Sequence.trigger_arg == arg)
    started = 0
    for sequence in (await session.scalars(q)).all():
        if await enrol(session, sequence, client_id, trigger.value, now) is not None:
            started += 1
    return started


async def stop_client(
    session: AsyncSession,
    client_id: int,
    reason: StopReason,
    now: datetime,
    *,
    enrolment_id: int | None = None,
) -> int:
    """End the client's active enrolments (or one of them); how many were stopped. A job still queued
    for one finds it stopped and sends nothing."""
    q = (
        update(Enrolment)
        .where(Enrolment.client_id == client_id, Enrolment.status == EnrolmentStatus.active)
        .values(status=EnrolmentStatus.stopped, stop_reason=reason.value, ended_at=now, next_at=None)
        .execution_options(synchronize_session=False)
    )
    if enrolment_id is not None:
        q = q.where(Enrolment.id == enrolment_id)
    return (await session.execute(q)).rowcount or 0


async def stop_for_account(session: AsyncSession, telegram_id: int, reason: StopReason, now: datetime) -> int:
    """The customer with this Telegram account wrote to the bot: their drips stop (one statement)."""
    clients = select(Client.id).where(Client.telegram_id == telegram_id).scalar_subquery()
    done = await session.execute(
        update(Enrolment)
        .where(Enrolment.client_id == clients, Enrolment.status == EnrolmentStatus.active)
        .values(status=EnrolmentStatus.stopped, stop_reason=reason.value, ended_at=now, next_at=None)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount or 0
