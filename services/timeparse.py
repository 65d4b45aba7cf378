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
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.jobs import Job, JobStatus
from models.users import User
from services.errors import DomainError
from services.timezones import next_local_occurrence

DEFAULT_TIME = time(9, 0)
MAX_AHEAD_DAYS = 366 * 10
MAX_TOKENS_FOR_SPLIT = 10
_TEXT_LIMIT = 200

_TOKEN = re.compile(
    r"""
    (?P<iso>\d{4}-\d{1,2}-\d{1,2})(?:t(?=\d))?
    |(?P<clock>\d{1,2}:\d{2})(?::\d{2})?
    |(?P<dotted>\d{1,2}[./]\d{1,2}(?:[./]\d{2,4})?)(?![\d])
    |(?P<num>\d+)
    |(?P<ampm>[ap]\.m\.?)
    |(?P<word>[a-zа-яё][a-zа-яё']*)
    |(?P<plus>\+)
    |(?P<skip>[,;!?.()\-–—]+)
    |(?P<other>\S)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: str
    start: int
    end: int


def _normalise(text: str) -> str:
    """Lower case and ё→е, one character for one (so token positions point into the original)."""
    if text.isascii():
        return text.lower()
    return "".join(c if len(low := c.lower()) != 1 else low for c in text).replace("ё", "е")


def _tokens(text: str) -> list[Token]:
    text = _normalise(text)
    tokens = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if kind == "skip":
            continue
        value = m.group(kind)
        if kind == "ampm":
            kind, value = "word", value[0] + "m"
        tokens.append(Token(kind, value, m.start(), m.end()))
    return tokens


# --- vocabularies -------------------------------------------------------------------------------

_NUMBER_WORDS = {
    # Russian
    "ноль": 0, "один": 1, "одну": 1, "одна": 1, "одно": 1, "два": 2, "две": 2, "три": 3, "четыре": 4,
    "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10, "одиннадцать": 11,
    "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14, "пятнадцать": 15, "шестнадцать": 16,
    "семнадцать": 17, "восемнадцать": 18, "девятнадцать": 19, "двадцать": 20, "тридцать": 30,
    "сорок": 40, "пятьдесят": 50, "пару": 2, "пара": 2,
    # English
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "couple": 2,
}  # fmt: skip
_TENS = {20, 30, 40, 50}

# unit -> (kind, amount): kind "exact" is a timedelta, "days" and "months" are calendar steps
_UNITS: dict[str, tuple[str, int]] = {}
for _words, _unit in (
    ("минута минуту минуты минут мин м minute minutes min mins m", ("exact", 60)),
    ("час часа часов ч hour hours hr hrs h", ("exact", 3600)),
    ("сутки суток", ("exact", 86400)),
    ("день дня дней дн д day days d", ("days", 1)),
    ("неделя неделю недели недель нед week weeks wk wks w", ("days", 7)),
    ("месяц месяца месяцев мес month months mo", ("months", 1)),
    ("год года лет г year years y yr yrs", ("months", 12)),
):
    for _w in _words.split():
        _UNITS[_w] = _unit

_WEEKDAYS: dict[str, int] = {}
for _i, _words in enumerate(
    (
        "понедельник понедельника пн пнд monday mon",
        "вторник вторника вт tuesday tue tues",
        "среда среду среды ср wednesday wed",
        "четверг четверга чт thursday thu thur thurs",
        "пятница пятницу пятницы пт friday fri",
        "суббота субботу субботы сб saturday sat",
        "воскресенье воскресенья воскресение вс вск sunday sun",
    )
):
    for _w in _words.split():
        _WEEKDAYS[_w] = _i

_MONTHS: dict[str, int] = {}
for _i, _words in enumerate(
    (
        "январь января янв january jan",
        "февраль февраля фев февр february feb",
        "март марта мар march mar",
        "апрель апреля апр april apr",
        "май мая may",
        "июнь июня июн june jun",
        "июль июля июл july jul",
        "август августа авг august aug",
        "сентябрь сентября сен сент september sep sept",
        "октябрь октября окт october oct",
        "ноябрь ноября ноя нояб november nov",
        "декабрь декабря дек december dec",
    ),
    start=1,
):
    for _w in _words.split():
        _MONTHS[_w] = _i

_DAY_WORDS = {
    "сегодня": 0, "today": 0, "завтра": 1, "tomorrow": 1, "tmrw": 1, "tmr": 1, "послезавтра": 2,
    "вчера": -1, "yesterday": -1, "позавчера": -2,
}  # fmt: skip
# morning/afternoon/evening/night: default time, and how a bare hour 1-12 is read in it
_DAYPARTS = {
    "утром": "morning", "утра": "morning", "morning": "morning", "am": "morning",
    "днем": "day", "дня": "day", "afternoon": "day",
    "вечером": "evening", "вечера": "evening", "evening": "evening", "pm": "evening",
    "ночью": "night", "ночи": "night", "night": "night",
}  # fmt: skip
_DAYPART_DEFAULT = {"morning": time(9), "day": time(13), "evening": time(19), "night": time(23)}
_TIME_PREPOSITIONS = {"в", "во", "at", "к", "by", "около", "around", "до"}  # "в 10" is a time
_PREPOSITIONS = _TIME_PREPOSITIONS | {"на", "on", "for"}
_FILLERS = {"the", "this", "эту", "этот", "это", "эта", "этой", "of", "and", "и", "г", "года", "year"}
_NEXT = {"next", "следующий", "следующую", "следующее", "следующей", "следующая", "следующем", "след"}
_HOUR_WORDS = {"час", "часа", "часов", "ч", "h", "o'clock", "oclock"}
_MINUTE_WORDS = {"минута", "минуту", "минуты", "минут", "мин", "min", "mins", "minutes", "minute"}
_ORDINAL_SUFFIXES = {"st", "nd", "rd", "th", "го", "е", "ого"}


# --- the parse: tokens -> what was said ---------------------------------------------------------


@dataclass(slots=True)
class _Said:
    day_offset: int | None = None  # today + N days
    weekday: int | None = None
    next_week: bool = False
    explicit: tuple[int, int, int | None] | None = None  # day, month, year (None: this or next year)
    months: int = 0  # calendar months added (relative)
    exact: timedelta | None = None  # "через 2 часа"
    hour: int | None = None
    minute: int = 0
    meridiem: str | None = None  # a daypart written next to the hour ("9 утра", "3pm")
    daypart: str | None = None  # "утром", "in the evening"
    tonight: bool = False

    @property
    def has_day(self) -> bool:
        return (
            self.day_offset is not None
            or self.weekday is not None
            or self.next_week
            or self.explicit is not None
            or self.months != 0
        )


class _Fail(Exception):
    pass


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.t = tokens
        self.s = _Said()

    # helpers
    def kind(self, i: int) -> str | None:
        return self.t[i].kind if i < len(self.t) else None

    def word(self, i: int) -> str | None:
        return self.t[i].value if i < len(self.t) and self.t[i].kind == "word" else None

    def number(self, i: int) -> tuple[int, int] | None:
        """A number written in digits or words at i: (value, next index)."""
        if i >= len(self.t):
            return None
        tok = self.t[i]
        if tok.kind == "num":
            if len(tok.value) > 6:
                raise _Fail
            return int(tok.value), i + 1
        if tok.kind == "word" and tok.value in _NUMBER_WORDS:
            value = _NUMBER_WORDS[tok.value]
            j = i + 1
            if tok.value == "couple" and self.word(j) == "of":
                j += 1
            nxt = self.word(j)
            if value in _TENS and nxt in _NUMBER_WORDS and 0 < _NUMBER_WORDS[nxt] < 10:
                return value + _NUMBER_WORDS[nxt], j + 1
            return value, j
        return None

    def set_day(self) -> None:
        if self.s.has_day:
            raise _Fail

    def set_time(self, hour: int, minute: int = 0) -> None:
        if self.s.hour is not None or self.s.exact is not None:
            raise _Fail
        if not (0 <= hour <= 24 and 0 <= minute <= 59) or (hour == 24 and minute):
            raise _Fail
        self.s.hour, self.s.minute = hour % 24, minute

    def run(self) -> _Said:
        i = 0
        n = len(self.t)
        if n == 0:
            raise _Fail
        while i < n:
            j = self.element(i)
            if j is None or j <= i:
                raise _Fail
            i = j
        if self.s.exact is not None and (self.s.has_day or self.s.hour is not None or self.s.daypart):
            raise _Fail
        if self.s.meridiem and self.s.daypart and self.s.meridiem != self.s.daypart:
            raise _Fail
        return self.s

    def element(self, i: int) -> int | None:
        tok = self.t[i]
        w = tok.value if tok.kind == "word" else None

        # relative: "через 2 часа", "in 3 days", "+15m"
        if w in ("через", "in", "спустя", "after") or tok.kind == "plus":
            j = self.relative(i + 1)
            if j is not None:
                return j
            if w == "in" and self.word(i + 1) == "the":  # "in the evening"
                return self.daypart(i + 2)
            if w == "in":  # "in december"? as a filler before a date
                return self.after_preposition(i + 1, timeish=False)
            raise _Fail
        if w in _PREPOSITIONS:
            return self.after_preposition(i + 1, timeish=w in _TIME_PREPOSITIONS)
        if w in _FILLERS:
            if i + 1 >= len(self.t):
                raise _Fail
            return i + 1
        return self.plain(i, after_prep=False)

    def after_preposition(self, i: int, *, timeish: bool) -> int | None:
        if i >= len(self.t):
            raise _Fail
        w = self.word(i)
        if w in _PREPOSITIONS or w in _FILLERS:
            return self.after_preposition(i + 1, timeish=timeish or w in _TIME_PREPOSITIONS)
        return self.plain(i, after_prep=timeish)

    def plain(self, i: int, *, after_prep: bool) -> int | None:
        tok = self.t[i]
        w = tok.value if tok.kind == "word" else None
        if tok.kind == "iso":
            y, m, d = (int(p) for p in tok.value.split("-"))
            self.set_day()
            self.s.explicit = (d, m, y)
            return i + 1
        if tok.kind == "clock":
            h, m = (int(p) for p in tok.value.split(":"))
            self.set_time(h, m)
            return self.meridiem_after(i + 1)
        if tok.kind == "dotted":
            return self.dotted(i, after_prep=after_prep)
        if w is not None:
            if w in _DAY_WORDS:
                self.set_day()
                self.s.day_offset = _DAY_WORDS[w]
                return i + 1
            if w == "day" and self.word(i + 1) == "after" and self.word(i + 2) == "tomorrow":
                self.set_day()
                self.s.day_offset = 2
                return i + 3
            if w == "tonight":
                self.set_day()
                self.s.day_offset = 0
                self.s.tonight = True
                return i + 1
            if w in _NEXT:
                return self.next_thing(i + 1)
            if w in _WEEKDAYS:
                self.set_day()
                self.s.weekday = _WEEKDAYS[w]
                return i + 1
            if w in ("noon", "полдень"):
                self.set_time(12)
                return i + 1
            if w in ("midnight", "полночь"):
                self.set_time(0)
                return i + 1
            if w in _DAYPARTS and w not in ("am", "pm"):
                return self.daypart(i)
            if w in _MONTHS:  # "december 25", "dec 25th 2026"
                got = self.number(i + 1)
                if got is None:
                    raise _Fail
                day, j = got
                j = self.skip_ordinal(j)
                year, j = self.maybe_year(j)
                self.set_day()
                self.s.explicit = (day, _MONTHS[w], year)
                return j
        got = self.number(i)
        if got is not None:
            return self.after_number(i, got[0], got[1], after_prep=after_prep)
        return None

    def next_thing(self, i: int) -> int:
        w = self.word(i)
        if w in _WEEKDAYS:
            self.set_day()
            self.s.weekday = _WEEKDAYS[w]
            return i + 1
        if w in ("week", "неделе", "неделя", "неделю"):
            self.set_day()
            self.s.next_week = True
            return i + 1
        if w in ("month", "месяц", "месяце"):
            self.set_day()
            self.s.months = 1
            return i + 1
        raise _Fail

    def daypart(self, i: int) -> int:
        w = self.word(i)
        if w not in _DAYPARTS or self.s.daypart is not None:
            raise _Fail
        self.s.daypart = _DAYPARTS[w]
        return i + 1

    def skip_ordinal(self, j: int) -> int:
        return j + 1 if self.word(j) in _ORDINAL_SUFFIXES else j

    def maybe_year(self, j: int) -> tuple[int | None, int]:
        if self.kind(j) == "num" and len(self.t[j].value) == 4:
            year = int(self.t[j].value)
            j += 1
            if self.word(j) in ("г", "года", "year"):
                j += 1
            return year, j
        return None, j

    def meridiem_after(self, j: int) -> int:
        w = self.word(j)
        if w in _DAYPARTS and self.s.meridiem is None:
            self.s.meridiem = _DAYPARTS[w]
            return j + 1
        return j

    def dotted(self, i: int, *, after_prep: bool) -> int:
        parts = [int(p) for p in re.split(r"[./]", self.t[i].value)]
        sep_is_dot = "." in self.t[i].value
        if len(parts) == 2 and sep_is_dot and after_prep and len(self.t[i].value.split(".")[1]) == 2:
            # "в 10.30" is a time
            if parts[0] <= 24 and parts[1] <= 59:
                self.set_time(parts[0], parts[1])
                return self.meridiem_after(i + 1)
        day, month = parts[0], parts[1]
        if not sep_is_dot and month > 12 >= day:  # 12/25: month first
            day, month = month, day
        year = None
        if len(parts) == 3:
            year = parts[2] + 2000 if parts[2] < 100 else parts[2]
            if year < 1000:
                raise _Fail
        if 1 <= month <= 12 and 1 <= day <= 31:
            self.set_day()
            self.s.explicit = (day, month, year)
            return i + 1
        if len(parts) == 2 and sep_is_dot and parts[0] <= 23 and parts[1] <= 59:
            self.set_time(parts[0], parts[1])  # "10.45": not a date, so a time
            return self.meridiem_after(i + 1)
        raise _Fail

    def after_number(self, i: int, value: int, j: int, *, after_prep: bool) -> int:
        j0 = self.skip_ordinal(j)
        w = self.word(j0)
        # "25 декабря [2026]", "25th of december"
        k = j0 + 1 if w == "of" else j0
        if self.word(k) in _MONTHS:
            year, k2 = self.maybe_year(k + 1)
            self.set_day()
            self.s.explicit = (value, _MONTHS[self.t[k].value], year)
            return k2
        # a relative duration without "через": "2 часа" is not a time; only "15 минут" after "через"
        # an hour: "в 10", "10 утра", "3pm", "10 часов 30 минут", "завтра 10"
        w = self.word(j)
        hour_word = w in _HOUR_WORDS
        k = j + 1 if hour_word else j
        minute = 0
        got = self.number(k)
        if hour_word and got is not None and self.word(got[1]) in _MINUTE_WORDS:
            minute, k = got[0], got[1] + 1
        is_time = after_prep or hour_word or self.word(k) in _DAYPARTS or self.s.has_day
        if not is_time:
            raise _Fail
        self.set_time(value, minute)
        return self.meridiem_after(k)

    def relative(self, i: int) -> int | None:
        """Durations after "через"/"in"/"+": "2 часа 30 минут", "полчаса", "an hour and a half"."""
        total = timedelta()
        days = months = 0
        exact_used = False
        j = i
        found = False
        while j < len(self.t):
            w = self.word(j)
            if w in ("полчаса", "полчасика"):
                total += timedelta(minutes=30)
                exact_used, found, j = True, True, j + 1
                continue
            if w in ("полтора", "полторы"):
                unit = _UNITS.get(self.word(j + 1) or "")
                if unit is None or unit[0] != "exact":
                    return None
                total += timedelta(seconds=unit[1] * 1.5)
                exact_used, found, j = True, True, j + 2
                continue
            if w == "half" and self.word(j + 1) in ("an", "a") and self.word(j + 2) in ("hour",):
                total += timedelta(minutes=30)
                exact_used, found, j = True, True, j + 3
                continue
            if found and w in ("and", "и") and self.word(j + 1) == "a" and self.word(j + 2) == "half":
                return None  # "an hour and a half" is rare; not worth the ambiguity
            if found and w in ("and", "и"):
                j += 1
                continue
            if w in ("a", "an") and self.word(j + 1) == "couple":
                amount, k = self.number(j + 1) or (2, j + 2)
            elif w in ("a", "an"):
                amount, k = 1, j + 1
            else:
                got = self.number(j)
                if got is None:
                    amount, k = 1, j  # "через час", "через неделю"
                else:
                    amount, k = got
            unit = _UNITS.get(self.word(k) or "")
            if unit is None:
                break
            kind, size = unit
            if kind == "exact":
                total += timedelta(seconds=size * amount)
                exact_used = True
            elif kind == "days":
                days += size * amount
            else:
                months += size * amount
            if days > MAX_AHEAD_DAYS or months > 12 * 10 or total > timedelta(days=MAX_AHEAD_DAYS):
                raise _Fail
            found, j = True, k + 1
        if not found:
            return None
        if exact_used:
            if self.s.exact is not None or months:
                raise _Fail
            self.s.exact = total + timedelta(days=days)
        else:
            self.set_day()
            self.s.day_offset = days
            self.s.months = months
        return j


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


# --- time zones: what /timezone understands ----------------------------------------------------

# Russia's zones west to east; the /timezone buttons.
COMMON_ZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)
# Cities people type instead of a zone name (folded: lower case, ё→е, "-" and "_" as spaces).
_CITY_ZONES = {
    "москва": "Europe/Moscow", "мск": "Europe/Moscow", "санкт петербург": "Europe/Moscow",
    "петербург": "Europe/Moscow", "питер": "Europe/Moscow", "спб": "Europe/Moscow",
    "казань": "Europe/Moscow", "нижний новгород": "Europe/Moscow", "сочи": "Europe/Moscow",
    "краснодар": "Europe/Moscow", "ростов на дону": "Europe/Moscow", "воронеж": "Europe/Moscow",
    "калининград": "Europe/Kaliningrad", "самара": "Europe/Samara", "ижевск": "Europe/Samara",
    "волгоград": "Europe/Volgograd", "саратов": "Europe/Saratov", "ульяновск": "Europe/Ulyanovsk",
    "астрахань": "Europe/Astrakhan", "екатеринбург": "Asia/Yekaterinburg",
    "челябинск": "Asia/Yekaterinburg", "пермь": "Asia/Yekaterinburg", "уфа": "Asia/Yekaterinburg",
    "тюмень": "Asia/Yekaterinburg", "оренбург": "Asia/Yekaterinburg", "омск": "Asia/Omsk",
    "новосибирск": "Asia/Novosibirsk", "барнаул": "Asia/Barnaul", "томск": "Asia/Tomsk",
    "кемерово": "Asia/Novokuznetsk", "новокузнецк": "Asia/Novokuznetsk",
    "красноярск": "Asia/Krasnoyarsk", "иркутск": "Asia/Irkutsk", "улан удэ": "Asia/Irkutsk",
    "чита": "Asia/Chita", "якутск": "Asia/Yakutsk", "благовещенск": "Asia/Yakutsk",
    "владивосток": "Asia/Vladivostok", "хабаровск": "Asia/Vladivostok",
    "южно сахалинск": "Asia/Sakhalin", "магадан": "Asia/Magadan",
    "петропавловск камчатский": "Asia/Kamchatka", "камчатка": "Asia/Kamchatka",
    "анадырь": "Asia/Anadyr", "минск": "Europe/Minsk", "киев": "Europe/Kyiv",
    "алматы": "Asia/Almaty", "астана": "Asia/Almaty", "ташкент": "Asia/Tashkent",
    "бишкек": "Asia/Bishkek", "тбилиси": "Asia/Tbilisi", "ереван": "Asia/Yerevan",
    "баку": "Asia/Baku", "стамбул": "Europe/Istanbul", "дубай": "Asia/Dubai",
    "лондон": "Europe/London", "берлин": "Europe/Berlin", "нью йорк": "America/New_York",
    "saint petersburg": "Europe/Moscow", "st petersburg": "Europe/Moscow",
    "new york": "America/New_York", "kiev": "Europe/Kyiv",
}  # fmt: skip
# Offsets that aren't whole hours map to a zone that keeps that offset all year.
_ODD_OFFSETS = {
    (3, 30): "Asia/Tehran", (4, 30): "Asia/Kabul", (5, 30): "Asia/Kolkata", (5, 45): "Asia/Kathmandu",
    (6, 30): "Asia/Yangon", (8, 45): "Australia/Eucla", (9, 30): "Australia/Darwin",
    (-9, -30): "Pacific/Marquesas",
}  # fmt: skip
_OFFSET = re.compile(r"^(utc|gmt|мск|msk)?\s*(?:([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?)?$")
_zone_names: dict[str, str] = {}


def _fold_zone(text: str) -> str:
    return " ".join(re.split(r"[\s_\-]+", _normalise(text.strip()))).strip()


def _known_zones() -> dict[str, str]:
    if not _zone_names:
        for name in available_timezones():
            if name.startswith(("posix/", "right/")) or name in ("localtime", "Factory"):
                continue
            _zone_names.setdefault(_fold_zone(name), name)
            city = name.rsplit("/", 1)[-1]
            if "/" in name and not name.startswith("Etc/"):
                _zone_names.setdefault(_fold_zone(city), name)
    return _zone_names


def _fixed_offset_zone(hours: int, minutes: int) -> str:
    if minutes:
        zone = _ODD_OFFSETS.get((hours, minutes))
        if zone is None:
            raise DomainError("tz_unknown")
        return zone
    if not -12 <= hours <= 14:
        raise DomainError("tz_unknown")
    if hours == 0:
        return "UTC"
    return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"  # POSIX: the sign is inverted


def zone_from_text(text: str) -> str:
    """An IANA name ("Asia/Almaty", "asia/almaty"), a city ("Novosibirsk", "Новосибирск"), or an
    offset ("+3", "UTC+5", "GMT-4", "+05:30", "МСК+4"). DomainError("tz_unknown") otherwise."""
    if not isinstance(text, str) or not text.strip() or len(text) > 64:
        raise DomainError("tz_unknown")
    folded = _fold_zone(text)
    m = _OFFSET.match(re.sub(r"\s+", "", _normalise(text)))
    if m and (m.group(1) or m.group(2)):
        base = 3 if m.group(1) in ("мск", "msk") else 0
        if not m.group(2):
            return "Europe/Moscow" if base else "UTC"
        sign = -1 if m.group(2) in "-−" else 1
        hours, minutes = int(m.group(3)), int(m.group(4) or 0)
        if minutes >= 60:
            raise DomainError("tz_unknown")
        return _fixed_offset_zone(base + sign * hours, sign * minutes if not base else minutes)
    if folded in _CITY_ZONES:
        return _CITY_ZONES[folded]
    zone = _known_zones().get(folded)
    if zone is None:
        raise DomainError("tz_unknown")
    return zone


def utc_offset(zone: str, now: datetime) -> str:
    """The offset from UTC at this moment, like +03:00, -04:00 or +05:30."""
    offset = now.astimezone(_zone(zone)).utcoffset() or timedelta()
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02}:{minutes:02}"


async def set_timezone(session: AsyncSession, user: User, zone: str, now: datetime, digest_hour: int) -> str:
    """Store the person's zone; an admin's planned daily digest moves to their new local hour."""
    zone = zone_from_text(zone)
    user.timezone = zone
    pending = await session.scalars(
        select(Job).where(Job.kind == "admin_digest", Job.status == JobStatus.pending)
    )
    for job in pending.all():
        if int(job.payload.get("user_id", 0)) != user.id:
            continue
        due = next_local_occurrence(digest_hour, zone, now)
        key = f"digest:{user.id}:{due.astimezone(_zone(zone)).date().isoformat()}"
        taken = key != job.idempotency_key and await session.scalar(
            select(Job.id).where(Job.idempotency_key == key)
        )
        if taken:
            job.status = JobStatus.cancelled  # that local day's digest exists already
        else:
            job.due_at, job.idempotency_key, job.updated_at = due, key, now
    await session.flush()
    return zone
