"""HTML in the person's language: Jinja2 templates with autoescape on (every value a person typed is
escaped), and the same formatting as the bot's messages (money, dates, stage and status names)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from bot.formatting import local_dt
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
    )
    env.filters["stage"] = stage_name
    env.filters["status"] = status_name
    env.filters["segment"] = segment_label
    env.filters["abc"] = abc_label
    return env


ENV = _environment()


class Formats:
    """Formatting bound to the viewer's language and time zone (a template's `f`)."""

    def __init__(self, locale: str, tz: str, now: datetime) -> None:
        self.locale, self.tz, self.now = locale, tz, now
        self._zone = ZoneInfo(tz)

    def money(self, amount: Decimal | None, currency: str) -> str:
        return "" if amount is None else money(amount, currency, self.locale)

    def sums(self, sums: dict[str, Decimal]) -> str:
        return sums_text(sums, self.locale)

    def when(self, value: datetime | None, fmt: str = "d MMM, HH:mm") -> str:
        if value is None:
            return ""
        if value.astimezone(self._zone).year != self.now.astimezone(self._zone).year:
            fmt = "d MMM y, HH:mm"
        return local_dt(value, self.tz, self.locale, fmt)

    def day(self, value: datetime | None) -> str:
        return "" if value is None else local_dt(value, self.tz, self.locale, "d MMM y")


def render(name: str, *, locale: str, tz: str, now: datetime, **values: Any) -> str:
    """Call inside the request's locale (i18n.use_locale): the labels are translated then."""
    return ENV.get_template(name).render(t=labels(), f=Formats(locale, tz, now), now=now, **values)
