"""The words and tokens of the grammar: numbers, units, weekdays, months, parts of the day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

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
