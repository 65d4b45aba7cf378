"""Prize draws (/draws, admins): a prize among the clients of a saved segment, drawn at a set time by a
formula anyone can recompute.

- A draft names the segment, the prize and the closing time (UTC, in the future).
- Announcing freezes the participants (one row per client the segment matches for the admin, inserted
  by one INSERT ... SELECT), generates the secret seed with `secrets` and publishes its SHA-256 (the
  commitment); every reachable participant (linked, not blocked, offers agreed) gets one job
  (TELL_JOB, keyed by draw and client) and the closing job (CLOSE_JOB) is queued at `closes_at`.
  A segment that matches nobody is refused.
- Closing (the job, at `closes_at`): the participants sorted by client id are the published list and
  the winner is `participants[int(sha256(seed).hexdigest(), 16) % n]`. The draw becomes "closed" by
  a conditional UPDATE in the job's transaction, together with the follow-up jobs (the result to the
  admin, the message to the winner) and the owner's reminder, so a second run changes nothing.
- Every send is claimed in its own transaction right before it leaves (`claim_*`): a retried job never
  sends the same message twice.
- Announcing, calling off and closing are in the audit trail (`draw.announce` with the commitment,
  `draw.cancel`, `draw.close` with the seed and the winner), so a draw called off and made again shows.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.consent import Purpose
from models.draws import Draw, DrawParticipant, DrawStatus
from models.users import User
from services import audit
from services.access import sees_everything
from services.errors import DomainError, NotAllowed, NotFound
from services.queue import cancel as cancel_job
from services.queue import enqueue
from services.segments import query, saved

PRIZE_LIMIT = 200
PAGE = 10
TELL_JOB = "draw.tell"  # the announcement to one participant
CLOSE_JOB = "draw.close"  # draw the winner at closes_at
PUBLISH_JOB = "draw.publish"  # the seed and the participants file to the admin who made the draw
WINNER_JOB = "draw.winner"  # the message to the winner
OPEN = (DrawStatus.draft, DrawStatus.announced)


# --- the formula ---


def new_seed() -> str:
    """The secret seed: 32 random bytes from `secrets`, as 64 hex characters."""
    return secrets.token_hex(32)


def commitment_of(seed: str) -> str:
    """What is published at the announcement: SHA-256 of the seed (its UTF-8 text), in hex."""
    return hashlib.sha256(seed.encode()).hexdigest()


def winner_index(seed: str, n: int) -> int:
    """The winner's place in the sorted list: int(sha256(seed).hexdigest(), 16) % n."""
    if n <= 0:
        raise DomainError("draw_empty")
    return int(hashlib.sha256(seed.encode()).hexdigest(), 16) % n


def pick_winner(seed: str, participants: Sequence[int]) -> int:
    """The winning client id of the list sorted by client id."""
    ordered = sorted(participants)
    return ordered[winner_index(seed, len(ordered))]


def participants_file(client_ids: Sequence[int]) -> bytes:
    """The published list: client ids sorted, one per line."""
    return "".join(f"{cid}\n" for cid in sorted(client_ids)).encode()


def file_name(draw: Draw) -> str:
    return f"draw-{draw.id}-participants.txt"


# --- rules ---


def clean_prize(text: str | None) -> str:
    prize = " ".join((text or "").split())
    if not prize:
        raise DomainError("draw_prize_empty")
    if len(prize) > PRIZE_LIMIT:
        raise DomainError("draw_prize_long", limit=PRIZE_LIMIT, length=len(prize))
    return prize


def check_closing(closes_at: datetime, now: datetime) -> datetime:
    if closes_at.tzinfo is None:
        raise ValueError("closes_at must be timezone-aware")
    if closes_at <= now:
        raise DomainError("time_past")
    return closes_at


def _admin(viewer: User) -> None:
    if not sees_everything(viewer):
        raise NotAllowed()


def close_key(draw_id: int) -> str:
    return f"draw:{draw_id}:close"


def tell_key(draw_id: int, client_id: int) -> str:
    return f"draw:{draw_id}:tell:{client_id}"


# --- reading ---


async def visible(session: AsyncSession, viewer: User, draw_id: int) -> Draw:
    _admin(viewer)
    draw = await session.get(Draw, draw_id)
    if draw is None:
        raise NotFound()
    return draw


@dataclass(frozen=True, slots=True)
class DrawPage:
    items: list[Draw]
    page: int
    has_next: bool


async def listing(session: AsyncSession, viewer: User, page: int, size: int = PAGE) -> DrawPage:
    """Every draw, the newest first."""
    _admin(viewer)
    page = max(0, page)
    q = select(Draw).order_by(Draw.created_at.desc(), Draw.id.desc()).offset(page * size).limit(size + 1)
    rows = list((await session.scalars(q)).all())
    return DrawPage(rows[:size], page, len(rows) > size)


async def participant_ids(session: AsyncSession, draw_id: int) -> list[int]:
    """The frozen participants, sorted by client id: the published list."""
    q = select(DrawParticipant.client_id).where(DrawParticipant.draw_id == draw_id)
    return list((await session.scalars(q.order_by(DrawParticipant.client_id))).all())


async def told_counts(session: AsyncSession, draw_id: int) -> dict[str, int]:
    """How the announcement went so far: outcome ("sent", "blocked", ...; "" not sent yet) -> count, of
    the participants it was queued for."""
    q = (
        select(DrawParticipant.told, func.count())
        .where(DrawParticipant.draw_id == draw_id, DrawParticipant.told_at.is_not(None))
        .group_by(DrawParticipant.told)
    )
    return {str(outcome or ""): int(n) for outcome, n in (await session.execute(q)).all()}


async def client_name(session: AsyncSession, client_id: int | None) -> str | None:
    if client_id is None:
        return None
    client = await session.get(Client, client_id)
    return client.name if client is not None else None


# --- changes ---


async def create_draft(
    session: AsyncSession, viewer: User, segment_id: int, prize: str, closes_at: datetime, now: datetime
) -> Draw:
    """A draft among the segment's clients (the admin must see the segment, and it must be readable)."""
    _admin(viewer)
    segment = await saved.visible(session, viewer, segment_id)
    saved.conditions_of(segment)
    draw = Draw(
        prize=clean_prize(prize),
        segment_id=segment.id,
        segment_name=segment.name,
        closes_at=check_closing(closes_at, now),
        status=DrawStatus.draft,
        participants=0,
        created_by=viewer.id,
        version=1,
        created_at=now,
    )
    session.add(draw)
    await session.flush()
    return draw


@dataclass(frozen=True, slots=True)
class Announced:
    draw: Draw
    participants: int
    told: int  # reachable now: an announcement is queued for each
    unreachable: int  # not linked, blocked, or no consent for offers


async def announce(
    session: AsyncSession, viewer: User, draw_id: int, version: int, now: datetime, basis: query.Basis
) -> Announced:
    """Freeze the participants, commit to a fresh seed, queue the announcements and the closing."""
    draw = await visible(session, viewer, draw_id)
    if draw.status != DrawStatus.draft or draw.version != version:
        raise DomainError("draw_changed")
    check_closing(draw.closes_at, now)
    if draw.segment_id is None:
        raise DomainError("draw_segment_gone")
    try:
        segment = await saved.visible(session, viewer, draw.segment_id)
    except NotFound:
        raise DomainError("draw_segment_gone") from None
    conditions = saved.conditions_of(segment)
    matching = query.matching(conditions, viewer, basis)
    source = select(literal(draw.id, BigInteger), Client.id).where(*matching)
    await session.execute(DrawParticipant.__table__.insert().from_select(["draw_id", "client_id"], source))
    n = int(
        await session.scalar(
            select(func.count()).select_from(DrawParticipant).where(DrawParticipant.draw_id == draw.id)
        )
        or 0
    )
    if n == 0:  # nothing was inserted: nothing to undo
        raise DomainError("draw_empty")
    reachable = (
        await session.scalars(
            select(DrawParticipant.client_id)
            .join(Client, Client.id == DrawParticipant.client_id)
            .where(DrawParticipant.draw_id == draw.id, query.can_reach(Purpose.marketing))
            .order_by(DrawParticipant.client_id)
        )
    ).all()
    seed = new_seed()
    draw.seed, draw.commitment = seed, commitment_of(seed)
    draw.status, draw.participants = DrawStatus.announced, n
    draw.version += 1
    draw.announced_at = now
    segment_name = segment.name
    draw.segment_name = segment_name
    await session.flush()
    for client_id in reachable:
        await enqueue(
            session,
            TELL_JOB,
            {"draw_id": draw.id, "client_id": client_id},
            now,
            key=tell_key(draw.id, client_id),
        )
    await enqueue(session, CLOSE_JOB, {"draw_id": draw.id}, draw.closes_at, key=close_key(draw.id))
    audit.record(
        session,
        viewer.id,
        "draw.announce",
        f"draw:{draw.id}",
        now,
        after=draw.commitment,
        prize=draw.prize,
        segment=segment_name,
        participants=n,
    )
    return Announced(draw, n, len(reachable), n - len(reachable))


async def cancel(session: AsyncSession, viewer: User, draw_id: int, version: int, now: datetime) -> Draw:
    """A draft or an announced draw is called off (its closing job with it); a closed one can't be."""
    draw = await visible(session, viewer, draw_id)
    if draw.status not in OPEN or draw.version != version:
        raise DomainError("draw_changed")
    before = draw.status.value
    draw.status = DrawStatus.cancelled
    draw.version += 1
    draw.closed_at = now
    await cancel_job(session, close_key(draw.id))
    audit.record(session, viewer.id, "draw.cancel", f"draw:{draw.id}", now, before=before, after="cancelled")
    return draw


@dataclass(frozen=True, slots=True)
class Closed:
    draw: Draw
    winner_id: int  # the winning client id, as in the published list
    index: int  # its place in the list (from 0)
    client: Client | None  # the winner's record now (a merged record: the one it was merged into)


async def close(session: AsyncSession, draw_id: int, now: datetime) -> Closed | None:
    """Draw the winner by the formula and queue the result; None when the draw isn't announced any more
    (closed before, cancelled) or isn't due yet. In the caller's transaction."""
    draw = await session.get(Draw, draw_id)
    if draw is None or draw.status != DrawStatus.announced or draw.seed is None or now < draw.closes_at:
        return None
    ids = await participant_ids(session, draw.id)
    if not ids:
        return None
    index = winner_index(draw.seed, len(ids))
    winner = ids[index]
    result = await session.execute(
        update(Draw)
        .where(Draw.id == draw.id, Draw.status == DrawStatus.announced, Draw.version == draw.version)
        .values(status=DrawStatus.closed, winner_client_id=winner, closed_at=now, version=Draw.version + 1)
        .execution_options(synchronize_session=False)
    )
    if not result.rowcount:  # another run closed it meanwhile
        return None
    await session.refresh(draw)
    audit.record(
        session, None, "draw.close", f"draw:{draw.id}", now, after=str(winner), seed=draw.seed, n=len(ids)
    )
    await enqueue(session, PUBLISH_JOB, {"draw_id": draw.id}, now, key=f"draw:{draw.id}:publish")
    await enqueue(session, WINNER_JOB, {"draw_id": draw.id}, now, key=f"draw:{draw.id}:winner")
    return Closed(draw, winner, index, await live_client(session, winner))


async def live_client(session: AsyncSession, client_id: int) -> Client | None:
    """The client, or the record it was merged into."""
    client = await session.get(Client, client_id)
    for _ in range(10):
        if client is None or client.merged_into_id is None:
            break
        client = await session.get(Client, client.merged_into_id)
    return client


# --- claims before a send (each in its own, committed transaction) ---


async def claim_tell(session: AsyncSession, draw_id: int, client_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(DrawParticipant)
        .where(
            DrawParticipant.draw_id == draw_id,
            DrawParticipant.client_id == client_id,
            DrawParticipant.told_at.is_(None),
        )
        .values(told_at=now, told="")
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def record_tell(session: AsyncSession, draw_id: int, client_id: int, outcome: str) -> None:
    await session.execute(
        update(DrawParticipant)
        .where(DrawParticipant.draw_id == draw_id, DrawParticipant.client_id == client_id)
        .values(told=outcome[:16])
        .execution_options(synchronize_session=False)
    )


async def claim_published(session: AsyncSession, draw_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(Draw)
        .where(Draw.id == draw_id, Draw.status == DrawStatus.closed, Draw.published_at.is_(None))
        .values(published_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


async def claim_winner_told(session: AsyncSession, draw_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(Draw)
        .where(Draw.id == draw_id, Draw.status == DrawStatus.closed, Draw.winner_told_at.is_(None))
        .values(winner_told_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)
