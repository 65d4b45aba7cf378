"""Delivery (the job's side): every rule checked again when due, daytime, the claim, the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.clients import Client
from models.consent import Purpose
from models.surveys import Survey, SurveyStatus
from models.users import User
from services import consent
from services.surveys.planning import recent_survey
from services.surveys.rules import DAY_END, DAY_START, LIFETIME, LIMIT
from services.surveys.triggers import setting
from services.timezones import zone_of


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
    if await recent_survey(session, client.id, now, sending=survey.id):
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
