"""A segment's conditions: a typed model, its versioned JSON, and the checks that refuse a bad one.

Every condition must hold (AND); within one, any of its values (OR), but for tags "all of". Stored as
{"v": 1, "conditions": [...]}, one object per condition:

    {"field": "status", "values": ["active", "prospect"]}        any of the values (Choice)
    {"field": "tags", "mode": "any" | "all" | "none", "values": ["vip"]}             (Tags)
    {"field": "vip", "value": true}                               yes / no (Flag)
    {"field": "points", "min": 100, "max": null}                  a range, either end open (Range)

`parse` reads JSON (from the database or a dialog) into the model and raises DomainError on anything
it doesn't know or accept; `dump` writes it back. A person's typed range is read by `parse_range`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from models.clients import ClientStatus
from services.analytics.rfm import ABC
from services.analytics.segments import Segment
from services.deals.rules import CLOSED_STAGES
from services.errors import DomainError
from services.search import normalize_tag
from services.users import SUPPORTED_LANGUAGES

VERSION = 1
MAX_CONDITIONS = 12
MAX_VALUES = 20
VALUE_LIMIT = 100  # characters of a source, a tier or a stage name
MAX_POINTS = 1_000_000_000
MAX_DAYS = 36_500


class Field(enum.StrEnum):
    """What a condition looks at. The values are stored: never change one, only add."""

    status = "status"
    tags = "tags"
    owner = "owner"  # admins only
    rfm = "rfm"  # the segment in the latest finished RFM run (no_recent: not scored)
    abc = "abc"  # the ABC class in the latest finished run
    vip = "vip"  # the manual flag or class A
    tier = "tier"  # the loyalty tier reached with the total spend
    points = "points"  # the points balance
    purchase_days = "purchase_days"  # whole days since the last purchase
    contact_days = "contact_days"  # whole days since the last logged contact
    deal_stage = "deal_stage"  # has an open deal in one of the stages
    birthday_month = "birthday_month"  # the birthday is in the current month (UTC)
    language = "language"  # the language the client reads the bot's messages in
    linked = "linked"  # the client's Telegram account is linked to the bot
    source = "source"  # where the client came from


class TagMode(enum.StrEnum):
    any = "any"
    all = "all"
    none = "none"


CHOICE_FIELDS = (
    Field.status,
    Field.owner,
    Field.rfm,
    Field.abc,
    Field.tier,
    Field.deal_stage,
    Field.language,
    Field.source,
)
FLAG_FIELDS = (Field.vip, Field.birthday_month, Field.linked)
RANGE_FIELDS = (Field.points, Field.purchase_days, Field.contact_days)
RANGE_LIMITS = {Field.points: MAX_POINTS, Field.purchase_days: MAX_DAYS, Field.contact_days: MAX_DAYS}
ADMIN_FIELDS = frozenset({Field.owner})
_STAGE = re.compile(r"^[a-z0-9_]{1,24}$")


@dataclass(frozen=True, slots=True)
class Choice:
    """The field's value is one of `values` (owner: user ids; the others: keys or names)."""

    field: Field
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Tags:
    mode: TagMode
    values: tuple[str, ...]
    field: Field = Field.tags


@dataclass(frozen=True, slots=True)
class Flag:
    field: Field
    value: bool


@dataclass(frozen=True, slots=True)
class Range:
    """low <= the field's value <= high; None: that end is open (never both)."""

    field: Field
    low: int | None
    high: int | None


Condition = Choice | Tags | Flag | Range


@dataclass(frozen=True, slots=True)
class Conditions:
    items: tuple[Condition, ...] = ()

    def __len__(self) -> int:
        return len(self.items)

    def has(self, field: Field) -> bool:
        return any(c.field == field for c in self.items)

    def adding(self, condition: Condition) -> Conditions:
        if len(self.items) >= MAX_CONDITIONS:
            raise DomainError("segment_too_many", limit=MAX_CONDITIONS)
        return Conditions((*self.items, condition))

    def without(self, index: int) -> Conditions:
        if not 0 <= index < len(self.items):
            raise DomainError("segment_no_condition")
        return Conditions(self.items[:index] + self.items[index + 1 :])


# --- reading and writing the JSON ---


def _field(raw: Any) -> Field:
    try:
        return Field(raw)
    except ValueError:
        raise DomainError("segment_field_unknown", field=str(raw)[:30]) from None


def _values(field: Field, raw: Any) -> tuple[Any, ...]:
    if not isinstance(raw, list | tuple) or not raw:
        raise DomainError("segment_values_empty", field=field.value)
    if len(raw) > MAX_VALUES:
        raise DomainError("segment_values_many", field=field.value, limit=MAX_VALUES)
    values = [clean_value(field, v) for v in raw]
    return tuple(dict.fromkeys(values))


def clean_value(field: Field, value: Any) -> Any:
    """One value of a Choice or Tags condition as stored, or DomainError("segment_value_invalid")."""
    bad = DomainError("segment_value_invalid", field=field.value)
    if field == Field.owner:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise bad
        return value
    if not isinstance(value, str):
        raise bad
    if field == Field.tags:
        tag = normalize_tag(value)
        if not tag:
            raise bad
        return tag
    known: dict[Field, tuple[str, ...]] = {
        Field.status: tuple(ClientStatus),
        Field.rfm: tuple(Segment),
        Field.abc: ABC,
        Field.language: SUPPORTED_LANGUAGES,
    }
    if field in known:
        if value not in known[field]:
            raise bad
        return value
    if field == Field.deal_stage:
        if not _STAGE.match(value) or value in CLOSED_STAGES:
            raise bad
        return value
    text = " ".join(value.split())  # tier, source: names as written
    if not text or len(text) > VALUE_LIMIT:
        raise bad
    return text


def _bound(field: Field, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise DomainError("segment_range_invalid")
    if raw < 0:
        raise DomainError("segment_range_negative")
    if raw > RANGE_LIMITS[field]:
        raise DomainError("segment_range_too_big", limit=RANGE_LIMITS[field])
    return raw


def make_range(field: Field, low: int | None, high: int | None) -> Range:
    low, high = _bound(field, low), _bound(field, high)
    if low is None and high is None:
        raise DomainError("segment_range_invalid")
    if low is not None and high is not None and low > high:
        raise DomainError("segment_range_reversed", low=low, high=high)
    return Range(field, low, high)


def parse_condition(raw: Any) -> Condition:
    if not isinstance(raw, dict):
        raise DomainError("segment_invalid")
    field = _field(raw.get("field"))
    if field == Field.tags:
        try:
            mode = TagMode(raw.get("mode", TagMode.any))
        except ValueError:
            raise DomainError("segment_value_invalid", field=field.value) from None
        return Tags(mode, _values(field, raw.get("values")))
    if field in CHOICE_FIELDS:
        return Choice(field, _values(field, raw.get("values")))
    if field in FLAG_FIELDS:
        value = raw.get("value")
        if not isinstance(value, bool):
            raise DomainError("segment_value_invalid", field=field.value)
        return Flag(field, value)
    return make_range(field, raw.get("min"), raw.get("max"))


def parse(data: Any) -> Conditions:
    """Stored or submitted JSON as conditions; DomainError for an unknown version or field, a value
    that isn't one, an empty or reversed range, too many conditions."""
    if not isinstance(data, dict) or not isinstance(data.get("conditions"), list):
        raise DomainError("segment_invalid")
    if data.get("v") != VERSION:
        raise DomainError("segment_version", version=str(data.get("v"))[:10])
    items = data["conditions"]
    if len(items) > MAX_CONDITIONS:
        raise DomainError("segment_too_many", limit=MAX_CONDITIONS)
    return Conditions(tuple(parse_condition(c) for c in items))


def dump_condition(c: Condition) -> dict[str, Any]:
    if isinstance(c, Tags):
        return {"field": c.field.value, "mode": c.mode.value, "values": list(c.values)}
    if isinstance(c, Choice):
        return {"field": c.field.value, "values": list(c.values)}
    if isinstance(c, Flag):
        return {"field": c.field.value, "value": c.value}
    return {"field": c.field.value, "min": c.low, "max": c.high}


def dump(conditions: Conditions) -> dict[str, Any]:
    return {"v": VERSION, "conditions": [dump_condition(c) for c in conditions.items]}


# --- what a person types ---

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’]")
_DASHES = re.compile(r"[–—−]")  # en dash, em dash, minus sign: all read as "-"
_NUMBER = r"\d{1,15}"


def parse_range(field: Field, text: str | None) -> Range:
    """A typed range: "100-500", "100+" (100 and more), "0-500" (up to 500) or "30" (exactly 30);
    spaces inside numbers ("30 000") are fine. DomainError: not a number, negative, reversed, too big."""
    raw = _DASHES.sub("-", _SPACES.sub("", text or ""))
    if re.fullmatch(_NUMBER, raw):
        return make_range(field, int(raw), int(raw))
    if m := re.fullmatch(rf"({_NUMBER})\+", raw):
        return make_range(field, int(m.group(1)), None)
    if m := re.fullmatch(rf"({_NUMBER})-({_NUMBER})", raw):
        return make_range(field, int(m.group(1)), int(m.group(2)))
    if re.fullmatch(rf"-{_NUMBER}(?:-{_NUMBER}|\+)?|{_NUMBER}--{_NUMBER}", raw):
        raise DomainError("segment_range_negative")
    raise DomainError("segment_range_invalid")
