"""The periods a report covers, as local dates in the reader's time zone (both ends included)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class Period(enum.StrEnum):
    this_month = "tm"
    last_month = "lm"
    days90 = "90"
    months12 = "12"


@dataclass(frozen=True, slots=True)
class Span:
    period: Period
    first: date
    last: date  # included

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def month_start(day: date, back: int = 0) -> date:
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def span(period: Period, now: datetime, tz: ZoneInfo) -> Span:
    today = now.astimezone(tz).date()
    if period is Period.this_month:
        return Span(period, today.replace(day=1), today)
    if period is Period.last_month:
        first = month_start(today, 1)
        return Span(period, first, today.replace(day=1) - timedelta(days=1))
    if period is Period.days90:
        return Span(period, today - timedelta(days=89), today)
    return Span(period, month_start(today, 11), today)


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The start of a local day, UTC."""
    return datetime.combine(day, time(0), tz).astimezone(UTC)


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def months(first: date, last: date) -> list[date]:
    out, at = [], first.replace(day=1)
    while at <= last:
        out.append(at)
        at = month_start(at, -1)
    return out


def weeks(first: date, last: date) -> list[date]:
    out, at = [], week_of(first)
    while at <= last:
        out.append(at)
        at += timedelta(days=7)
    return out
