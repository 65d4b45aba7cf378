"""When, in the words a manager types: Russian or English, in their own time zone.

A small hand-written grammar (no library: it parses in microseconds and covers what people type):

- relative: "через 2 часа", "через 15 минут", "через полчаса", "in 3 days", "in an hour", "+15m";
- a day: "сегодня", "завтра", "послезавтра", "today", "tomorrow", "в пятницу", "friday", "next friday",
  "25.12", "25.12.2026", "25/12", "2026-12-25", "25 декабря", "dec 25th", "next week";
- a time: "в 10", "10:30", "в 10.30", "at 17", "3pm", "в 9 утра", "в 7 вечера", "в полдень", "noon",
  "утром", "вечером", "in the evening";
- and a day with a time in either order: "завтра в 10", "в пятницу 15:00", "25.12 9:30", "15:00 friday".

Rules: a day without a time means 09:00 local; a weekday means the next such day after today; a
"25.12" that already passed this year means next year; a time alone means its next occurrence (today,
or tomorrow if it has passed). Minutes and hours are exact offsets from now; days, weeks and months
are calendar steps in the person's time zone. Local times are resolved with zoneinfo (a time that
doesn't exist on a spring-forward day moves forward by the gap; an ambiguous one takes the first).

Errors are DomainError("time_unknown") for what isn't a time and DomainError("time_past") for a time
that has passed. Nothing else is raised for any input.

The package, by section: grammar (tokens and words), parser (what was said), resolve (parse_when,
parse_date, split_when), zones (/timezone). Every public name is also importable from
`services.timeparse`, as other areas use it.
"""

from __future__ import annotations

from services.timeparse.grammar import DEFAULT_TIME, MAX_AHEAD_DAYS, MAX_TOKENS_FOR_SPLIT, Token
from services.timeparse.resolve import parse_date, parse_when, split_when
from services.timeparse.zones import COMMON_ZONES, set_timezone, utc_offset, zone_from_text

__all__ = [
    "COMMON_ZONES",
    "DEFAULT_TIME",
    "MAX_AHEAD_DAYS",
    "MAX_TOKENS_FOR_SPLIT",
    "Token",
    "parse_date",
    "parse_when",
    "set_timezone",
    "split_when",
    "utc_offset",
    "zone_from_text",
]
