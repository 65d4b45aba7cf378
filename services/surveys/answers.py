"""Answers (the customer's side): CSAT, NPS, the comment; a low score tells the owner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.surveys import Survey, SurveyStatus
from models.users import User
from services import reminders
from services.errors import DomainError, NotFound
from services.notify import notify
from services.surveys.rules import COMMENT_LIMIT, CSAT_SCORES, FOLLOWUP_AFTER, LOW_CSAT, LOW_NPS, NPS_SCORES


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
