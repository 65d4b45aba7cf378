"""Importing a .vcf file (one or many vCards) with `vobject`: each contact is added, recognised as
known, or rejected with a reason. Each contact is its own savepoint, so one bad contact or a race
on one phone doesn't undo the others, and the whole file is still one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import vobject
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.users import User
from services.clients import fields
from services.clients.create import create
from services.clients.dedupe import Duplicate, savepoint
from services.clients.fields import ClientData
from services.errors import DomainError

MAX_BYTES = 1_000_000
MAX_CONTACTS = 500
SOURCE = "vCard"
_BLOCK = re.compile(r"^BEGIN:VCARD\s*$.*?^END:VCARD\s*$", re.IGNORECASE | re.MULTILINE | re.DOTALL)


@dataclass
class ImportReport:
    total: int = 0
    added: list[Client] = field(default_factory=list)
    known: list[tuple[str, Duplicate]] = field(default_factory=list)
    rejected: list[tuple[str, DomainError]] = field(default_factory=list)


def decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise DomainError("vcf_unreadable")


def split_cards(text: str) -> list[str]:
    """The BEGIN:VCARD…END:VCARD blocks, so one broken card doesn't stop the others from reading."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # vCard 2.1 quoted-printable soft line breaks ("=" at the end of a line) join the next line.
    text = re.sub(r"=\n(?=[^\n]*)", "", text) if "QUOTED-PRINTABLE" in text.upper() else text
    return _BLOCK.findall(text)


def _values(card: vobject.base.Component, name: str) -> list:
    return [line.value for line in card.contents.get(name, [])]


def _text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(str(v) for v in value if v)
    return str(value or "")


def _name(card: vobject.base.Component) -> str:
    for fn in _values(card, "fn"):
        if _text(fn).strip():
            return _text(fn).strip()
    for n in _values(card, "n"):
        parts = [
            _text(getattr(n, attr, "")) for attr in ("prefix", "given", "additional", "family", "suffix")
        ]
        joined = " ".join(p for p in parts if p.strip())
        if joined.strip():
            return joined.strip()
    return ""


def _birthday(value: str, today: date) -> date | None:
    value = value.strip()
    if not value or value.startswith("--"):  # no year: can't store it
        return None
    try:
        return fields.parse_birthday(value[:10], today)
    except DomainError:
        return None


def entry(block: str, region: str, today: date) -> tuple[str, ClientData]:
    """The contact's name (for the report) and what to store; DomainError says why it can't be."""
    try:
        card = vobject.readOne(block, ignoreUnreadable=True)
    except Exception:
        raise DomainError("vcf_unreadable") from None
    name = _name(card)
    display = " ".join(name.split())[:60]
    try:
        if not name.strip():
            orgs = [_text(o) for o in _values(card, "org")]
            if orgs and orgs[0].strip():
                name = orgs[0]
            else:
                raise DomainError("no_name")
        numbers: list[str] = []
        for tel in _values(card, "tel"):
            raw = _text(tel).strip()
            if raw.lower().startswith("tel:"):
                raw = raw[4:]
            if raw:
                numbers.extend(e for e in fields.clean_phones(raw, region) if e not in numbers)
        if len(numbers) > fields.MAX_PHONES:
            raise DomainError("too_many_phones", limit=fields.MAX_PHONES)
        emails = [_text(e).strip() for e in _values(card, "email") if _text(e).strip()]
        email = fields.clean_email(emails[0]) if emails else None
        orgs = _values(card, "org")
        company = _text(orgs[0]).strip() if orgs else None
        titles = [_text(t) for t in _values(card, "title")]
        notes = [_text(n) for n in _values(card, "note")]
        categories: list[str] = []
        for value in _values(card, "categories"):
            categories.extend(value if isinstance(value, list) else str(value).split(","))
        note = "\n".join(n for n in notes if n.strip())
        if len(note) > fields.NOTE_LIMIT:
            note = note[: fields.NOTE_LIMIT - 1] + "…"
        bdays = _values(card, "bday")
        data = ClientData(
            name=fields.clean_name(name),
            phones=numbers,
            email=email,
            company=fields.clean_text(company, "company") if company else None,
            position=fields.clean_text(titles[0], "position") if titles else None,
            source=SOURCE,
            tags=fields.clean_tags(categories),
            birthday=_birthday(_text(bdays[0]), today) if bdays else None,
            note=note or None,
        )
    except DomainError as e:
        e.params.setdefault("contact", display)
        raise
    return display or data.name, data


async def import_vcf(
    session: AsyncSession, actor: User, data: bytes, now: datetime, region: str
) -> ImportReport:
    if len(data) > MAX_BYTES:
        raise DomainError("vcf_too_big", limit=MAX_BYTES // 1000)
    blocks = split_cards(decode(data))
    if not blocks:
        raise DomainError("vcf_unreadable")
    if len(blocks) > MAX_CONTACTS:
        raise DomainError("vcf_too_many", limit=MAX_CONTACTS)
    report = ImportReport(total=len(blocks))
    today = now.date()
    for block in blocks:
        try:
            name, client_data = entry(block, region, today)
        except DomainError as e:
            report.rejected.append((str(e.params.get("contact", "")), e))
            continue
        try:
            async with await savepoint(session):
                client = await create(session, actor, client_data, now)
        except Duplicate as dup:
            report.known.append((name, dup))
            continue
        except DomainError as e:
            report.rejected.append((name, e))
            continue
        report.added.append(client)
    return report
