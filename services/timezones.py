"""Time zones and local wall-clock arithmetic, shared by every layer (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger


def zone_of(*names: str | None) -> ZoneInfo:
    """The first valid IANA zone among `names` (put the configured default last); UTC if none is."""
    for name in names:
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def next_local_occurrence(hour: int, tz_name: str, now: datetime, minute: int = 0) -> datetime:
    """The next moment (UTC) after `now` at which the wall clock in `tz_name` shows hour:minute
    (APScheduler's cron trigger, so DST gaps and repeats are handled)."""
    tz = ZoneInfo(tz_name)
    trigger = CronTrigger(hour=hour, minute=minute, timezone=tz)
    fire = trigger.get_next_fire_time(None, now.astimezone(tz))
    if fire is None:  # a cron trigger with an hour and a minute always fires again
        raise RuntimeError(f"no next {hour:02}:{minute:02} in {tz_name}")
    return fire.astimezone(UTC)
