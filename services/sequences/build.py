"""Building a sequence (admins): its name (and renaming it), its steps (a delay after the previous one
and a text per language, placeholders checked as for broadcasts; optionally a photo or a document, the
texts then captions, and URL buttons, with the broadcasts' checks and limits), editing a step's texts
and links, deleting a step (the enrolments under way neither skip nor repeat one), its trigger,
activation and deactivation; the list of sequences, a sequence's per-step figures, and a client's
enrolments for the card."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.segments import SavedSegment
from models.sequences import (
    Enrolment,
    EnrolmentStatus,
    SegmentMember,
    Sequence,
    SequenceDelivery,
    SequenceStep,
    StepStatus,
    StopReason,
    Trigger,
)
from models.users import User
from services.access import sees_everything, visible_client
from services.campaigns.texts import check, check_media, with_button
from services.clients.fields import clean_tags
from services.errors import DomainError, NotFound
from services.segments import query, saved
from services.sequences import hooks
from services.users import SUPPORTED_LANGUAGES

NAME_LIMIT = 60
MAX_STEPS = 10
MAX_DELAY_MINUTES = 90 * 24 * 60  # 90 days
_SHIFT = 1_000_000  # renumbering steps goes through positions above any real one
_UNITS = {"d": 1440, "д": 1440, "h": 60, "ч": 60, "m": 1, "м": 1, "min": 1, "мин": 1}
_DELAY = re.compile(r"(\d{1,5})\s*(min|мин|d|д|h|ч|m|м)", re.IGNORECASE)


def _admin(viewer: User) -> None:
    if not sees_everything(viewer):
        raise DomainError("not_allowed")


def parse_delay(text: str | None) -> int:
    """ "2d", "6h", "30m", "1d 12h" (or "2д", "6ч", "30м"; a bare "0": at once) → minutes."""
    raw = (text or "").strip().lower()
    if raw == "0":
        return 0
    parts = _DELAY.findall(raw)
    if not parts or _DELAY.sub("", raw).strip():
        raise DomainError("sequence_delay_invalid")
    minutes = sum(int(n) * _UNITS[unit] for n, unit in parts)
    if minutes > MAX_DELAY_MINUTES:
        raise DomainError("sequence_delay_long", days=MAX_DELAY_MINUTES // 1440)
    return minutes


def clean_name(text: str | None) -> str:
    name = " ".join((text or "").split())
    if not name:
        raise DomainError("sequence_name_empty")
    if len(name) > NAME_LIMIT:
        raise DomainError("sequence_name_long", limit=NAME_LIMIT)
    return name


async def create(
    session: AsyncSession, viewer: User, text: str | None, language: str, now: datetime
) -> Sequence:
    _admin(viewer)
    name = clean_name(text)
    taken = await session.scalar(select(Sequence.id).where(func.lower(Sequence.name) == name.lower()))
    if taken is not None:
        raise DomainError("sequence_name_taken")
    sequence = Sequence(
        name=name,
        created_by=viewer.id,
        default_language=language,
        trigger=Trigger.manual,
        active=False,
        created_at=now,
    )
    session.add(sequence)
    await session.flush()
    return sequence


async def of_admin(session: AsyncSession, viewer: User, sequence_id: int) -> Sequence:
    _admin(viewer)
    sequence = await session.get(Sequence, sequence_id)
    if sequence is None:
        raise NotFound()
    return sequence


async def listing(session: AsyncSession, viewer: User) -> list[Sequence]:
    _admin(viewer)
    return list((await session.scalars(select(Sequence).order_by(Sequence.id))).all())


async def steps_of(session: AsyncSession, sequence_id: int) -> list[SequenceStep]:
    """The sequence's steps in their order (a deleted step, kept for its deliveries, isn't one)."""
    q = (
        select(SequenceStep)
        .where(SequenceStep.sequence_id == sequence_id, SequenceStep.position > 0)
        .order_by(SequenceStep.position)
    )
    return list((await session.scalars(q)).all())


def check_texts(texts: dict[str, str], *, media: bool = False) -> dict[str, str]:
    """The texts per language, placeholders checked as for broadcasts; with a photo or a document
    they are captions (the caption limit), and may be empty (the picture alone)."""
    out = {}
    for language, text in texts.items():
        if language not in SUPPORTED_LANGUAGES:
            raise DomainError("unsupported_language")
        out[language] = "" if media and not (text or "").strip() else check(text, caption=media)
    return out


async def add_step(
    session: AsyncSession,
    sequence: Sequence,
    delay_minutes: int,
    texts: dict[str, str],
    media: tuple[str | None, str | None] = (None, None),
) -> SequenceStep:
    if sequence.default_language not in texts:
        raise DomainError("campaign_text_empty")
    kind, file_id = check_media(*media)
    steps = await steps_of(session, sequence.id)
    if len(steps) >= MAX_STEPS:
        raise DomainError("sequence_steps_full", limit=MAX_STEPS)
    step = SequenceStep(
        sequence_id=sequence.id,
        position=len(steps) + 1,
        delay_minutes=delay_minutes,
        texts=check_texts(texts, media=kind is not None),
        interested=False,
        media_kind=kind,
        media_file_id=file_id,
        buttons=[],
    )
    session.add(step)
    await session.flush()
    return step


async def step_of(session: AsyncSession, sequence: Sequence, step_id: int) -> SequenceStep:
    step = await session.get(SequenceStep, step_id)
    if step is None or step.sequence_id != sequence.id or step.position <= 0:
        raise NotFound()
    return step


async def rename(session: AsyncSession, sequence: Sequence, text: str | None) -> Sequence:
    name = clean_name(text)
    taken = await session.scalar(
        select(Sequence.id).where(func.lower(Sequence.name) == name.lower(), Sequence.id != sequence.id)
    )
    if taken is not None:
        raise DomainError("sequence_name_taken")
    sequence.name = name
    await session.flush()
    return sequence


def set_step_text(step: SequenceStep, language: str, text: str | None) -> None:
    """Replace the step's text in one language (a caption when the step has a photo or a document);
    the next sends use it."""
    checked = check_texts({language: text or ""}, media=step.media_kind is not None)
    step.texts = {**(step.texts or {}), **checked}


def add_link(step: SequenceStep, text: str | None) -> None:
    """A URL button typed as "Label https://example.com", as for broadcasts (at most MAX_BUTTONS)."""
    step.buttons = with_button(step.buttons, text)


def clear_links(step: SequenceStep) -> None:
    step.buttons = []


async def delete_step(session: AsyncSession, sequence: Sequence, step_id: int, now: datetime) -> int:
    """Remove a step (any of them): the later ones move up a place. The row stays, out of the chain
    (its position becomes -id), so its deliveries still count towards the weekly limit and still guard
    their UNIQUE(enrolment, step). Whoever was to get it next gets the step after it instead, that
    step's delay after their last one; whoever is further on keeps their step and its time; nobody
    skips or repeats a step. Refused while it is being sent. Returns the position it had."""
    # The enrolments first, locked as a step's job locks its own for the claim: no claim starts now.
    enrolments = (
        await session.scalars(
            select(Enrolment)
            .where(Enrolment.sequence_id == sequence.id, Enrolment.status == EnrolmentStatus.active)
            .order_by(Enrolment.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    step = await session.get(SequenceStep, step_id, with_for_update=True, populate_existing=True)
    if step is None or step.sequence_id != sequence.id or step.position <= 0:
        raise NotFound()
    busy = await session.scalar(
        select(SequenceDelivery.id)
        .where(SequenceDelivery.step_id == step.id, SequenceDelivery.status == StepStatus.sending)
        .limit(1)
    )
    if busy is not None:
        raise DomainError("sequence_step_sending")
    position = step.position
    step.position = -step.id
    await session.flush()
    # The later steps up a place, through positions out of the chain's range so that
    # UNIQUE(sequence, position) holds after each row's update.
    later = [s for s in await steps_of(session, sequence.id) if s.position > position]
    for later_step in later:
        later_step.position += _SHIFT
    await session.flush()
    for later_step in later:
        later_step.position -= _SHIFT + 1
    await session.flush()
    for enrolment in enrolments:
        if enrolment.position > position:
            enrolment.position -= 1
        elif enrolment.position == position:
            await _instead(session, enrolment, position, now)
    await session.flush()
    return position


async def _instead(session: AsyncSession, enrolment: Enrolment, position: int, now: datetime) -> None:
    """The enrolment's next step was deleted: the one now at its place is due its own delay after the
    enrolment's last step (or its start), or the drip is done."""
    nxt = await session.scalar(
        select(SequenceStep).where(
            SequenceStep.sequence_id == enrolment.sequence_id, SequenceStep.position == position
        )
    )
    if nxt is None:
        enrolment.status, enrolment.ended_at, enrolment.next_at = EnrolmentStatus.done, now, None
        return
    last = await session.scalar(
        select(func.max(SequenceDelivery.at)).where(
            SequenceDelivery.enrolment_id == enrolment.id,
            SequenceDelivery.status.in_(
                (StepStatus.sent, StepStatus.unknown, StepStatus.failed, StepStatus.blocked)
            ),
        )
    )
    enrolment.next_at = (last or enrolment.started_at) + timedelta(minutes=nxt.delay_minutes)
    await session.flush()
    await hooks.schedule(session, enrolment)


async def set_trigger(
    session: AsyncSession,
    viewer: User,
    sequence: Sequence,
    trigger: Trigger,
    *,
    arg: str | None = None,
    segment_id: int | None = None,
    stages: tuple[str, ...] = (),
) -> Sequence:
    """Change the trigger (an inactive sequence only: activation looks at it)."""
    if sequence.active:
        raise DomainError("sequence_active")
    sequence.trigger_arg, sequence.segment_id = None, None
    if trigger == Trigger.tag:
        tags = clean_tags(arg or "")
        if len(tags) != 1:
            raise DomainError("sequence_tag_invalid")
        sequence.trigger_arg = tags[0]
    elif trigger == Trigger.stage:
        if arg not in stages:
            raise DomainError("deal_bad_stage")
        sequence.trigger_arg = arg
    elif trigger == Trigger.segment:
        segment = await saved.visible(session, viewer, segment_id or 0)
        sequence.segment_id = segment.id
    sequence.trigger = trigger
    await session.flush()
    return sequence


async def activate(session: AsyncSession, sequence: Sequence, now: datetime, basis: query.Basis) -> None:
    """Triggers start enrolling from now on. A segment trigger first notes who is in the segment
    already: only those who enter it later are enrolled."""
    if sequence.active:
        raise DomainError("sequence_already_active")
    if not await steps_of(session, sequence.id):
        raise DomainError("sequence_no_steps")
    if sequence.trigger == Trigger.segment and sequence.segment_id is None:
        raise DomainError("sequence_segment_gone")
    sequence.active, sequence.activated_at = True, now
    if sequence.trigger == Trigger.segment:
        await _note_members(session, sequence, basis)
    await session.flush()


async def deactivate(session: AsyncSession, sequence: Sequence, now: datetime) -> int:
    """No more enrolments; the running ones stop. How many stopped."""
    if not sequence.active:
        raise DomainError("sequence_already_inactive")
    sequence.active = False
    stopped = await session.execute(
        Enrolment.__table__.update()
        .where(Enrolment.sequence_id == sequence.id, Enrolment.status == EnrolmentStatus.active)
        .values(
            status=EnrolmentStatus.stopped,
            stop_reason=StopReason.deactivated.value,
            ended_at=now,
            next_at=None,
        )
    )
    await session.flush()
    return stopped.rowcount or 0


# --- the segment trigger (the planner's periodic check) ---


async def _members_now(session: AsyncSession, sequence: Sequence, basis: query.Basis) -> set[int] | None:
    if sequence.segment_id is None:
        return None
    segment = await session.get(SavedSegment, sequence.segment_id)
    creator = await session.get(User, sequence.created_by)
    if segment is None or creator is None:
        return None
    q = query.clients_of(saved.conditions_of(segment), creator, basis)
    return {int(i) for i in (await session.scalars(q)).all()}


async def _note_members(
    session: AsyncSession, sequence: Sequence, basis: query.Basis
) -> tuple[set[int], set[int]]:
    """Bring the noted members up to date; returns (who entered, who left) since the last note."""
    now_in = await _members_now(session, sequence, basis)
    if now_in is None:
        return set(), set()
    noted = set(
        (
            await session.scalars(
                select(SegmentMember.client_id).where(SegmentMember.sequence_id == sequence.id)
            )
        ).all()
    )
    entered, left = now_in - noted, noted - now_in
    if left:
        await session.execute(
            SegmentMember.__table__.delete().where(
                SegmentMember.sequence_id == sequence.id, SegmentMember.client_id.in_(left)
            )
        )
    if entered:
        await session.execute(
            SegmentMember.__table__.insert(), [{"sequence_id": sequence.id, "client_id": c} for c in entered]
        )
    return entered, left


async def check_segments(session: AsyncSession, now: datetime, basis: query.Basis) -> int:
    """Enrol whoever newly entered the segment of an active segment-triggered sequence."""
    q = (
        select(Sequence, SequenceStep.delay_minutes)
        .outerjoin(SequenceStep, (SequenceStep.sequence_id == Sequence.id) & (SequenceStep.position == 1))
        .where(Sequence.active.is_(True), Sequence.trigger == Trigger.segment)
    )
    started = 0
    for sequence, delay in (await session.execute(q)).all():
        entered, _left = await _note_members(session, sequence, basis)  # noted even with no step
        if delay is not None:
            started += await hooks.enrol_many(
                session, sequence.id, delay, entered, Trigger.segment.value, now
            )
    return started


# --- figures ---


@dataclass(frozen=True, slots=True)
class StepFigures:
    step: SequenceStep
    sent: int
    clicked: int
    stopped_after: int
    waiting_cap: int  # due but over the weekly limit right now


async def figures(session: AsyncSession, sequence_id: int) -> tuple[list[StepFigures], dict[str, int]]:
    """Each step with its sent, clicked and stopped-after counts; and the enrolments by status."""
    steps = await steps_of(session, sequence_id)
    ids = [s.id for s in steps]
    d = SequenceDelivery
    by_status: dict[tuple[int, str], int] = {}
    clicked: dict[int, int] = {}
    stopped: dict[int, int] = {}
    if ids:
        rows = await session.execute(
            select(d.step_id, d.status, func.count(), func.count(d.clicked_at))
            .where(d.step_id.in_(ids))
            .group_by(d.step_id, d.status)
        )
        for step_id, status, n, clicks in rows.all():
            by_status[(int(step_id), str(status))] = int(n)
            clicked[int(step_id)] = clicked.get(int(step_id), 0) + int(clicks)
        rows = await session.execute(
            select(Enrolment.last_step_id, func.count())
            .where(Enrolment.sequence_id == sequence_id, Enrolment.status == EnrolmentStatus.stopped)
            .group_by(Enrolment.last_step_id)
        )
        stopped = {int(k): int(n) for k, n in rows.all() if k is not None}
    enrolments = await session.execute(
        select(Enrolment.status, func.count())
        .where(Enrolment.sequence_id == sequence_id)
        .group_by(Enrolment.status)
    )
    out = [
        StepFigures(
            step=s,
            sent=by_status.get((s.id, StepStatus.sent.value), 0),
            clicked=clicked.get(s.id, 0),
            stopped_after=stopped.get(s.id, 0),
            waiting_cap=by_status.get((s.id, StepStatus.capped.value), 0),
        )
        for s in steps
    ]
    return out, {str(k): int(n) for k, n in enrolments.all()}


# --- the card ---


@dataclass(frozen=True, slots=True)
class CardEnrolment:
    enrolment: Enrolment
    sequence: Sequence
    steps: int


async def client_panel(
    session: AsyncSession, viewer: User, client_id: int
) -> tuple[Client, list[CardEnrolment], list[Sequence]]:
    """A client's active enrolments (with their next step) and the active sequences they may be
    enrolled in by hand."""
    client = await visible_client(session, viewer, client_id)
    steps = (
        select(func.count())
        .select_from(SequenceStep)
        .where(SequenceStep.sequence_id == Sequence.id, SequenceStep.position > 0)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Enrolment, Sequence, steps)
        .join(Sequence, Sequence.id == Enrolment.sequence_id)
        .where(Enrolment.client_id == client.id, Enrolment.status == EnrolmentStatus.active)
        .order_by(Enrolment.id)
    )
    current = [CardEnrolment(e, s, int(n)) for e, s, n in rows.all()]
    inside = {c.sequence.id for c in current}
    available = [
        s
        for s in (
            await session.scalars(select(Sequence).where(Sequence.active.is_(True)).order_by(Sequence.id))
        ).all()
        if s.id not in inside
    ]
    return client, current, available


async def enrol_by_hand(
    session: AsyncSession, viewer: User, client_id: int, sequence_id: int, now: datetime
) -> Enrolment:
    client = await visible_client(session, viewer, client_id)
    sequence = await session.get(Sequence, sequence_id)
    if sequence is None:
        raise NotFound()
    if not sequence.active:
        raise DomainError("sequence_not_active")
    if client.telegram_id is None:
        raise DomainError("sequence_client_not_linked")
    if await hooks.active_enrolment(session, sequence.id, client.id) is not None:
        raise DomainError("sequence_enrolled_already")
    enrolment = await hooks.enrol(session, sequence, client.id, Trigger.manual.value, now, by=viewer.id)
    if enrolment is None:
        raise DomainError("sequence_enrolled_already")
    return enrolment


async def stop_by_hand(session: AsyncSession, viewer: User, enrolment_id: int, now: datetime) -> Enrolment:
    enrolment = await session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise NotFound()
    await visible_client(session, viewer, enrolment.client_id)
    if enrolment.status != EnrolmentStatus.active:
        raise DomainError("sequence_stopped_already")
    await hooks.stop_client(session, enrolment.client_id, StopReason.manager, now, enrolment_id=enrolment.id)
    await session.refresh(enrolment)
    return enrolment
