"""Dates and numbers shown in the person's language and time zone (stored values are UTC)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime


def local_dt(value: datetime, tz: str, locale: str, fmt: str = "d MMM y, HH:mm") -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return format_datetime(value.astimezone(ZoneInfo(tz)), fmt, locale=locale)
