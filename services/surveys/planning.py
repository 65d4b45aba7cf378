"""Planning a survey after an event (a contact, a purchase, a won deal): the rules that allow one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.consent import Purpose
from models.surveys import Survey, SurveyStatus, SurveyTrigger
from services import consent
from services.queue import enqueue
from services.surveys.rules import LIMIT, SEND_JOB
from services.surveys.triggers import setting


async def recent_survey(
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
    if await recent_survey(session, client.id, now):
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
