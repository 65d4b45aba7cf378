"""One line: "/add Иван Петров +7 999 123-45-67 ivan@example.ru ООО Ромашка"."""

from __future__ import annotations

import re

from services import phones
from services.clients.fields import (
    CONTROL,
    EMAIL_IN_TEXT,
    MAX_PHONES,
    ClientData,
    clean_email,
    clean_name,
    clean_text,
)
from services.errors import DomainError

# A word that starts a company: legal forms written before the name, or a quote.
COMPANY_PREFIXES = frozenset(
    {"ооо", "оао", "зао", "пао", "ао", "ип", "нко", "ано", "гк", "тоо", "чп", "фгуп", "муп", "гуп"}
)
# Legal forms written after the name: the word before them starts the company.
COMPANY_SUFFIXES = frozenset(
    {"llc", "inc", "ltd", "gmbh", "corp", "co", "plc", "lp", "llp", "ag", "sa", "bv", "oy", "ab", "jsc"}
)
_QUOTES = "\"'«»“”„"


def _marker(word: str) -> str | None:
    if word[:1] in _QUOTES:
        return "prefix"
    bare = word.strip(".,").casefold()
    if bare in COMPANY_PREFIXES:
        return "prefix"
    if bare in COMPANY_SUFFIXES:
        return "suffix"
    return None


def split_name_company(words: list[str]) -> tuple[list[str], list[str]]:
    """The name is the first 1-3 words before a company marker; everything after it is the company.

    A marker is a legal form written before the name (ООО, ИП, АО...), a quoted word («Ромашка»,
    "Acme"), or a legal form written after the name (LLC, Inc, Ltd, GmbH...), in which case the
    company starts one word earlier ("John Smith Acme Inc" → "John Smith" + "Acme Inc").
    """
    cut = min(3, len(words))
    for i, word in enumerate(words[:4]):
        kind = _marker(word)
        if kind == "prefix":
            cut = min(cut, i)
            break
        if kind == "suffix":
            cut = min(cut, max(i - 1, 1 if i > 1 else i))
            break
    return words[:cut], words[cut:]


def parse_line(line: str, region: str) -> ClientData:
    """Pick phones (phonenumbers), an email and the name out of one line; the rest is the company."""
    line = CONTROL.sub(" ", line)
    found = phones.find_in_text(line, region)
    rest = line
    for f in reversed(found):
        rest = rest[: f.start] + " " + rest[f.end :]
    emails = EMAIL_IN_TEXT.findall(rest)
    if len(emails) > 1:
        raise DomainError("two_emails")
    email = clean_email(emails[0].rstrip(".")) if emails else None
    for e in emails:
        rest = rest.replace(e, " ", 1)
    if phones.looks_like_phone(rest):
        bad = max(re.findall(r"\+?[\d\s().\-]{7,}", rest), key=len).strip()
        raise DomainError("bad_phone", value=bad[:60])
    name_words, company_words = split_name_company(rest.split())
    if not name_words:
        raise DomainError("no_name")
    numbers = list(dict.fromkeys(f.e164 for f in found))
    if len(numbers) > MAX_PHONES:
        raise DomainError("too_many_phones", limit=MAX_PHONES)
    return ClientData(
        name=clean_name(" ".join(name_words)),
        phones=numbers,
        email=email,
        company=clean_text(" ".join(company_words), "company"),
    )
