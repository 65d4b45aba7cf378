"""Phone numbers: normalised to E.164 with `phonenumbers`, found in free text, searched by their tail.

A number written without a country code is read in the region from settings (DEFAULT_REGION).
Nothing here raises on bad input: what isn't a valid number is rejected (None / left out).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberMatcher

MAX_INPUT = 64  # longer "numbers" are rejected before parsing
MIN_FRAGMENT_DIGITS = 4  # /find with at least this many digits searches phones
_PHONE_CHARS = re.compile(r"^[\s+()\-.\d/]+$")
_NON_DIGITS = re.compile(r"\D")
# Something that looks like an attempt at a phone number: a run of 7+ digits with separators.
_PHONE_LIKE = re.compile(r"\+?\(?\d[\d\s().\-]{5,}\d")


def normalize(raw: str, region: str) -> str | None:
    """The E.164 form of a valid number (`+79991234567`), else None. Never raises."""
    if not isinstance(raw, str):
        return None
    raw = raw.strip()
    if not raw or len(raw) > MAX_INPUT:
        return None
    candidates = [raw]
    digits = _NON_DIGITS.sub("", raw)
    if not raw.startswith("+") and _PHONE_CHARS.match(raw) and len(digits) >= 11:
        # Telegram gives contacts' numbers as bare digits with the country code ("447911123456").
        candidates.append("+" + digits)
    for candidate in candidates:
        number = _parse(candidate, region)
        if number is not None and phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return None


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    except Exception:  # a library bug must not become a crash for one odd string
        return None


def display(e164: str) -> str:
    """Human form: +7 999 123-45-67."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), PhoneNumberFormat.INTERNATIONAL)
    except NumberParseException:
        return e164


def digits_reversed(e164: str) -> str:
    """The digits backwards: "the number ends with 4567" becomes an indexed prefix search."""
    return _NON_DIGITS.sub("", e164)[::-1]


@dataclass(frozen=True, slots=True)
class Found:
    start: int
    end: int
    raw: str
    e164: str


def find_in_text(text: str, region: str) -> list[Found]:
    """Valid phone numbers in free text, in order of appearance."""
    found: list[Found] = []
    try:
        for match in PhoneNumberMatcher(text, region):
            e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
            found.append(Found(match.start, match.end, match.raw_string, e164))
    except Exception:
        return found
    return found


def looks_like_phone(text: str) -> bool:
    """A run of 7+ digits with phone separators: meant as a number even if it isn't valid."""
    return any(len(_NON_DIGITS.sub("", m.group(0))) >= 7 for m in _PHONE_LIKE.finditer(text))


def search_prefix(query: str, region: str) -> str | None:
    """For /find: the reversed-digits prefix to look up, or None if the query isn't a phone fragment.

    A whole valid number matches exactly whatever way it was written (8 999..., +7 999...);
    otherwise the last 4+ digits typed are matched against the end of stored numbers.
    """
    query = query.strip()
    if not query or len(query) > MAX_INPUT or not _PHONE_CHARS.match(query):
        return None
    digits = _NON_DIGITS.sub("", query)
    if len(digits) < MIN_FRAGMENT_DIGITS:
        return None
    e164 = normalize(query, region) if len(digits) >= 7 else None
    if e164 is not None:
        return digits_reversed(e164)
    return digits[::-1]
