"""Resolution: what was said -> a moment in the person's time zone; the public parse functions."""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.errors import DomainError
from services.timeparse.grammar import (
    _DAYPART_DEFAULT,
    _TEXT_LIMIT,
    DEFAULT_TIME,
    MAX_AHEAD_DAYS,
    MAX_TOKENS_FOR_SPLIT,
    _tokens,
)
from services.timeparse.parser import _Fail, _Parser, _Said

# --- resolution: what was said -> a moment ------------------------------------------------------


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return ZoneInfo("UTC")


def _add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))


def _explicit_date(day: int, month: int, year: int | None, today: date) -> date:
    if year is not None:
        try:
            return date(year, month, day)
        except ValueError:
            raise _Fail from None
    for y in range(today.year, today.year + 9):  # 29.02 waits for a leap year
        try:
            candidate = date(y, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise _Fail


def _the_date(s: _Said, today: date) -> date | None:
    """The local date that was named, or None when only a time (or an offset) was given."""
    if s.explicit is not None:
        return _explicit_date(*s.explicit, today)
    if s.weekday is not None:
        ahead = (s.weekday - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if s.next_week:
        return today + timedelta(days=7 - today.weekday())
    if s.day_offset is not None or s.months:
        return _add_months(today + timedelta(days=s.day_offset or 0), s.months)
    return None


def _the_time(s: _Said) -> time | None:
    if s.hour is None:
        if s.tonight:
            return time(20)
        return _DAYPART_DEFAULT[s.daypart] if s.daypart else None
    hour = s.hour
    part = s.meridiem or s.daypart
    if part is not None:
        if hour > 12 or (s.meridiem is not None and hour == 0):
            if s.meridiem is not None:
                raise _Fail  # "15 утра", "0pm"
        elif part == "morning":
            hour = 0 if hour == 12 else hour
        elif part == "day":
            hour = hour + 12 if 1 <= hour <= 6 else hour
        elif part == "evening":
            hour = hour + 12 if hour < 12 else hour
        elif part == "night":
            hour = 0 if hour == 12 else (hour + 12 if hour >= 6 else hour)
    elif s.tonight and hour < 12:
        hour += 12
    return time(hour, s.minute)


def _local(d: date, t: time, zone: ZoneInfo) -> datetime:
    """Local wall time -> UTC; a time in a spring-forward gap moves forward by the gap."""
    naive = datetime.combine(d, t)
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(UTC)


def _check(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def _said(text: str) -> _Said:
    if not isinstance(text, str) or len(text) > _TEXT_LIMIT:
        raise DomainError("time_unknown")
    try:
        return _Parser(_tokens(text)).run()
    except (_Fail, ValueError, OverflowError):
        raise DomainError("time_unknown") from None


def _resolve(s: _Said, now: datetime, zone: ZoneInfo) -> datetime:
    now = now.astimezone(UTC)
    if s.exact is not None:
        when = now + s.exact
    else:
        local_now = now.astimezone(zone)
        today = local_now.date()
        day = _the_date(s, today)
        at = _the_time(s)
        if day is None:
            if at is None:
                raise _Fail
            when = _local(today, at, zone)
            if when <= now:  # a time alone: its next occurrence
                when = _local(today + timedelta(days=1), at, zone)
        else:
            when = _local(day, at or DEFAULT_TIME, zone)
    if when - now > timedelta(days=MAX_AHEAD_DAYS):
        raise _Fail
    if when <= now:
        raise DomainError("time_past")
    return when


def parse_when(text: str, now: datetime, tz: str, lang: str | None = None) -> datetime:
    """A moment (aware, UTC) in the future. `lang` is a hint only: both languages are understood."""
    _check(now)
    s = _said(text)
    try:
        return _resolve(s, now, _zone(tz))
    except (_Fail, ValueError, OverflowError):
        raise DomainError("time_unknown") from None


def parse_date(text: str, now: datetime, tz: str, lang: str | None = None) -> date:
    """A local date, today or later ("завтра", "25.12", "2026-12-25", "in 3 days", "next friday")."""
    _check(now)
    s = _said(text)
    zone = _zone(tz)
    try:
        today = now.astimezone(zone).date()
        if s.exact is not None or not s.has_day:
            return _resolve(s, now, zone).astimezone(zone).date()
        day = _the_date(s, today)
        _the_time(s)  # still validate "15 утра"
    except (_Fail, ValueError, OverflowError):
        raise DomainError("time_unknown") from None
    if day is None:
        raise DomainError("time_unknown")
    if day < today:
        raise DomainError("time_past")
    if (day - today).days > MAX_AHEAD_DAYS:
        raise DomainError("time_unknown")
    return day


def split_when(text: str, now: datetime, tz: str, lang: str | None = None) -> tuple[datetime, str]:
    """The longest leading part of `text` that is a time, and the rest ("завтра в 10 позвонить").

    Raises time_past when the longest such part names a past time, time_unknown when none does.
    """
    _check(now)
    if not isinstance(text, str):
        raise DomainError("time_unknown")
    tokens = _tokens(text[:_TEXT_LIMIT])
    zone = _zone(tz)
    for k in range(min(len(tokens), MAX_TOKENS_FOR_SPLIT), 0, -1):
        try:
            s = _Parser(tokens[:k]).run()
            when = _resolve(s, now, zone)
        except DomainError:
            raise  # the longest part that is a time has passed
        except (_Fail, ValueError, OverflowError):
            continue
        rest = text[tokens[k - 1].end :] if k < len(tokens) or tokens[k - 1].end < len(text) else ""
        return when, rest.lstrip(" \t\n,;:.-–—").strip()
    raise DomainError("time_unknown")
