"""The parse: tokens -> what was said (a day, a time, an offset), without resolving it yet."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from services.timeparse.grammar import (
    _DAY_WORDS,
    _DAYPARTS,
    _FILLERS,
    _HOUR_WORDS,
    _MINUTE_WORDS,
    _MONTHS,
    _NEXT,
    _NUMBER_WORDS,
    _ORDINAL_SUFFIXES,
    _PREPOSITIONS,
    _TENS,
    _TIME_PREPOSITIONS,
    _UNITS,
    _WEEKDAYS,
    MAX_AHEAD_DAYS,
    Token,
)

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
