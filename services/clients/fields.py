"""A client's fields: limits, what can be edited, and the validation of each (every check raises
DomainError with a code and params the handler can show)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError

from models.clients import ClientStatus
from services import phones, search
from services.errors import DomainError

MAX_PHONES = 10
MAX_TAGS = 20
TAG_LIMIT = 50
NOTE_LIMIT = 4000
LIMITS = {
    "name": 200,
    "company": 200,
    "position": 200,
    "source": 100,
    "email": 254,
    "timezone": 64,
    "language": 8,
    "note": NOTE_LIMIT,
}
EDITABLE = (
    "name",
    "phones",
    "email",
    "company",
    "position",
    "source",
    "tags",
    "birthday",
    "status",
    "timezone",
    "language",
    "note",
)
REQUIRED = frozenset({"name", "status"})
STATUSES = tuple(ClientStatus)

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EMAIL = re.compile(
    r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$"
)
EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\],;:\"'«»]+@[^\s<>()\[\],;:\"'«»]+")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[-_][a-z0-9]{2,4})?$")


def clean_text(value: str | None, field_name: str, *, multiline: bool = False) -> str | None:
    """Trimmed text within the field's limit; None for empty. Control characters are dropped."""
    if value is None:
        return None
    if multiline:
        value = "\n".join(CONTROL.sub("", line).rstrip() for line in value.strip().splitlines())
    else:
        value = " ".join(CONTROL.sub(" ", value).split())
    value = value.strip()
    if not value:
        if field_name in REQUIRED:
            raise DomainError("empty")
        return None
    limit = LIMITS.get(field_name)
    if limit is not None and len(value) > limit:
        raise DomainError("too_long", limit=limit, length=len(value))
    return value


def clean_name(value: str | None) -> str:
    name = clean_text(value, "name")
    if not name:
        raise DomainError("empty")
    return name


def clean_email(value: str) -> str:
    email = value.strip().strip("<>").strip().lower()
    if len(email) > LIMITS["email"] or len(email.partition("@")[0]) > 64 or not _EMAIL.match(email):
        raise DomainError("bad_email", value=value.strip()[:100])
    return email


def clean_phones(value: str, region: str) -> list[str]:
    """One or more numbers separated by commas, semicolons or new lines; each must be valid."""
    parts = [p.strip() for p in re.split(r"[,;\n]+", value) if p.strip()]
    if not parts:
        raise DomainError("empty")
    result: list[str] = []
    for part in parts:
        e164 = phones.normalize(part, region)
        if e164 is None:
            raise DomainError("bad_phone", value=part[:60])
        if e164 not in result:
            result.append(e164)
    if len(result) > MAX_PHONES:
        raise DomainError("too_many_phones", limit=MAX_PHONES)
    return result


def clean_tags(value: str | Iterable[str]) -> list[str]:
    """Tags separated by commas (or spaces when there are no commas); `#` is optional."""
    if isinstance(value, str):
        raw = value.split(",") if "," in value else value.split()
    else:
        raw = list(value)
    tags: list[str] = []
    for item in raw:
        tag = search.normalize_tag(item)
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise DomainError("too_many_tags", limit=MAX_TAGS)
    return tags


def parse_birthday(value: str, today: date) -> date:
    value = value.strip()
    formats = (
        r"(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{4})",
        r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})",
        r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})",
    )
    for fmt in formats:
        m = re.fullmatch(fmt, value)
        if m:
            try:
                day = date(int(m["y"]), int(m["m"]), int(m["d"]))
            except ValueError:
                break
            if day.year < 1900 or day > today:
                break
            return day
    raise DomainError("bad_date", value=value[:40])


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def clean_timezone(value: str) -> str:
    name = _zones().get(value.strip().replace(" ", "_").lower())
    if name is None:
        raise DomainError("bad_timezone", value=value.strip()[:64])
    return name


def clean_language(value: str) -> str:
    code = value.strip().lower().replace("_", "-")
    if not _LANGUAGE.match(code):
        raise DomainError("bad_language", value=value.strip()[:16])
    try:
        Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError):
        raise DomainError("bad_language", value=value.strip()[:16]) from None
    return code


def clean_status(value: str) -> ClientStatus:
    try:
        return ClientStatus(value)
    except ValueError:
        raise DomainError("bad_status") from None


@dataclass
class ClientData:
    name: str
    phones: list[str] = field(default_factory=list)  # E.164
    email: str | None = None
    company: str | None = None
    position: str | None = None
    source: str | None = None
    tags: list[str] = field(default_factory=list)
    telegram_id: int | None = None
    birthday: date | None = None
    note: str | None = None
