"""Campaigns from the draft to the report: the audience and its reachable count, the draft's texts,
the start (the audience becomes delivery rows in one INSERT ... SELECT), pause / resume / cancel, the
rules checked at the moment each message leaves (consent, a linked and open chat, the weekly limit,
quiet hours in the recipient's time zone), the per-row bookkeeping of the sending engine, and the
counts a progress message shows (/campaigns and its export: services/campaigns/results.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, exists, func, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.campaigns import (
    Campaign,
    CampaignClick,
    CampaignDelivery,
    CampaignSettings,
    CampaignStatus,
    DeliveryStatus,
)
from models.clients import Client
from models.consent import DEFAULTS, ClientConsent, Purpose
from models.jobs import Job, JobStatus
from models.loyalty import LoyaltyAccount
from models.segments import SavedSegment
from models.sequences import SequenceDelivery, StepStatus
from models.users import User
from services.access import sees_everything
from services.campaigns import links
from services.campaigns.texts import Values, check, check_media, with_button
from services.errors import DomainError, NotFound
from services.loyalty.settings import program
from services.queue import enqueue
from services.segments import query, saved
from services.segments.conditions import Conditions
from services.timezones import zone_of
from services.users import SUPPORTED_LANGUAGES, language_of

STEP_JOB = "campaign.step"  # scheduler/campaigns.py
WEEK = timedelta(days=7)
DEFAULT_CAP = 2
MAX_CAP = 50
QUIET_FROM, QUIET_UNTIL = 21, 10  # no marketing message from 21:00 to 10:00, the recipient's time
OPEN = (CampaignStatus.sending, CampaignStatus.paused)
WALL = "%Y-%m-%dT%H:%M"
EARLIEST_OFFSET = timedelta(hours=14)  # the easternmost time zone is UTC+14
LEFT = (DeliveryStatus.queued, DeliveryStatus.sending)
FREE_RATE = 30  # Telegram's free broadcast rate, messages a second
STAR_PER_PAID_MESSAGE = 0.1  # what a message over the free rate costs in a paid broadcast


def stars_estimate(count: int, rate: float) -> float:
    """Stars a paid broadcast of `count` messages at `rate` a second costs: the share of its messages
    over the free 30 a second, 0.1 Star each (N × (R − 30) / R × 0.1)."""
    if rate <= FREE_RATE:
        return 0.0
    return count * (rate - FREE_RATE) / rate * STAR_PER_PAID_MESSAGE


# --- the weekly limit ---


async def weekly_cap(session: AsyncSession) -> int:
    row = await session.get(CampaignSettings, 1)
    return DEFAULT_CAP if row is None else row.weekly_cap


async def set_weekly_cap(session: AsyncSession, viewer: User, text: str | None, now: datetime) -> int:
    """An admin sets the limit: a whole number 1..MAX_CAP of marketing messages per client per 7 days."""
    if not sees_everything(viewer):
        raise DomainError("not_allowed")
    raw = (text or "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_CAP:
        raise DomainError("campaign_cap_invalid", limit=MAX_CAP)
    row = await session.get(CampaignSettings, 1)
    if row is None:
        session.add(CampaignSettings(id=1, weekly_cap=int(raw), updated_at=now))
    else:
        row.weekly_cap, row.updated_at = int(raw), now
    await session.flush()
    return int(raw)


async def sent_lately(session: AsyncSession, client_id: int, now: datetime) -> int:
    """Marketing messages this client got in the last 7 days."""
    return (await sent_lately_of(session, [client_id], now)).get(client_id, 0)


async def sent_lately_of(session: AsyncSession, client_ids: list[int], now: datetime) -> dict[int, int]:
    """Marketing messages each of these clients got in the last 7 days, broadcasts and drip steps
    alike (index ranges, one grouped count); one whose send was interrupted by a crash ("unknown") may
    have arrived, so it counts too."""
    if not client_ids:
        return {}
    broadcasts = select(CampaignDelivery.client_id.label("client_id")).where(
        CampaignDelivery.client_id.in_(client_ids),
        CampaignDelivery.status.in_((DeliveryStatus.sent, DeliveryStatus.unknown)),
        CampaignDelivery.at > now - WEEK,
    )
    drips = select(SequenceDelivery.client_id.label("client_id")).where(
        SequenceDelivery.client_id.in_(client_ids),
        SequenceDelivery.status.in_((StepStatus.sent, StepStatus.unknown)),
        SequenceDelivery.at > now - WEEK,
    )
    both = union_all(broadcasts, drips).subquery()
    q = select(both.c.client_id, func.count()).group_by(both.c.client_id)
    return {int(cid): int(n) for cid, n in (await session.execute(q)).all()}


# --- quiet hours ---


def wait_until(now: datetime, tz_name: str | None, default_tz: str) -> datetime | None:
    """None when a marketing message may go now in that time zone; else the next QUIET_UNTIL:00 there
    (UTC)."""
    zone = zone_of(tz_name, default_tz)
    local = now.astimezone(zone)
    if QUIET_UNTIL <= local.hour < QUIET_FROM:
        return None
    day = local.date() if local.hour < QUIET_UNTIL else local.date() + timedelta(days=1)
    at = datetime(day.year, day.month, day.day, QUIET_UNTIL, tzinfo=zone)
    return at.astimezone(now.tzinfo)


# --- the audience ---


@dataclass(frozen=True, slots=True)
class Audience:
    segment: SavedSegment | None  # None: every client the viewer sees
    conditions: Conditions


async def audience(session: AsyncSession, viewer: User, segment_id: int | None) -> Audience:
    if not segment_id:
        return Audience(None, Conditions())
    segment = await saved.visible(session, viewer, segment_id)
    return Audience(segment, saved.conditions_of(segment))


async def reachable(session: AsyncSession, viewer: User, aud: Audience, basis: query.Basis) -> int:
    """How many of the audience an offer may reach now (linked, not blocked, consent given)."""
    return await query.reachable(session, aud.conditions, viewer, basis, Purpose.marketing)


async def create_draft(
    session: AsyncSession, viewer: User, aud: Audience, default_language: str, now: datetime
) -> Campaign:
    campaign = Campaign(
        created_by=viewer.id,
        segment_id=aud.segment.id if aud.segment is not None else None,
        segment_name=aud.segment.name if aud.segment is not None else None,
        texts={},
        default_language=default_language,
        interested=False,
        status=CampaignStatus.draft,
        runs=0,
        errors_in_row=0,
        created_at=now,
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def of_viewer(session: AsyncSession, viewer: User, campaign_id: int) -> Campaign:
    """A campaign its creator or an admin may act on."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or (campaign.created_by != viewer.id and not sees_everything(viewer)):
        raise NotFound()
    return campaign


async def draft_of(session: AsyncSession, viewer: User, campaign_id: int) -> Campaign:
    campaign = await of_viewer(session, viewer, campaign_id)
    if campaign.status != CampaignStatus.draft:
        raise DomainError("campaign_started")
    return campaign


def set_text(campaign: Campaign, language: str, text: str) -> None:
    if language not in SUPPORTED_LANGUAGES:
        raise DomainError("unsupported_language")
    campaign.texts = {**campaign.texts, language: check(text, caption=campaign.media_kind is not None)}


def set_media(campaign: Campaign, kind: str | None, file_id: str | None) -> None:
    """The photo or document the default language's message came with (None: text only)."""
    campaign.media_kind, campaign.media_file_id = check_media(kind, file_id)


def add_button(campaign: Campaign, text: str | None) -> None:
    campaign.buttons = with_button(campaign.buttons, text)


def schedule(campaign: Campaign, when: datetime | None, tz: str) -> None:
    """Send at the wall-clock time `when` shows in `tz` (the composer's), in each recipient's own time
    zone; None: now."""
    campaign.scheduled_for = None if when is None else when.astimezone(zone_of(tz)).strftime(WALL)


def wall_time(campaign: Campaign) -> datetime | None:
    return datetime.strptime(campaign.scheduled_for, WALL) if campaign.scheduled_for else None


def scheduled_at(campaign: Campaign, tz: str | None, default_tz: str) -> datetime | None:
    """The moment (UTC) its wall-clock time comes in that time zone."""
    wall = wall_time(campaign)
    return None if wall is None else wall.replace(tzinfo=zone_of(tz, default_tz)).astimezone(UTC)


# --- start, pause, resume, cancel ---


async def start(
    session: AsyncSession, viewer: User, campaign_id: int, basis: query.Basis, now: datetime, tz: str
) -> int:
    """Send: the audience becomes one queued delivery row per reachable client, in one statement, and
    the first step of the sending is queued. Only one press starts it (a conditional update)."""
    campaign = await of_viewer(session, viewer, campaign_id)
    if campaign.status != CampaignStatus.draft:
        raise DomainError("campaign_started")
    if not campaign.texts.get(campaign.default_language):
        raise DomainError("campaign_text_empty")
    aud = (
        await audience(session, viewer, campaign.segment_id)
        if campaign.segment_id
        else Audience(None, Conditions())
    )
    if campaign.segment_name is not None and campaign.segment_id is None:
        raise DomainError("campaign_segment_gone")
    if await reachable(session, viewer, aud, basis) == 0:
        raise DomainError("campaign_audience_empty")
    first = now
    if (mine := scheduled_at(campaign, tz, tz)) is not None:
        if mine <= now:  # the time passed while the preview was open
            raise DomainError("time_past")
        first = max(now, mine - EARLIEST_OFFSET)  # nobody's wall clock shows it before then
    claimed = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == CampaignStatus.draft)
        .values(status=CampaignStatus.sending, started_at=now, runs=1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise DomainError("campaign_started")
    ids = query.reachable_clients_of(aud.conditions, viewer, basis, Purpose.marketing).subquery()
    rows = select(
        literal(campaign.id),
        ids.c.id,
        literal(DeliveryStatus.queued.value),
        literal(first, CampaignDelivery.send_after.type),
    )
    inserted = await session.execute(
        CampaignDelivery.__table__.insert().from_select(
            ["campaign_id", "client_id", "status", "send_after"], rows
        )
    )
    await enqueue(session, STEP_JOB, {"campaign_id": campaign.id}, first, key=f"{STEP_JOB}:{campaign.id}:1")
    await session.refresh(campaign)
    return int(inserted.rowcount or 0)


async def pause(session: AsyncSession, viewer: User, campaign_id: int) -> Campaign:
    campaign = await of_viewer(session, viewer, campaign_id)
    done = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == CampaignStatus.sending)
        .values(status=CampaignStatus.paused)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise DomainError("campaign_not_sending")
    await session.refresh(campaign)
    return campaign


async def resume(session: AsyncSession, viewer: User, campaign_id: int, now: datetime) -> Campaign:
    campaign = await of_viewer(session, viewer, campaign_id)
    done = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == CampaignStatus.paused)
        .values(status=CampaignStatus.sending, runs=Campaign.runs + 1, errors_in_row=0)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise DomainError("campaign_not_paused")
    await session.refresh(campaign)
    key = f"{STEP_JOB}:{campaign.id}:{campaign.runs}"
    await enqueue(session, STEP_JOB, {"campaign_id": campaign.id}, now, key=key)
    return campaign


async def cancel(session: AsyncSession, viewer: User, campaign_id: int, now: datetime) -> Campaign:
    campaign = await of_viewer(session, viewer, campaign_id)
    done = await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status.in_(OPEN))
        .values(status=CampaignStatus.cancelled, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise DomainError(
            "campaign_cancelled" if campaign.status == CampaignStatus.cancelled else "campaign_over"
        )
    await session.refresh(campaign)
    return campaign


# --- the engine's bookkeeping (each in its own short transaction) ---


async def take_over(session: AsyncSession, campaign_id: int, runner: int) -> Campaign | None:
    """A step begins: it becomes the campaign's runner, and rows left "sending" by a step that is no
    longer running (its process died: this very job run before, or another that ended) become
    "unknown": maybe delivered, so never sent again. A row of an older step still running (a Resume
    right after a Pause) is left to it: it stops after that send. None when the campaign isn't sending."""
    campaign = await session.get(Campaign, campaign_id, with_for_update=True, populate_existing=True)
    if campaign is None or campaign.status != CampaignStatus.sending:
        return None
    campaign.runner = runner
    alive = exists().where(
        Job.id == CampaignDelivery.claimed_by, Job.id != runner, Job.status == JobStatus.running
    )
    await session.execute(
        update(CampaignDelivery)
        .where(
            CampaignDelivery.campaign_id == campaign_id,
            CampaignDelivery.status == DeliveryStatus.sending,
            ~alive,
        )
        .values(status=DeliveryStatus.unknown, error="the bot stopped during the send")
        .execution_options(synchronize_session=False)
    )
    return campaign


async def still_mine(session: AsyncSession, campaign_id: int, runner: int) -> bool:
    row = (
        await session.execute(select(Campaign.status, Campaign.runner).where(Campaign.id == campaign_id))
    ).one_or_none()
    return row is not None and row[0] == CampaignStatus.sending and row[1] == runner


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A row claimed for sending (committed as "sending" before the send): whom, in which language."""

    delivery_id: int
    client_id: int
    chat_id: int
    language: str
    values: Values


@dataclass(slots=True)
class Claimed:
    """What one claim of a batch did: the rows claimed for sending, and how many were settled
    otherwise (no_consent / blocked / capped) or put off (quiet hours, the chosen time: queued)."""

    outgoing: list[Outgoing]
    settled: dict[DeliveryStatus, int]

    @property
    def looked_at(self) -> int:
        return len(self.outgoing) + sum(self.settled.values())


async def claim_batch(
    session: AsyncSession,
    campaign: Campaign,
    runner: int,
    now: datetime,
    default_tz: str,
    cap: int,
    limit: int,
) -> Claimed:
    """Check up to `limit` due rows, in order, at the moment they would leave: each is marked
    no_consent / capped / blocked, or queued again for the end of its recipient's quiet hours (or the
    chosen time on the recipient's clock), or claimed: "sending" by `runner` (returned, with what to
    send). A handful of statements for the whole batch, whatever its size: one read of the rows with
    their client, account, consent and chat; one grouped count for the weekly limit; one UPDATE per
    outcome (RETURNING the rows it claimed, so two steps never claim the same row; PostgreSQL also
    skips rows another step has locked)."""
    d, c, u = CampaignDelivery, Client, User
    consent_row = aliased(ClientConsent)
    q = (
        select(
            d.id,
            c.id,
            c.telegram_id,
            c.merged_into_id,
            c.timezone,
            c.language,
            c.name,
            c.owner_id,
            u.id,
            u.timezone,
            u.tg_language,
            u.language,
            u.blocked_at,
            u.unreachable_at,
            consent_row.granted,
        )
        .join(c, c.id == d.client_id, isouter=True)
        .join(u, u.id == c.telegram_id, isouter=True)
        .join(
            consent_row,
            (consent_row.client_id == c.id) & (consent_row.purpose == Purpose.marketing),
            isouter=True,
        )
        .where(d.campaign_id == campaign.id, d.status == DeliveryStatus.queued, d.send_after <= now)
        .order_by(d.send_after, d.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=d)
    rows = (await session.execute(q)).all()
    settled: dict[DeliveryStatus, list[int]] = {}
    later: dict[datetime, list[int]] = {}
    candidates = []
    default_consent = DEFAULTS[Purpose.marketing]
    for row in rows:
        delivery_id, client_id, chat_id, merged, c_tz = row[:5]
        user_id, u_tz, _tg, _lang, blocked_at, unreachable_at, granted = row[8:]
        zone = c_tz or u_tz
        if (
            client_id is not None
            and (at := scheduled_at(campaign, zone, default_tz)) is not None
            and now < at
        ):
            later.setdefault(at, []).append(delivery_id)  # the time chosen, on this recipient's clock
        elif client_id is None or merged is not None or chat_id is None:
            settled.setdefault(DeliveryStatus.no_consent, []).append(delivery_id)
        elif not (default_consent if granted is None else granted):
            settled.setdefault(DeliveryStatus.no_consent, []).append(delivery_id)
        elif user_id is not None and (blocked_at is not None or unreachable_at is not None):
            settled.setdefault(DeliveryStatus.blocked, []).append(delivery_id)
        elif (wait := wait_until(now, zone, default_tz)) is not None:
            later.setdefault(wait, []).append(delivery_id)
        else:
            candidates.append(row)
    lately = await sent_lately_of(session, [r[1] for r in candidates], now)
    go = []
    for row in candidates:
        if lately.get(row[1], 0) >= cap:
            settled.setdefault(DeliveryStatus.capped, []).append(row[0])
        else:
            go.append(row)
    queued = d.status == DeliveryStatus.queued
    for status, ids in settled.items():
        await session.execute(
            update(d)
            .where(d.id.in_(ids), queued)
            .values(status=status, at=now)
            .execution_options(synchronize_session=False)
        )
    for at, ids in later.items():
        await session.execute(
            update(d)
            .where(d.id.in_(ids), queued)
            .values(send_after=at)
            .execution_options(synchronize_session=False)
        )
    claimed: set[int] = set()
    if go:
        done = await session.execute(
            update(d)
            .where(d.id.in_([r[0] for r in go]), queued)
            .values(status=DeliveryStatus.sending, at=now, claimed_by=runner)
            .returning(d.id)
            .execution_options(synchronize_session=False)
        )
        claimed = set(done.scalars().all())
    go = [r for r in go if r[0] in claimed]
    values = await values_many(session, campaign, [(r[1], r[6], r[7]) for r in go])
    outgoing = []
    for row in go:
        tg_lang, u_lang, c_lang = row[10], row[11], row[5]
        if row[8] is not None:
            language = language_of(u_lang, tg_lang, campaign.default_language)
        else:
            language = c_lang if c_lang in SUPPORTED_LANGUAGES else campaign.default_language
        outgoing.append(Outgoing(row[0], row[1], row[2], language, values[row[1]]))
    counts = {status: len(ids) for status, ids in settled.items()}
    if later:
        counts[DeliveryStatus.queued] = sum(len(ids) for ids in later.values())
    return Claimed(outgoing, counts)


async def values_many(
    session: AsyncSession, campaign: Campaign | None, clients: list[tuple[int, str | None, int]]
) -> dict[int, Values]:
    """The placeholders' values of several clients ((id, name, owner id) each): three reads in all."""
    if not clients:
        return {}
    ids = [c[0] for c in clients]
    accounts = {
        a.client_id: a
        for a in (
            await session.scalars(select(LoyaltyAccount).where(LoyaltyAccount.client_id.in_(ids)))
        ).all()
    }
    owner_ids = {c[2] for c in clients}
    owners = {o.id: o for o in (await session.scalars(select(User).where(User.id.in_(owner_ids)))).all()}
    tiers = await program(session)
    link = await links.url_for(session, campaign) if campaign is not None else ""
    out = {}
    for client_id, name, owner_id in clients:
        account = accounts.get(client_id)
        tier, _next = tiers.tier_for(account.total_spend if account is not None else 0)  # type: ignore[arg-type]
        owner = owners.get(owner_id)
        first = (name or "").split()
        out[client_id] = Values(
            first_name=first[0] if first else "",
            points=account.balance if account is not None else 0,
            tier=tier.name,
            manager=owner.display_name if owner is not None else "",
            link=link,
        )
    return out


def text_for(campaign: Campaign, language: str) -> str:
    return campaign.texts.get(language) or campaign.texts[campaign.default_language]


async def values_of(session: AsyncSession, client: Client, campaign: Campaign | None = None) -> Values:
    return (await values_many(session, campaign, [(client.id, client.name, client.owner_id)]))[client.id]


async def sample(session: AsyncSession, viewer: User, campaign: Campaign, basis: query.Basis) -> Values:
    """The values of the first reachable client of the audience (the preview's sample recipient)."""
    aud = await audience(session, viewer, campaign.segment_id)
    q = (
        query.reachable_clients_of(aud.conditions, viewer, basis, Purpose.marketing)
        .order_by(Client.id)
        .limit(1)
    )
    client_id = await session.scalar(q)
    client = await session.get(Client, client_id) if client_id is not None else None
    if client is None:
        return Values(
            first_name=viewer.first_name or "",
            points=0,
            tier=basis.tiers[0].name,
            manager=viewer.display_name,
            link=await links.url_for(session, campaign),
        )
    return await values_of(session, client, campaign)


@dataclass(frozen=True, slots=True)
class Result:
    delivery_id: int
    status: DeliveryStatus
    message_id: int | None = None
    error: str | None = None


async def record_many(session: AsyncSession, results: list[Result], now: datetime) -> None:
    """The outcomes of sends (rows still "sending": a row another step turned "unknown" stays so), in
    one executemany."""
    if not results:
        return
    t = CampaignDelivery.__table__
    stmt = (
        update(t)
        .where(t.c.id == bindparam("b_id"), t.c.status == DeliveryStatus.sending.value)
        .values(
            status=bindparam("b_status"), at=now, tg_message_id=bindparam("b_mid"), error=bindparam("b_err")
        )
    )
    await session.execute(
        stmt,
        [
            {
                "b_id": r.delivery_id,
                "b_status": r.status.value,
                "b_mid": r.message_id,
                "b_err": r.error[:200] if r.error else None,
            }
            for r in results
        ],
    )


async def release(session: AsyncSession, delivery_ids: list[int]) -> None:
    """Rows claimed but never sent (a Pause or Cancel came first) go back to the queue."""
    if delivery_ids:
        await session.execute(
            update(CampaignDelivery)
            .where(CampaignDelivery.id.in_(delivery_ids), CampaignDelivery.status == DeliveryStatus.sending)
            .values(status=DeliveryStatus.queued, claimed_by=None)
            .execution_options(synchronize_session=False)
        )


async def set_errors(session: AsyncSession, campaign_id: int, errors: int) -> None:
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(errors_in_row=errors)
        .execution_options(synchronize_session=False)
    )


async def pause_by_runner(session: AsyncSession, campaign_id: int, runner: int) -> bool:
    """The engine pauses a campaign it is sending (too many failures in a row); False when it
    isn't sending it any more (paused, cancelled or taken over meanwhile)."""
    done = await session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id, Campaign.status == CampaignStatus.sending, Campaign.runner == runner
        )
        .values(status=CampaignStatus.paused)
        .execution_options(synchronize_session=False)
    )
    return done.rowcount == 1


async def last_error(session: AsyncSession, campaign_id: int) -> str:
    q = (
        select(CampaignDelivery.error)
        .where(CampaignDelivery.campaign_id == campaign_id, CampaignDelivery.status == DeliveryStatus.failed)
        .order_by(CampaignDelivery.at.desc(), CampaignDelivery.id.desc())
        .limit(1)
    )
    return (await session.scalar(q)) or "?"


async def sending_elsewhere(session: AsyncSession, campaign_id: int) -> bool:
    q = select(CampaignDelivery.id).where(
        CampaignDelivery.campaign_id == campaign_id, CampaignDelivery.status == DeliveryStatus.sending
    )
    return await session.scalar(q.limit(1)) is not None


async def next_due(session: AsyncSession, campaign_id: int) -> datetime | None:
    q = select(func.min(CampaignDelivery.send_after)).where(
        CampaignDelivery.campaign_id == campaign_id, CampaignDelivery.status == DeliveryStatus.queued
    )
    return await session.scalar(q)


async def revive(session: AsyncSession, now: datetime) -> int:
    """The planner's safety net: a campaign still sending with no step queued or running (its last
    step gave up after its attempts) gets a new step. Returns how many were queued."""
    ids = (await session.scalars(select(Campaign.id).where(Campaign.status == CampaignStatus.sending))).all()
    queued = 0
    for campaign_id in ids:
        prefix = f"{STEP_JOB}:{campaign_id}:"
        live = await session.scalar(
            select(Job.id)
            .where(
                Job.kind == STEP_JOB,
                Job.idempotency_key.startswith(prefix, autoescape=True),
                Job.status.in_((JobStatus.pending, JobStatus.running)),
            )
            .limit(1)
        )
        if live is None:
            key = f"{prefix}revive:{now:%Y%m%d%H%M%S}"
            queued += await enqueue(session, STEP_JOB, {"campaign_id": campaign_id}, now, key=key)
    return queued


# --- counts (the progress message; /campaigns: services/campaigns/results.py) ---


@dataclass(frozen=True, slots=True)
class Counts:
    by_status: dict[DeliveryStatus, int]

    def __getitem__(self, status: DeliveryStatus) -> int:
        return self.by_status.get(status, 0)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def left(self) -> int:
        return sum(self[s] for s in LEFT)


async def counts(session: AsyncSession, campaign_id: int) -> Counts:
    q = (
        select(CampaignDelivery.status, func.count())
        .where(CampaignDelivery.campaign_id == campaign_id)
        .group_by(CampaignDelivery.status)
    )
    return Counts({DeliveryStatus(s): int(n) for s, n in (await session.execute(q)).all()})


async def click(session: AsyncSession, campaign_id: int, telegram_id: int, now: datetime) -> bool:
    """A press of "I'm interested" by a recipient: recorded once per person. False: already recorded."""
    client = await session.scalar(select(Client).where(Client.telegram_id == telegram_id))
    if client is None:
        raise NotFound()
    got = await session.scalar(
        select(CampaignDelivery.id).where(
            CampaignDelivery.campaign_id == campaign_id,
            CampaignDelivery.client_id == client.id,
            CampaignDelivery.status == DeliveryStatus.sent,
        )
    )
    if got is None:
        raise NotFound()
    existing = await session.scalar(
        select(CampaignClick.id).where(
            CampaignClick.campaign_id == campaign_id, CampaignClick.client_id == client.id
        )
    )
    if existing is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(CampaignClick(campaign_id=campaign_id, client_id=client.id, at=now))
    except IntegrityError:  # pressed twice at once: the other press recorded it
        return False
    return True
