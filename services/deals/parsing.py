"""Parsing what people type: amounts with a currency, titles and free text."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import list_currencies

from services.deals.rules import CENT, MAX_AMOUNT, TITLE_LIMIT
from services.errors import DomainError

# Symbols and words people write after or before an amount; any ISO 4217 code works too.
CURRENCY_WORDS = {
    "₽": "RUB",
    "р": "RUB",
    "р.": "RUB",
    "руб": "RUB",
    "руб.": "RUB",
    "рубль": "RUB",
    "рубля": "RUB",
    "рублей": "RUB",
    "rur": "RUB",
    "$": "USD",
    "us$": "USD",
    "долл": "USD",
    "долл.": "USD",
    "доллар": "USD",
    "доллара": "USD",
    "долларов": "USD",
    "€": "EUR",
    "евро": "EUR",
    "£": "GBP",
    "₸": "KZT",
    "тенге": "KZT",
    "₴": "UAH",
    "грн": "UAH",
    "грн.": "UAH",
    "¥": "CNY",
    "юань": "CNY",
    "юаней": "CNY",
    "₺": "TRY",
    "₹": "INR",
    "br": "BYN",
}
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’`]")
_NUMBER_CHARS = re.compile(r"[0-9.,\s\u00a0\u202f\u2009'’`]*")
_DIGITS = re.compile(r"[0-9]+")
_ISO_CODES = frozenset(list_currencies())


def parse_currency(token: str) -> str:
    token = token.strip()
    if token.casefold() in CURRENCY_WORDS:
        return CURRENCY_WORDS[token.casefold()]
    if token.upper() in _ISO_CODES and len(token) == 3 and token.isalpha():
        return token.upper()
    raise DomainError("currency_unknown")


def _parse_number(raw: str) -> Decimal:
    """Digits with thousands separators (space, apostrophe, '.' or ',') and a decimal ',' or '.'."""
    s = _SPACES.sub("", raw)
    seps = [c for c in s if c in ".,"]
    decimal_sep: str | None = None
    thousands_sep: str | None = None
    if len(set(seps)) == 2:
        decimal_sep = seps[-1]
        thousands_sep = "," if decimal_sep == "." else "."
        if seps.count(decimal_sep) != 1:
            raise DomainError("amount_invalid")
    elif seps:
        sep = seps[0]
        tail = s.rsplit(sep, 1)[1]
        if len(seps) > 1 or len(tail) == 3:
            thousands_sep = sep  # "1,500", "1.500.000": money rarely has three decimals
        elif len(tail) in (1, 2):
            decimal_sep = sep
        else:
            raise DomainError("amount_invalid")
    whole, frac = s.split(decimal_sep) if decimal_sep else (s, "")
    if thousands_sep:
        groups = whole.split(thousands_sep)
        if not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]):
            raise DomainError("amount_invalid")
        whole = "".join(groups)
    if not _DIGITS.fullmatch(whole) or (frac and (not _DIGITS.fullmatch(frac) or len(frac) > 2)):
        raise DomainError("amount_invalid")
    try:
        return Decimal(f"{whole}.{frac or '0'}")
    except InvalidOperation:
        raise DomainError("amount_invalid") from None


def parse_amount(text: str, default_currency: str) -> tuple[Decimal, str]:
    """ "150000", "150 000 ₽", "1 500,50 USD", "$2,000", "USD 99.90" -> (Decimal, ISO code).

    Raises DomainError: amount_invalid, amount_negative, amount_too_large, currency_unknown.
    """
    text = text.strip()
    digits = [i for i, c in enumerate(text) if "0" <= c <= "9"]
    if not digits:
        raise DomainError("amount_invalid")
    first, last = digits[0], digits[-1]
    number = text[first : last + 1]
    if not _NUMBER_CHARS.fullmatch(number):
        raise DomainError("amount_invalid")
    prefix, suffix = text[:first].strip(), text[last + 1 :].strip()
    negative = False
    for minus in ("-", "−", "–"):
        if prefix.endswith(minus) or prefix.startswith(minus):
            negative = True
            prefix = prefix.replace(minus, "", 1).strip()
    if prefix and suffix:
        raise DomainError("amount_invalid")
    currency = parse_currency(prefix or suffix) if (prefix or suffix) else default_currency
    amount = _parse_number(number)
    if negative and amount != 0:
        raise DomainError("amount_negative")
    if amount > MAX_AMOUNT:
        raise DomainError("amount_too_large")
    return amount.quantize(CENT), currency


def clean_title(text: str | None) -> str:
    title = " ".join((text or "").split())
    if not title:
        raise DomainError("empty")
    if len(title) > TITLE_LIMIT:
        raise DomainError("too_long", limit=TITLE_LIMIT, length=len(title))
    return title


def clean_text(text: str | None, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise DomainError("empty")
    if len(value) > limit:
        raise DomainError("too_long", limit=limit, length=len(value))
    return value
