"""What a column of an import can be, how a header is recognised (Russian or English), and how a
cell's text becomes a value: phones written as floats, dates in several formats, amounts, statuses."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from models.clients import ClientStatus
from services.errors import DomainError

CLIENTS, PURCHASES = "clients", "purchases"
KINDS = (CLIENTS, PURCHASES)

# The fields of each kind, in the order the mapping buttons list them.
FIELDS: dict[str, tuple[str, ...]] = {
    CLIENTS: (
        "name",
        "first_name",
        "last_name",
        "phone",
        "email",
        "company",
        "position",
        "tags",
        "status",
        "owner",
        "birthday",
        "source",
        "note",
        "telegram_id",
    ),
    PURCHASES: ("client_id", "phone", "email", "date", "amount", "currency"),
}
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    # each inner tuple: at least one of these must be mapped
    CLIENTS: (("name", "first_name", "last_name"),),
    PURCHASES: (("client_id", "phone", "email"), ("date",), ("amount",)),
}
MULTI = frozenset({"phone", "tags", "note"})  # may be mapped from several columns (joined)

# Header words (normalised: casefold, ё→е, punctuation to spaces) -> field.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "name",
        "full name",
        "fullname",
        "client",
        "client name",
        "contact",
        "contact name",
        "имя клиента",
        "фио",
        "ф и о",
        "клиент",
        "контакт",
        "наименование",
        "имя фамилия",
    ),
    "first_name": ("first name", "firstname", "given name", "имя"),
    "last_name": ("last name", "lastname", "surname", "family name", "фамилия"),
    "phone": (
        "phone",
        "phones",
        "phone number",
        "mobile",
        "mobile phone",
        "tel",
        "telephone",
        "cell",
        "телефон",
        "телефоны",
        "мобильный",
        "мобильный телефон",
        "номер телефона",
        "тел",
    ),
    "email": (
        "email",
        "e mail",
        "mail",
        "email address",
        "почта",
        "электронная почта",
        "эл почта",
        "емейл",
        "имейл",
        "e mail адрес",
    ),
    "company": (
        "company",
        "organization",
        "organisation",
        "org",
        "company name",
        "компания",
        "организация",
        "фирма",
        "название компании",
    ),
    "position": ("position", "title", "job title", "role", "должность"),
    "tags": ("tags", "tag", "labels", "categories", "теги", "тег", "метки", "категории"),
    "status": ("status", "state", "статус", "состояние"),
    "owner": (
        "owner",
        "manager",
        "responsible",
        "assigned to",
        "менеджер",
        "ответственный",
        "владелец",
        "ответственный менеджер",
    ),
    "birthday": ("birthday", "birth date", "date of birth", "dob", "день рождения", "дата рождения", "др"),
    "source": ("source", "lead source", "channel", "источник", "канал", "откуда"),
    "note": (
        "note",
        "notes",
        "comment",
        "comments",
        "description",
        "комментарий",
        "комментарии",
        "заметка",
        "заметки",
        "примечание",
        "описание",
    ),
    "telegram_id": ("telegram id", "telegram", "tg id", "tg", "телеграм", "телеграм id", "id телеграм"),
    "client_id": ("client id", "customer id", "id клиента", "номер клиента", "код клиента", "id"),
    "date": ("date", "purchase date", "order date", "дата", "дата покупки", "дата заказа"),
    "amount": (
        "amount",
        "sum",
        "total",
        "price",
        "value",
        "сумма",
        "сумма покупки",
        "стоимость",
        "итого",
        "цена",
    ),
    "currency": ("currency", "валюта"),
}
_HEADER_INDEX = {word: name for name, words in _SYNONYMS.items() for word in words}
_NON_WORD = re.compile(r"[^\w]+|_+")


def normalise_header(text: str) -> str:
    return " ".join(_NON_WORD.split(text.casefold().replace("ё", "е"))).strip()


def guess_mapping(kind: str, headers: list[str]) -> list[str | None]:
    """Each column's field by its header; a field other than MULTI ones goes to its first column."""
    allowed = FIELDS[kind]
    taken: set[str] = set()
    mapping: list[str | None] = []
    for header in headers:
        name = _HEADER_INDEX.get(normalise_header(header))
        if name == "name" and kind == PURCHASES:
            name = None
        if name == "client_id" and kind == CLIENTS:
            name = None
        if name not in allowed or (name in taken and name not in MULTI):
            name = None
        if name:
            taken.add(name)
        mapping.append(name)
    return mapping


def missing(kind: str, mapping: list[str | None]) -> list[str]:
    """The required fields (the first of each group) no column is mapped to."""
    mapped = set(mapping)
    return [group[0] for group in REQUIRED[kind] if not mapped.intersection(group)]


# --- cell values ---

_FLOAT_NUMBER = re.compile(r"^[+]?\d+(?:[.,]\d+)?[eE][+]?\d+$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")
_DOTTED = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_SLASHED = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def phone_text(value: str) -> str:
    """A phone as a spreadsheet may have written it: 7.9991234567E10 or 79991234567.0 -> digits."""
    value = value.strip()
    if _FLOAT_NUMBER.match(value):
        try:
            number = Decimal(value.replace(",", "."))
        except InvalidOperation:
            return value
        if number == number.to_integral_value():
            return str(int(number))
    if re.fullmatch(r"\d{7,15}\.0+", value):
        return value.split(".", 1)[0]
    return value


def slash_order(values: list[str]) -> str:
    """How a column's a/b/yyyy dates read: "dm" (day first) or "md" (month first). A first number over
    12 means day first, a second one over 12 month first; with neither, day first (the Russian way)."""
    for value in values:
        m = _SLASHED.match(value.strip())
        if m:
            if int(m[1]) > 12:
                return "dm"
            if int(m[2]) > 12:
                return "md"
    return "dm"


def parse_date(value: str, order: str = "dm") -> tuple[date, time | None]:
    """YYYY-MM-DD (with a time), DD.MM.YYYY, and a/b/YYYY in the column's `order`."""
    value = value.strip()
    for pattern, kind in ((_ISO, "ymd"), (_DOTTED, "dmy"), (_SLASHED, "slash")):
        m = pattern.match(value)
        if not m:
            continue
        a, b, c = int(m[1]), int(m[2]), int(m[3])
        if kind == "ymd":
            y, mo, d = a, b, c
        elif kind == "dmy" or order == "dm":
            d, mo, y = a, b, c
        else:
            mo, d, y = a, b, c
        try:
            day = date(y, mo, d)
            at = time(int(m[4]), int(m[5]), int(m[6] or 0)) if m[4] else None
        except ValueError:
            break
        if day.year < 1900:
            break
        return day, at
    raise DomainError("bad_date", value=value[:40])


def parse_amount(value: str) -> Decimal:
    text = value.strip().replace("\u00a0", "").replace(" ", "").replace("'", "")
    text = re.sub(r"(?i)(руб\.?|р\.|₽|rub|usd|eur|\$|€)$", "", text)
    if "," in text and "." in text:
        text = text.replace(",", "")  # 1,234.50
    else:
        text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise DomainError("import_bad_amount", value=value[:40]) from None
    if not amount.is_finite() or amount <= 0:
        raise DomainError("import_bad_amount", value=value[:40])
    if amount >= Decimal("1e12"):
        raise DomainError("import_bad_amount", value=value[:40])
    return amount.quantize(Decimal("0.01"))


_CURRENCY_WORDS = {
    "руб": "RUB",
    "руб.": "RUB",
    "р": "RUB",
    "р.": "RUB",
    "₽": "RUB",
    "рубль": "RUB",
    "рубли": "RUB",
    "$": "USD",
    "€": "EUR",
    "доллар": "USD",
    "евро": "EUR",
}


def parse_currency(value: str, default: str) -> str:
    text = value.strip()
    if not text:
        return default
    code = _CURRENCY_WORDS.get(text.lower(), text.upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise DomainError("import_bad_currency", value=value[:20])
    return code


_STATUS_WORDS = {
    "prospect": ClientStatus.prospect,
    "lead": ClientStatus.prospect,
    "potential": ClientStatus.prospect,
    "потенциальный": ClientStatus.prospect,
    "лид": ClientStatus.prospect,
    "новый": ClientStatus.prospect,
    "active": ClientStatus.active,
    "активный": ClientStatus.active,
    "клиент": ClientStatus.active,
    "действующий": ClientStatus.active,
    "inactive": ClientStatus.inactive,
    "неактивный": ClientStatus.inactive,
    "бывший": ClientStatus.inactive,
    "архив": ClientStatus.inactive,
}


def parse_status(value: str) -> ClientStatus:
    status = _STATUS_WORDS.get(value.strip().casefold().replace("ё", "е"))
    if status is None:
        raise DomainError("import_bad_status", value=value[:40])
    return status


def parse_int_id(value: str, code: str) -> int:
    text = phone_text(value).lstrip("#")
    if not re.fullmatch(r"\d{1,18}", text):
        raise DomainError(code, value=value[:40])
    return int(text)


def combine_at(day: date, at: time | None, zone) -> datetime:
    """A purchase's moment: its date and time (noon when only a date is given) in the company's zone."""
    return datetime.combine(day, at or time(12, 0), tzinfo=zone)
