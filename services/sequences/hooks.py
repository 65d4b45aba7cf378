"""Enrolment and stops, called from the domains whose events start or end a drip: the account linked
(services/customers), a tag added (services/clients/edit; a new client's tags: services/clients/create,
an import's batch set-based, services/imports/applying; the tags a merge brings, services/merge), a
deal entering a stage or closing (services/deals/changes), a purchase (services/loyalty/purchases),
marketing consent withdrawn (services/consent), the client writing to the bot, a manager's button on
the card; a merge's own step (merge_into).

Each runs in the caller's transaction. The enrolment queues its first step's job in the same
transaction (the database says what is due; the planner re-queues whatever lost its job)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from collections.abc import Sequence as Sequence_
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Integer, String, and_, delete, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.base import UTCDateTime
from models.clients import Client
from models.sequences import (
    Enrolment,
    EnrolmentStatus,
    SegmentMember,
    Sequence,
    SequenceStep,
    StopReason,
    Trigger,
)
from services.queue import enqueue, enqueue_many

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


# Client ids in one IN (...) of the set-based enrolment: under SQLite's oldest variable limit.
ENROL_CHUNK = 900


async def on_tags_added(session: AsyncSession, added: Mapping[str, Collection[int]], now: datetime) -> int:
    """Many clients got tags at once (a batch of an import): `added` maps each tag to the clients it is
    new on. Set-based, as `on_event` per client and tag would enrol them: per active sequence triggered
    by one of these tags (with a first step), one INSERT ... SELECT of the linked, unmerged clients not
    active in it already (the partial unique index the final guard), then their first step's jobs in
    one executemany, all in the caller's transaction. How many enrolments it started."""
    added = {tag: ids for tag, ids in added.items() if ids}
    if not added:
        return 0
    sequences = (
        await session.execute(
            select(Sequence.id, Sequence.trigger_arg, SequenceStep.delay_minutes)
            .join(SequenceStep, and_(SequenceStep.sequence_id == Sequence.id, SequenceStep.position == 1))
            .where(Sequence.active.is_(True), Sequence.trigger == Trigger.tag)
            .order_by(Sequence.id)
        )
    ).all()
    started = 0
    for sequence_id, tag, delay in sequences:
        client_ids = added.get(tag) or ()
        started += await enrol_many(session, sequence_id, delay, client_ids, Trigger.tag.value, now)
    return started


async def enrol_many(
    session: AsyncSession, sequence_id: int, delay: int, client_ids: Collection[int], via: str, now: datetime
) -> int:
    """Enrol many clients in one sequence at once (its first step due `delay` minutes from now), a
    chunk of ENROL_CHUNK per INSERT ... SELECT, their first steps' jobs in one executemany; those that
    can't be written to or are active in it already are left out. How many enrolments it started."""
    ids = sorted(set(client_ids))
    due = now + timedelta(minutes=delay)
    jobs: list[tuple[dict[str, Any], datetime, str]] = []
    for start in range(0, len(ids), ENROL_CHUNK):
        chunk = ids[start : start + ENROL_CHUNK]
        for enrolment_id in await _enrol_many(session, sequence_id, chunk, due, via, now):
            jobs.append(({"enrolment_id": enrolment_id}, due, job_key(enrolment_id, 1, due)))
    await enqueue_many(session, SEND_JOB, jobs)
    return len(jobs)


async def _enrol_many(
    session: AsyncSession,
    sequence_id: int,
    client_ids: Sequence_[int],
    due: datetime,
    via: str,
    now: datetime,
) -> list[int]:
    """One INSERT ... SELECT of active enrolments at step 1 for those of the clients that can be
    written to and aren't active in the sequence; the new enrolments' ids."""
    active = EnrolmentStatus.active.value
    already = (
        select(Enrolment.id)
        .where(
            Enrolment.sequence_id == sequence_id,
            Enrolment.client_id == Client.id,
            Enrolment.status == EnrolmentStatus.active,
        )
        .exists()
    )
    source = select(
        literal(sequence_id, BigInteger()),
        Client.id,
        literal(active, String()),
        literal(1, Integer()),
        literal(due, UTCDateTime()),
        literal(via, String()),
        literal(now, UTCDateTime()),
    ).where(
        Client.id.in_(client_ids),
        Client.telegram_id.is_not(None),
        Client.merged_into_id.is_(None),
        ~already,
    )
    columns = ["sequence_id", "client_id", "status", "position", "next_at", "via", "started_at"]
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(Enrolment)
        .from_select(columns, source)
        .on_conflict_do_nothing(
            index_elements=[Enrolment.sequence_id, Enrolment.client_id],
            # the partial index's own predicate, as SQL text: PostgreSQL infers the arbiter index from
            # it, which a bound parameter defeats once the prepared statement goes to a generic plan
            index_where=text("status = 'active'"),
        )
        .returning(Enrolment.id)
    )
    return list((await session.scalars(stmt)).all())


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


async def merge_into(session: AsyncSession, survivor_id: int, other_id: int, now: datetime) -> int:
    """Before merging the other client into the survivor (whose foreign keys then re-point every
    enrolment at the survivor): the other's active enrolment in a sequence the survivor is active in too
    is stopped (a client is in a sequence once), and its rows of a segment-triggered sequence's view the
    survivor has too are dropped (one row per sequence and client). How many enrolments were stopped."""
    survivor_active = select(Enrolment.sequence_id).where(
        Enrolment.client_id == survivor_id, Enrolment.status == EnrolmentStatus.active
    )
    done = await session.execute(
        update(Enrolment)
        .where(
            Enrolment.client_id == other_id,
            Enrolment.status == EnrolmentStatus.active,
            Enrolment.sequence_id.in_(survivor_active.scalar_subquery()),
        )
        .values(
            status=EnrolmentStatus.stopped, stop_reason=StopReason.merged.value, ended_at=now, next_at=None
        )
        .execution_options(synchronize_session=False)
    )
    survivor_views = select(SegmentMember.sequence_id).where(SegmentMember.client_id == survivor_id)
    await session.execute(
        delete(SegmentMember)
        .where(
            SegmentMember.client_id == other_id,
            SegmentMember.sequence_id.in_(survivor_views.scalar_subquery()),
        )
        .execution_options(synchronize_session=False)
    )
    return done.rowcount or 0


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
