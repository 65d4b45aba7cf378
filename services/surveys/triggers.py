"""Survey settings per trigger: on or off, and the delay after the event (admins)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.surveys import SurveySetting, SurveyTrigger
from models.users import Role, User
from services.errors import DomainError, NotAllowed
from services.surveys.rules import MAX_DELAY_MINUTES


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
