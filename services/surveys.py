"""Satisfaction surveys: CSAT (1–5), then NPS (0–10), then an optional comment.

Contract used by other services (kept while this module grows):
- after(session, trigger, client_id, manager_id, ref_id, now): something happened that may earn a survey;
  trigger is "contact" (a logged interaction), "purchase" or "deal_won".

Rules. A trigger plans a survey `delay` after the event when the admins have it on, the client is linked
to the bot, has said yes to surveys and had no survey in the last 14 days (nor one still planned). The
queued job (scheduler/surveys.py) checks again when it is due: the client is still linked (the recipient
is resolved then, never taken from the plan), still has consent, still no other survey in 14 days, and
it is daytime (10:00–20:00) in the customer's time zone — otherwise it runs again at the next 10:00.
A delivered survey takes answers for 7 days, only from the account it was sent to; each answer is saved
as it comes and only once. A low score (CSAT <= 3 or NPS <= 6) tells the client's owner at once and
gives them a follow-up reminder.

Nothing here imports aiogram; texts are rendered by bot/views/surveys.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.clients import Client
from models.consent import Purpose
from models.surveys import Survey, SurveySetting, SurveyStatus, SurveyTrigger
from models.users import Role, User
from services import consent, reminders
from services.access import sees_everything
from services.errors import DomainError, NotAllowed, NotFound
from services.notify import notify
from services.queue import enqueue

SEND_JOB = "survey.send"
LIMIT = timedelta(days=14)  # at most one survey per customer in this long
LIFETIME = timedelta(days=7)  # answers are taken this long after the survey was sent
REJECTED = "rejected"  # the outcome of a survey Telegram refused for good (e.g. 400 bad request)
DAY_START, DAY_END = time(10, 0), time(20, 0)  # delivered only in this window, customer's local time
COMMENT_LIMIT = 1000
CSAT_SCORES = range(1, 6)
NPS_SCORES = range(0, 11)
LOW_CSAT, LOW_NPS = 3, 6  # at or below: the owner is told and gets a follow-up
FOLLOWUP_AFTER = timedelta(hours=1)
MAX_DELAY_MINUTES = 30 * 24 * 60
PERIODS = (30, 90)  # days shown in /surveys
MANAGERS_PAGE = 8


@dataclass(frozen=True, slots=True)
class TriggerSetting:
    trigger: SurveyTrigger
    enabled: bool
    delay_minutes: int

    @property
    def delay(self) -> timedelta:
        return timedelta(minutes=self.delay_minutes)


DEFAULTS: dict[SurveyTrigger, TriggerSetting] = {
    SurveyTrigger.contact: TriggerSetting(SurveyTrigger.contact, True, 2 * 60),
    SurveyTrigger.purchase: TriggerSetting(SurveyTrigger.purchase, True, 24 * 60),
    SurveyTrigger.deal_won: TriggerSetting(SurveyTrigger.deal_won, True, 24 * 60),
}
TRIGGERS: tuple[SurveyTrigger, ...] = tuple(DEFAULTS)


def trigger_of(value: str) -> SurveyTrigger:
    try:
        return SurveyTrigger(value)
    except ValueError:
        raise DomainError("bad_choice") from None


# --- settings (admins) ---


async def settings(session: AsyncSession) -> dict[SurveyTrigger, TriggerSetting]:
    rows = (await session.scalars(select(SurveySetting))).all()
    result = dict(DEFAULTS)
    for row in rows:
        result[row.trigger] = TriggerSetting(row.trigger, row.enabled, row.delay_minutes)
    return result


async def setting(session: AsyncSession, trigger: SurveyTrigger) -> TriggerSetting:
    row = await session.get(SurveySetting, trigger)
    return DEFAULTS[trigger] if row is None else TriggerSetting(row.trigger, row.enabled, row.delay_minutes)


def _require_admin(user: User) -> None:
    if user.effective_role != Role.admin:
        raise NotAllowed()


async def _store(
    session: AsyncSession, user: User, trigger: SurveyTrigger, now: datetime, **values: object
) -> TriggerSetting:
    row = await session.get(SurveySetting, trigger, with_for_update=True)
    if row is None:
        base = DEFAULTS[trigger]
        row = SurveySetting(trigger=trigger, enabled=base.enabled, delay_minutes=base.delay_minutes)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    row.updated_at, row.updated_by = now, user.id
    await session.flush()
    return TriggerSetting(row.trigger, row.enabled, row.delay_minutes)


async def set_enabled(
    session: AsyncSession, user: User, trigger: SurveyTrigger, enabled: bool, now: datetime
) -> TriggerSetting:
    """Turn a trigger on or off; asking for the state it already has (a button pressed twice) is
    refused with "survey_setting_same" and changes nothing."""
    _require_admin(user)
    if (await setting(session, trigger)).enabled == enabled:
        raise DomainError("survey_setting_same", enabled=enabled)
    return await _store(session, user, trigger, now, enabled=enabled)


async def set_delay(
    session: AsyncSession, user: User, trigger: SurveyTrigger, minutes: int, now: datetime
) -> TriggerSetting:
    _require_admin(user)
    if not 0 <= minutes <= MAX_DELAY_MINUTES:
        raise DomainError("survey_delay_range")
    return await _store(session, user, trigger, now, delay_minutes=minutes)


_UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes", "мин", "минута", "минуты", "минут", "м"), 1),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours", "ч", "час", "часа", "часов"), 60),
    **dict.fromkeys(("d", "day", "days", "д", "дн", "день", "дня", "дней", "сут", "суток"), 24 * 60),
}
_PART = re.compile(r"(\d{1,6}(?:[.,]\d{1,2})?)\s*([^\d\s.,]*)\.?")


def parse_delay(text: str) -> int:
    """ "2h", "2 часа", "90 min", "1 день", "1d 12h", "1,5 ч", a bare number = hours -> minutes.

    Raises DomainError: survey_delay_invalid (can't read it), survey_delay_range (over 30 days)."""
    value = " ".join((text or "").casefold().split())
    if not value or len(value) > 40:
        raise DomainError("survey_delay_invalid")
    total, pos = 0.0, 0
    for m in _PART.finditer(value):
        if value[pos : m.start()].strip():
            raise DomainError("survey_delay_invalid")
        unit = m.group(2) or "h"
        if unit not in _UNITS:
            raise DomainError("survey_delay_invalid")
        total += float(m.group(1).replace(",", ".")) * _UNITS[unit]
        pos = m.end()
    if pos == 0 or value[pos:].strip():
        raise DomainError("survey_delay_invalid")
    minutes = round(total)
    if minutes > MAX_DELAY_MINUTES:
        raise DomainError("survey_delay_range")
    return minutes


# --- planning ---


async def _recent(
    session: AsyncSession, client_id: int, now: datetime, *, sending: int | None = None
) -> bool:
    """Planning: does the client have a survey sent in the last 14 days, or one still planned?
    Sending survey `sending`: has another one of theirs been sent in the last 14 days? (Another plan
    doesn't count then: of two plans, e.g. of two merged records, claim() lets one out.)"""
    conditions = [Survey.client_id == client_id]
    if sending is None:
        conditions.append(
            or_(
                # a plan whose job died long ago (a message Telegram refused) doesn't block forever
                and_(Survey.status == SurveyStatus.planned, Survey.due_at > now - LIMIT),
                Survey.sent_at > now - LIMIT,
            )
        )
    else:
        conditions += [Survey.sent_at > now - LIMIT, Survey.id != sending]
    return await session.scalar(select(Survey.id).where(*conditions).limit(1)) is not None


def job_key(survey_id: int) -> str:
    return f"survey:{survey_id}"


async def after(
    session: AsyncSession, trigger: str, client_id: int, manager_id: int | None, ref_id: int, now: datetime
) -> Survey | None:
    """Plans a survey when the rules allow one (settings, 14-day limit, consent at send time).

    The answers count for the client's owner at this moment (`manager_id` from the caller is used only
    for a client without one). Returns the planned survey, or None when no survey is due for this
    event. Runs in the caller's transaction (only flushes)."""
    kind = SurveyTrigger(trigger)  # a wrong trigger is a programming error: ValueError
    rule = await setting(session, kind)
    if not rule.enabled:
        return None
    # The client's row is locked so two events of the same client at once plan one survey, not two.
    client = await session.get(Client, client_id, with_for_update=True)
    if client is None or client.merged_into_id is not None or client.telegram_id is None:
        return None
    if not await consent.allowed(session, client.id, Purpose.surveys):
        return None
    if await _recent(session, client.id, now):
        return None
    survey = Survey(
        client_id=client.id,
        manager_id=client.owner_id or manager_id,
        trigger=kind,
        ref_id=ref_id,
        status=SurveyStatus.planned,
        planned_at=now,
        due_at=now + rule.delay,
    )
    session.add(survey)
    await session.flush()
    await enqueue(session, SEND_JOB, {"survey_id": survey.id}, survey.due_at, key=job_key(survey.id))
    return survey


# --- delivery (the job's side) ---


def zone_of(*names: str | None) -> ZoneInfo:
    """The first valid IANA zone among names (the last one is the configured default)."""
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def wait_for_daytime(now: datetime, zone: ZoneInfo) -> timedelta | None:
    """None inside 10:00–20:00 local; otherwise how long until the next local 10:00."""
    local = now.astimezone(zone)
    if DAY_START <= local.time() < DAY_END:
        return None
    day = local.date() if local.time() < DAY_START else local.date() + timedelta(days=1)
    start = datetime.combine(day, DAY_START).replace(tzinfo=zone).astimezone(UTC)
    return start - now


@dataclass(slots=True)
class Plan:
    """What the job should do with a due survey: skip it (`skip` is the reason), wait (`wait`), or
    send it to `chat_id` (`user`: that account's row, if the bot knows it)."""

    survey: Survey | None = None
    client: Client | None = None
    user: User | None = None
    chat_id: int | None = None
    skip: str | None = None
    wait: timedelta | None = None


def _skip(survey: Survey, reason: str) -> Plan:
    survey.status, survey.outcome = SurveyStatus.skipped, reason
    return Plan(survey=survey, skip=reason)


async def for_delivery(session: AsyncSession, survey_id: int, now: datetime, default_tz: str) -> Plan:
    """Check every rule again at the moment of sending. A skip is recorded on the survey (in the job's
    transaction); a wait records nothing."""
    # No row lock here: claim() takes the survey in its own transaction right before the send.
    survey = await session.get(Survey, survey_id)
    # "sending": claimed by an earlier run of this job that never finished (crash, network): go on.
    if survey is None or survey.status not in (SurveyStatus.planned, SurveyStatus.sending):
        return Plan(survey=survey, skip="skipped")
    client = await session.get(Client, survey.client_id)
    if client is None or client.merged_into_id is not None:
        return _skip(survey, "gone")
    if client.telegram_id is None:  # unlinked since planning: nobody to send it to
        return _skip(survey, "not_linked")
    chat_id = client.telegram_id  # resolved now: a re-linked client gets it on their current account
    user = await session.get(User, chat_id)
    wait = wait_for_daytime(now, zone_of(client.timezone, user.timezone if user else None, default_tz))
    if wait is not None:
        return Plan(survey=survey, client=client, wait=wait)
    if not (await setting(session, survey.trigger)).enabled:
        return _skip(survey, "disabled")
    if await _recent(session, client.id, now, sending=survey.id):
        return _skip(survey, "limit")
    if not await consent.allowed(session, client.id, Purpose.surveys):
        return _skip(survey, "no_consent")
    return Plan(survey=survey, client=client, user=user, chat_id=chat_id)


async def claim(
    session_factory: async_sessionmaker[AsyncSession], survey_id: int, client_id: int, now: datetime
) -> bool:
    """Right before sending, in its own short transaction (committed at once): mark the survey as being
    sent unless another survey of the client was sent (or is being sent) in the last 14 days.

    Two surveys of one client due together (the plans of two merged records) run in parallel jobs:
    this claim is what lets only one through. On PostgreSQL the client's row lock orders them, on
    SQLite the single writer does; the lock is never held while the message is on its way."""
    other = (
        select(Survey.id)
        .where(
            Survey.client_id == client_id,
            Survey.id != survey_id,
            Survey.status.in_([SurveyStatus.sent, SurveyStatus.sending]),
            Survey.sent_at > now - LIMIT,
        )
        .exists()
    )
    async with session_factory() as session, session.begin():
        await session.execute(select(Client.id).where(Client.id == client_id).with_for_update())
        result = await session.execute(
            update(Survey)
            .where(
                Survey.id == survey_id,
                Survey.status.in_([SurveyStatus.planned, SurveyStatus.sending]),
                ~other,
            )
            .values(status=SurveyStatus.sending, sent_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def mark_limited(survey: Survey) -> None:
    """The claim lost to another survey of the client: skipped, in the job's transaction."""
    survey.status, survey.outcome, survey.sent_at = SurveyStatus.skipped, "limit", None


def mark_delivered(survey: Survey, chat_id: int, outcome: str, now: datetime) -> None:
    """`outcome` is the sender's: "sent", or "blocked"/"unreachable"/REJECTED (recorded as not
    delivered: it leaves "sending", and without sent_at it doesn't count toward the 14-day limit)."""
    if outcome == "sent":
        survey.status = SurveyStatus.sent
        survey.sent_at, survey.expires_at, survey.chat_id = now, now + LIFETIME, chat_id
        survey.outcome = None
    else:
        survey.status, survey.outcome, survey.chat_id = SurveyStatus.undelivered, outcome, chat_id
        survey.sent_at = None


# --- answers (the customer's side) ---


async def _answerable(session: AsyncSession, user_id: int, survey_id: int, now: datetime) -> Survey:
    """The survey sent to this account, still open. Someone else's, a forged id, or one never sent is
    "survey_not_found"; one older than 7 days is "survey_expired"."""
    survey = await session.get(Survey, survey_id)
    if survey is None or survey.status != SurveyStatus.sent or survey.chat_id != user_id:
        raise NotFound("survey_not_found")
    if survey.expires_at is None or now >= survey.expires_at:
        raise DomainError("survey_expired")
    return survey


async def _cas(session: AsyncSession, survey: Survey, empty: object, **values: object) -> bool:
    """Set values only while `empty` (a column) is still NULL: a second press changes nothing."""
    result = await session.execute(
        update(Survey)
        .where(Survey.id == survey.id, empty.is_(None))  # type: ignore[attr-defined]
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(survey)
    return result.rowcount == 1


def is_low(survey: Survey) -> bool:
    return (survey.csat is not None and survey.csat <= LOW_CSAT) or (
        survey.nps is not None and survey.nps <= LOW_NPS
    )


# Renders the follow-up reminder's text for the owner (in the owner's language): (owner, client, survey).
FollowupText = Callable[[User, Client, Survey], str]


@dataclass(slots=True)
class Answer:
    survey: Survey
    alerted: bool = False  # this answer told the owner about a low score


async def _alert(session: AsyncSession, survey: Survey, now: datetime, followup: FollowupText) -> bool:
    """A low score, the first time: the client's owner is told at once (a queued notice with the card
    button) and gets a follow-up reminder."""
    if not is_low(survey) or survey.alerted_at is not None:
        return False
    if not await _cas(session, survey, Survey.alerted_at, alerted_at=now):
        return False
    client = await session.get(Client, survey.client_id)
    owner = await session.get(User, client.owner_id) if client is not None else None
    if client is None or owner is None:
        return False
    await notify(
        session,
        owner.id,
        "survey_low",
        now,
        key=f"survey-low:{survey.id}",
        client_id=client.id,
        name=client.name,
        csat=survey.csat,
        nps=survey.nps,
    )
    reminder = await reminders.create(
        session,
        owner.id,
        reminders.clean_text(followup(owner, client, survey)),
        now + FOLLOWUP_AFTER,
        now,
        client_id=client.id,
        created_by=owner.id,
    )
    survey.reminder_id = reminder.id
    await session.flush()
    return True


async def answer(
    session: AsyncSession,
    user_id: int,
    survey_id: int,
    question: str,
    score: int,
    now: datetime,
    followup: FollowupText,
) -> Answer:
    """Save a CSAT ("csat") or NPS ("nps") score once. The NPS comes after the CSAT. Raises
    DomainError: survey_not_found, survey_expired, survey_bad_score, survey_answered (already saved),
    survey_order (NPS before CSAT)."""
    survey = await _answerable(session, user_id, survey_id, now)
    if question == "csat":
        if score not in CSAT_SCORES:
            raise DomainError("survey_bad_score")
        if not await _cas(session, survey, Survey.csat, csat=score, csat_at=now):
            raise DomainError("survey_answered")
    elif question == "nps":
        if score not in NPS_SCORES:
            raise DomainError("survey_bad_score")
        if survey.csat is None:
            raise DomainError("survey_order")
        if not await _cas(session, survey, Survey.nps, nps=score, nps_at=now):
            raise DomainError("survey_answered")
    else:
        raise DomainError("survey_bad_score")
    return Answer(survey, alerted=await _alert(session, survey, now, followup))


def clean_comment(text: str | None) -> str:
    value = (text or "").strip()
    if not value:
        raise DomainError("empty")
    if len(value) > COMMENT_LIMIT:
        raise DomainError("too_long", limit=COMMENT_LIMIT, length=len(value))
    return value


async def finish(
    session: AsyncSession, user_id: int, survey_id: int, text: str | None, now: datetime
) -> Survey:
    """The comment (text) or Skip (None) after the NPS. Once only: "survey_answered" after that.
    A comment on a survey whose low score was reported goes to the owner too."""
    survey = await _answerable(session, user_id, survey_id, now)
    if survey.nps is None:
        raise DomainError("survey_order")
    comment = clean_comment(text) if text is not None else None
    if not await _cas(session, survey, Survey.completed_at, completed_at=now, comment=comment):
        raise DomainError("survey_answered")
    if comment is not None and survey.alerted_at is not None:
        client = await session.get(Client, survey.client_id)
        if client is not None:
            await notify(
                session,
                client.owner_id,
                "survey_comment",
                now,
                key=f"survey-comment:{survey.id}",
                client_id=client.id,
                name=client.name,
                csat=survey.csat,
                nps=survey.nps,
                comment=comment,
            )
    return survey


# --- /surveys: the figures ---


@dataclass(slots=True)
class Figures:
    sent: int = 0
    answered: int = 0
    csat_count: int = 0
    csat_sum: int = 0
    csat_good: int = 0  # 4 or 5
    nps_count: int = 0
    promoters: int = 0  # 9 or 10
    detractors: int = 0  # 0 to 6

    def add(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, f) + getattr(other, f) for f in Figures.__slots__))

    @property
    def csat_share(self) -> float | None:
        return self.csat_good / self.csat_count if self.csat_count else None

    @property
    def csat_average(self) -> float | None:
        return self.csat_sum / self.csat_count if self.csat_count else None

    @property
    def nps(self) -> float | None:
        """% promoters minus % detractors, from -100 to 100."""
        return 100 * (self.promoters - self.detractors) / self.nps_count if self.nps_count else None

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None


@dataclass(slots=True)
class Stats:
    periods: dict[int, Figures]  # days -> figures of surveys sent in that many last days
    since: dict[int, datetime]
    manager: User | None = None  # whose figures (None: everyone's)
    managers: list[tuple[int, str, int]] = field(default_factory=list)  # admins: (id, name, sent in 90 d)
    page: int = 0
    pages: int = 1


def _figure_columns() -> list:
    def count(condition) -> object:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [
        func.count(),
        count(or_(Survey.csat.is_not(None), Survey.nps.is_not(None))),
        func.count(Survey.csat),
        func.coalesce(func.sum(Survey.csat), 0),
        count(Survey.csat >= 4),
        func.count(Survey.nps),
        count(Survey.nps >= 9),
        count(Survey.nps <= LOW_NPS),
    ]


async def stats(
    session: AsyncSession, user: User, now: datetime, *, manager_id: int | None = None, page: int = 0
) -> Stats:
    """Figures of the surveys sent in the last 30 and 90 days: a manager's own (whatever they ask for);
    an admin's: everyone's, or one manager's with `manager_id`, and the list of managers to pick."""
    admin = sees_everything(user)
    if not admin:
        manager_id = user.id
    manager = await session.get(User, manager_id) if manager_id is not None else None
    if manager_id is not None and manager is None:
        raise NotFound()
    since = {days: now - timedelta(days=days) for days in PERIODS}
    recent = since[PERIODS[0]]
    bucket = case((Survey.sent_at >= recent, PERIODS[0]), else_=PERIODS[1]).label("bucket")
    where = [Survey.sent_at >= since[PERIODS[1]], Survey.status == SurveyStatus.sent]
    if manager_id is not None:
        where.insert(0, Survey.manager_id == manager_id)
    rows = (await session.execute(select(bucket, *_figure_columns()).where(*where).group_by(bucket))).all()
    by_bucket = {row[0]: Figures(*(int(v) for v in row[1:])) for row in rows}
    short = by_bucket.get(PERIODS[0], Figures())
    result = Stats(
        periods={PERIODS[0]: short, PERIODS[1]: short.add(by_bucket.get(PERIODS[1], Figures()))},
        since=since,
        manager=manager,
    )
    if admin and manager_id is None:
        result.managers, result.page, result.pages = await _managers(session, since[PERIODS[1]], page)
    return result


async def _managers(session: AsyncSession, since: datetime, page: int) -> tuple[list, int, int]:
    """Managers with surveys sent since `since`, by name, a page at a time."""
    rows = (
        await session.execute(
            select(User, func.count())
            .join(Survey, Survey.manager_id == User.id)
            .where(Survey.sent_at >= since, Survey.status == SurveyStatus.sent)
            .group_by(User.id)
        )
    ).all()
    people = sorted(((u.id, u.display_name, n) for u, n in rows), key=lambda r: (r[1].casefold(), r[0]))
    pages = max(1, -(-len(people) // MANAGERS_PAGE))
    page = min(max(page, 0), pages - 1)
    return people[page * MANAGERS_PAGE : (page + 1) * MANAGERS_PAGE], page, pages
