"""HTML in the person's language: Jinja2 templates with autoescape on (every value a person typed is
escaped), and the same formatting as the bot's messages (money, dates, stage and status names)."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.views.clients import status_name
from bot.views.deals import money, stage_name, sums_text
from bot.views.segments import abc_label, segment_label
from bot.webapp.texts import labels

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
ASSETS = ("app.js", "app.css")


def asset_version() -> str:
    """A short hash of the script and the style sheet: their URLs change when they do."""
    digest = hashlib.sha256()
    for name in ASSETS:
        digest.update((STATIC / name).read_bytes())
    return digest.hexdigest()[:10]


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["stage"] = stage_name
    env.filters["status"] = status_name
    env.filters["segment"] = segment_label
    env.filters["abc"] = abc_label
    return env


ENV = _environment()


@lru_cache(maxsize=256)
def _money_shape(currency: str, locale: str) -> tuple[str, str, str] | None:
    """How the bot writes a whole amount in this currency and language (bot.views.deals.money), as
    (prefix, group separator, suffix); None when it isn't that simple. A board formats hundreds of
    amounts: Babel once per shape instead of once per card."""
    sample = money(Decimal(1234567), currency, locale)
    match = re.fullmatch(r"(\D*)1(\D)234(?:\2)567(\D*)", sample)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def whole_money(amount: Decimal, currency: str, locale: str) -> str:
    """The bot's money() for an amount, the common case (whole, not negative) without Babel."""
    shape = _money_shape(currency, locale)
    if shape is None or amount < 0 or amount != amount.to_integral_value() or amount >= 10**15:
        return money(amount, currency, locale)
    prefix, group, suffix = shape
    return prefix + f"{int(amount):,}".replace(",", group) + suffix


@lru_cache(maxsize=2048)
def _day(day: date, locale: str, with_year: bool) -> str:
    return format_date(day, "d MMM y" if with_year else "d MMM", locale=locale)


class Formats:
    """Formatting bound to the viewer's language and time zone (a template's `f`); the same texts
    as the bot's (Babel), with the repeated parts cached."""

    def __init__(self, locale: str, tz: str, now: datetime) -> None:
        self.locale, self.tz, self.now = locale, tz, now
        self._zone = ZoneInfo(tz)
        self._year = now.astimezone(self._zone).year

    def money(self, amount: Decimal | None, currency: str) -> str:
        return "" if amount is None else whole_money(amount, currency, self.locale)

    def sums(self, sums: dict[str, Decimal]) -> str:
        return sums_text(sums, self.locale)

    def when(self, value: datetime | None) -> str:
        """Like "10 мар., 08:00" (with the year when it isn't this one)."""
        if value is None:
            return ""
        local = value.astimezone(self._zone)
        return f"{_day(local.date(), self.locale, local.year != self._year)}, {local:%H:%M}"

    def day(self, value: datetime | None) -> str:
        return "" if value is None else _day(value.astimezone(self._zone).date(), self.locale, True)


def render(name: str, *, locale: str, tz: str, now: datetime, **values: Any) -> str:
    """Call inside the request's locale (i18n.use_locale): the labels are translated then."""
    return ENV.get_template(name).render(t=labels(), f=Formats(locale, tz, now), now=now, **values)
