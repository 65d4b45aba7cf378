"""Clients: adding (with duplicate checks), editing, notes, owner, merging, lists and likely duplicates.

Every change bumps `Client.version` and keeps the search terms and phone tails in sync. A duplicate
phone, email or Telegram id is refused before writing and again, for a race, by the unique constraints.
Nothing here imports aiogram: handlers turn DomainError codes into messages.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError
from sqlalchemy import and_, bindparam, delete, exists, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from models.base import Base
from models.clients import Client, ClientPhone, ClientSearchTerm, ClientStatus, ClientTag
from models.deals import Deal, DealEvent
from models.reminders import Reminder, ReminderStatus
from models.users import STAFF_ROLES, User
from services import access, audit, phones, search
from services.errors import DomainError, NotFound

PAGE = 8
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
# Filled from the merged-away record when the survivor has nothing there.
MERGE_FILL = ("company", "position", "source", "birthday", "note", "timezone", "language")

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_EMAIL = re.compile(
    r"^[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$"
)
_EMAIL_IN_TEXT = re.compile(r"[^\s<>()\[\],;:\"'«»]+@[^\s<>()\[\],;:\"'«»]+")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[-_][a-z0-9]{2,4})?$")


# --- errors ---


class Stale(DomainError):
    """The card changed since the button or dialog step was drawn."""

    code = "stale"


class Duplicate(DomainError):
    """The phone, email or Telegram id is already stored for `existing`."""

    code = "duplicate"

    def __init__(self, existing: Client, owner: User | None, visible: bool, via: str) -> None:
        super().__init__("duplicate")
        self.existing = existing
        self.owner = owner
        self.visible = visible  # the actor may see the existing card (theirs, or they are an admin)
        self.via = via  # phone | email | telegram

    @property
    def owner_name(self) -> str:
        return self.owner.display_name if self.owner else "?"


# --- validation (each raises DomainError with a code and params the handler can show) ---


def clean_text(value: str | None, field_name: str, *, multiline: bool = False) -> str | None:
    """Trimmed text within the field's limit; None for empty. Control characters are dropped."""
    if value is None:
        return None
    if multiline:
        value = "\n".join(_CONTROL.sub("", line).rstrip() for line in value.strip().splitlines())
    else:
        value = " ".join(_CONTROL.sub(" ", value).split())
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


# --- one line: "/add Иван Петров +7 999 123-45-67 ivan@example.ru ООО Ромашка" ---

# A word that starts a company: legal forms written before the name, or a quote.
COMPANY_PREFIXES = frozenset(
    {"ооо", "оао", "зао", "пао", "ао", "ип", "нко", "ано", "гк", "тоо", "чп", "фгуп", "муп", "гуп"}
)
# Legal forms written after the name: the word before them starts the company.
COMPANY_SUFFIXES = frozenset(
    {"llc", "inc", "ltd", "gmbh", "corp", "co", "plc", "lp", "llp", "ag", "sa", "bv", "oy", "ab", "jsc"}
)
_QUOTES = "\"'«»“”„"


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
    line = _CONTROL.sub(" ", line)
    found = phones.find_in_text(line, region)
    rest = line
    for f in reversed(found):
        rest = rest[: f.start] + " " + rest[f.end :]
    emails = _EMAIL_IN_TEXT.findall(rest)
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


# --- duplicates ---


async def _owner(session: AsyncSession, client: Client) -> User | None:
    return await session.get(User, client.owner_id)


async def find_existing(
    session: AsyncSession,
    *,
    phones_e164: Iterable[str] = (),
    email: str | None = None,
    telegram_id: int | None = None,
    exclude_id: int | None = None,
) -> tuple[Client, str] | None:
    """A stored client with one of these phones, this email or this Telegram id, and which matched."""
    numbers = list(phones_e164)
    if numbers:
        stmt = select(ClientPhone.client_id).where(ClientPhone.e164.in_(numbers))
        if exclude_id is not None:
            stmt = stmt.where(ClientPhone.client_id != exclude_id)
        client_id = await session.scalar(stmt.limit(1))
        if client_id is not None:
            return await _live(session, client_id), "phone"
    for column, value, via in ((Client.email, email, "email"), (Client.telegram_id, telegram_id, "telegram")):
        if value is None:
            continue
        stmt = select(Client).where(column == value)
        if exclude_id is not None:
            stmt = stmt.where(Client.id != exclude_id)
        client = await session.scalar(stmt.limit(1))
        if client is not None:
            return await _live(session, client.id), via
    return None


async def _live(session: AsyncSession, client_id: int) -> Client:
    """Follow merges to the record that is shown now."""
    client = await session.get(Client, client_id)
    seen = set()
    while client is not None and client.merged_into_id is not None and client.id not in seen:
        seen.add(client.id)
        client = await session.get(Client, client.merged_into_id)
    if client is None:
        raise DomainError("not_found")
    return client


async def duplicate_error(session: AsyncSession, actor: User, found: tuple[Client, str]) -> Duplicate:
    existing, via = found
    visible = access.sees_everything(actor) or existing.owner_id == actor.id
    return Duplicate(existing, await _owner(session, existing), visible, via)


async def _check_unique(
    session: AsyncSession,
    actor: User,
    *,
    phones_e164: Iterable[str] = (),
    email: str | None = None,
    telegram_id: int | None = None,
    exclude_id: int | None = None,
) -> None:
    found = await find_existing(
        session, phones_e164=phones_e164, email=email, telegram_id=telegram_id, exclude_id=exclude_id
    )
    if found is not None:
        raise await duplicate_error(session, actor, found)


async def savepoint(session: AsyncSession):
    """A SAVEPOINT inside the update's transaction.

    pysqlite opens its transaction lazily, at the first write; a SAVEPOINT before that would become
    the outer transaction and its RELEASE would commit. A write that changes nothing opens it first.
    """
    if session.bind.dialect.name == "sqlite":
        await session.execute(text("UPDATE clients SET id = id WHERE 0 = 1"))
    return session.begin_nested()


async def _flush_unique(session: AsyncSession, actor: User, **keys: Any) -> None:
    """Flush inside a savepoint; a unique-constraint race becomes a Duplicate like the pre-check."""
    try:
        async with await savepoint(session):
            await session.flush()
    except IntegrityError:
        found = await find_existing(session, **keys)
        if found is None:
            raise
        raise await duplicate_error(session, actor, found) from None


# --- create ---


def _rekey(client: Client) -> None:
    """Keep the likely-duplicates key in step with the name and company."""
    client.dup_key = search.duplicate_key(client.name, client.company)


def _touch(client: Client, actor: User, now: datetime) -> None:
    client.version = (client.version or 0) + 1
    client.updated_at = now
    client.updated_by = actor.id


async def create(session: AsyncSession, actor: User, data: ClientData, now: datetime) -> Client:
    """A new client owned by the actor; Duplicate if the phone, email or Telegram id is known."""
    keys = {"phones_e164": data.phones, "email": data.email, "telegram_id": data.telegram_id}
    await _check_unique(session, actor, **keys)
    tags = clean_tags(data.tags)
    client = Client(
        name=clean_name(data.name),
        company=clean_text(data.company, "company"),
        position=clean_text(data.position, "position"),
        source=clean_text(data.source, "source"),
        email=data.email,
        telegram_id=data.telegram_id,
        birthday=data.birthday,
        note=clean_text(data.note, "note", multiline=True),
        status=ClientStatus.prospect,
        owner_id=actor.id,
        created_by=actor.id,
        updated_by=actor.id,
        created_at=now,
        updated_at=now,
        version=1,
        phones=[ClientPhone(e164=e, digits_reversed=phones.digits_reversed(e)) for e in data.phones],
        tags=[ClientTag(tag=t) for t in tags],
    )
    _rekey(client)
    try:
        async with await savepoint(session):
            session.add(client)
            await session.flush()
    except IntegrityError:
        found = await find_existing(session, **keys)
        if found is None:
            raise
        raise await duplicate_error(session, actor, found) from None
    await search.rebuild_terms(session, client, tags)
    return client


# --- edit ---


def check_version(client: Client, version: int) -> None:
    if client.version != version:
        raise Stale()


async def set_field(
    session: AsyncSession,
    actor: User,
    client: Client,
    version: int,
    field_name: str,
    value: str | None,
    now: datetime,
    *,
    region: str,
    today: date,
) -> Client:
    """Validate `value` (None clears) for one field and save it."""
    check_version(client, version)
    if field_name not in EDITABLE or field_name == "phones":
        raise DomainError("bad_field")
    if value is None:
        if field_name in REQUIRED:
            raise DomainError("empty")
        new: Any = [] if field_name == "tags" else None
    elif field_name == "name":
        new = clean_name(value)
    elif field_name == "email":
        new = clean_email(value)
        await _check_unique(session, actor, email=new, exclude_id=client.id)
    elif field_name == "tags":
        new = clean_tags(value)
    elif field_name == "birthday":
        new = parse_birthday(value, today)
    elif field_name == "status":
        new = clean_status(value)
    elif field_name == "timezone":
        new = clean_timezone(value)
    elif field_name == "language":
        new = clean_language(value)
    else:
        new = clean_text(value, field_name, multiline=field_name == "note")
    if field_name == "tags":
        await _set_tags(session, client, new)
    else:
        setattr(client, field_name, new)
        if field_name in ("name", "company"):
            _rekey(client)
    _touch(client, actor, now)
    if field_name == "email":
        await _flush_unique(session, actor, email=new, exclude_id=client.id)
    else:
        await session.flush()
    if field_name in ("name", "company", "email", "tags"):
        await search.rebuild_terms(session, client, new if field_name == "tags" else None)
    return client


async def _set_tags(session: AsyncSession, client: Client, tags: list[str]) -> None:
    await session.execute(delete(ClientTag).where(ClientTag.client_id == client.id))
    if tags:
        await session.execute(insert(ClientTag), [{"client_id": client.id, "tag": t} for t in tags])
    await session.refresh(client, ["tags"])


async def add_phones(
    session: AsyncSession, actor: User, client: Client, version: int, value: str, now: datetime, region: str
) -> Client:
    check_version(client, version)
    numbers = [e for e in clean_phones(value, region) if e not in {p.e164 for p in client.phones}]
    if len(client.phones) + len(numbers) > MAX_PHONES:
        raise DomainError("too_many_phones", limit=MAX_PHONES)
    await _check_unique(session, actor, phones_e164=numbers, exclude_id=client.id)
    for e164 in numbers:
        session.add(ClientPhone(client_id=client.id, e164=e164, digits_reversed=phones.digits_reversed(e164)))
    _touch(client, actor, now)
    await _flush_unique(session, actor, phones_e164=numbers, exclude_id=client.id)
    await session.refresh(client, ["phones"])
    return client


async def remove_phone(
    session: AsyncSession, actor: User, client: Client, version: int, phone_id: int, now: datetime
) -> Client:
    check_version(client, version)
    phone = next((p for p in client.phones if p.id == phone_id), None)
    if phone is None:
        raise Stale()
    await session.execute(delete(ClientPhone).where(ClientPhone.id == phone.id))
    _touch(client, actor, now)
    await session.flush()
    await session.refresh(client, ["phones"])
    return client


async def append_note(
    session: AsyncSession, actor: User, client: Client, version: int, value: str, header: str, now: datetime
) -> Client:
    """Add a dated paragraph to the note (the whole note stays within NOTE_LIMIT)."""
    check_version(client, version)
    addition = clean_text(value, "note", multiline=True)
    if not addition:
        raise DomainError("empty")
    paragraph = f"{header}\n{addition}" if header else addition
    note = f"{client.note}\n\n{paragraph}" if client.note else paragraph
    if len(note) > NOTE_LIMIT:
        used = len(client.note) + 2 + len(header) + 1 if client.note else len(header) + 1
        raise DomainError("note_full", limit=NOTE_LIMIT, left=max(0, NOTE_LIMIT - used))
    client.note = note
    _touch(client, actor, now)
    await session.flush()
    return client


# --- owner ---


async def assignable_staff(session: AsyncSession) -> list[User]:
    rows = await session.scalars(
        select(User)
        .where(User.role.in_(STAFF_ROLES), User.is_active.is_(True))
        .order_by(User.first_name, User.id)
        .limit(50)
    )
    return list(rows)


async def set_owner(
    session: AsyncSession, actor: User, client: Client, version: int, new_owner_id: int, now: datetime
) -> tuple[Client, int]:
    """Give the client to another active manager or admin; returns the client and the previous owner.

    Their deals and pending reminders go along, so nothing keeps pointing the old owner at a
    client they can no longer open.
    """
    if not access.sees_everything(actor):
        raise DomainError("not_allowed")
    check_version(client, version)
    new_owner = await session.get(User, new_owner_id)
    if new_owner is None or new_owner.role not in STAFF_ROLES or not new_owner.is_active:
        raise DomainError("bad_owner")
    previous = client.owner_id
    if previous == new_owner_id:
        raise DomainError("same_owner")
    client.owner_id = new_owner_id
    _touch(client, actor, now)
    await session.execute(
        update(ClientSearchTerm).where(ClientSearchTerm.client_id == client.id).values(owner_id=new_owner_id)
    )
    deal_ids, reminders_moved = await _move_client_work(
        session, actor, client.id, previous, new_owner_id, now, "client reassigned"
    )
    audit.record(
        session,
        actor.id,
        "client.owner",
        f"client:{client.id}",
        now,
        old=previous,
        new=new_owner_id,
        deals=deal_ids,
        reminders=reminders_moved,
    )
    await session.flush()
    return client, previous


async def _move_client_work(
    session: AsyncSession,
    actor: User,
    client_id: int,
    previous: int,
    new_owner_id: int,
    now: datetime,
    reason: str,
) -> tuple[list[int], int]:
    """The client's deals (open and closed) and pending reminders of `previous` go to the new owner,
    so nobody is left with pipeline rows or reminders for a client they can no longer open."""
    deals = (
        await session.scalars(select(Deal).where(Deal.client_id == client_id, Deal.owner_id == previous))
    ).all()
    for deal in deals:
        deal.owner_id = new_owner_id
        deal.version = (deal.version or 0) + 1
        deal.updated_at = now
        session.add(
            DealEvent(
                deal_id=deal.id,
                actor_id=actor.id,
                at=now,
                kind="owner",
                old_value=str(previous),
                new_value=str(new_owner_id),
                details={"reason": reason},
            )
        )
    moved_reminders = await session.execute(
        update(Reminder)
        .where(
            Reminder.client_id == client_id,
            Reminder.owner_id == previous,
            Reminder.status == ReminderStatus.pending,
        )
        .values(owner_id=new_owner_id)
        .execution_options(synchronize_session=False)
    )
    return [d.id for d in deals], moved_reminders.rowcount


# --- likely duplicates and merge ---


async def likely_duplicates(
    session: AsyncSession, viewer: User, client: Client, limit: int = 2
) -> list[Client]:
    """Other visible clients with the same name and company (case, ё/е and punctuation aside): one
    probe of (dup_key, owner_id). A lone first name without a company has no key (see duplicate_key).
    """
    key = search.duplicate_key(client.name, client.company)
    if key is None:
        return []
    stmt = select(Client).where(
        Client.dup_key == key, Client.id != client.id, Client.merged_into_id.is_(None)
    )
    if not access.sees_everything(viewer):
        stmt = stmt.where(Client.owner_id == viewer.id)
    return list((await session.scalars(stmt.order_by(Client.id).limit(limit))).all())


# Tables whose rows can't simply be re-pointed at the survivor (a unique key on the client, e.g. one
# loyalty account or one consent state per client): their domain service registers how to fold the
# other's rows into the survivor's. A hook runs in the merge's transaction before the generic move.
MergeHook = Callable[[AsyncSession, Client, Client, datetime], Awaitable[int]]
MERGE_HOOKS: dict[str, MergeHook] = {}


def on_merge(table: str) -> Callable[[MergeHook], MergeHook]:
    """Register how `table`'s rows of a merged-away client join the survivor; returns rows moved."""

    def decorator(fn: MergeHook) -> MergeHook:
        MERGE_HOOKS[table] = fn
        return fn

    return decorator


def _client_fk_columns() -> list[tuple[Any, Any]]:
    """(table, column) of every foreign key to clients.id outside the client's own tables and the
    tables with a merge hook."""
    own = {"clients", "client_phones", "client_tags", "client_search_terms", *MERGE_HOOKS}
    result = []
    for table in Base.metadata.sorted_tables:
        if table.name in own:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "clients" and fk.column.name == "id":
                result.append((table, fk.parent))
    return result


async def merge(
    session: AsyncSession, actor: User, survivor_id: int, other_id: int, version: int, now: datetime
) -> Client:
    """Fold `other` into `survivor`: phones, tags, contacts, deals, reminders and every other row that
    points at it move over; the survivor keeps its non-empty fields and fills empty ones from the
    other; the other is marked merged_into; both versions are bumped; who merged what is recorded.
    """
    if survivor_id == other_id:
        raise DomainError("merge_self")
    if session.bind.dialect.name == "postgresql":
        # Two people merging the same pair at once: the second waits and then sees the result.
        await session.execute(
            select(Client.id)
            .where(Client.id.in_([survivor_id, other_id]))
            .order_by(Client.id)
            .with_for_update()
        )
    survivor = await access.visible_client(session, actor, survivor_id)
    other = await access.visible_client(session, actor, other_id)
    await session.refresh(survivor)
    await session.refresh(other)
    if survivor.merged_into_id is not None or other.merged_into_id is not None:
        raise DomainError("not_found")
    check_version(survivor, version)

    snapshot = {
        "name": other.name,
        "company": other.company,
        "email": other.email,
        "telegram_id": other.telegram_id,
        "phones": [p.e164 for p in other.phones],
        "tags": [t.tag for t in other.tags],
        "owner_id": other.owner_id,
        "note": other.note,
    }
    filled = []
    for name in MERGE_FILL:
        if getattr(survivor, name) in (None, "") and getattr(other, name) not in (None, ""):
            setattr(survivor, name, getattr(other, name))
            filled.append(name)
    unique_moves = {}
    for name in ("email", "telegram_id"):
        if getattr(survivor, name) is None and getattr(other, name) is not None:
            unique_moves[name] = getattr(other, name)
            filled.append(name)
    other.email = None
    other.telegram_id = None
    if other.last_contact_at and (
        not survivor.last_contact_at or other.last_contact_at > survivor.last_contact_at
    ):
        survivor.last_contact_at = other.last_contact_at
    await session.flush()  # the other's unique values are free now
    for name, value in unique_moves.items():
        setattr(survivor, name, value)

    moved: dict[str, int] = {}
    result = await session.execute(
        update(ClientPhone)
        .where(ClientPhone.client_id == other.id)
        .values(client_id=survivor.id)
        .execution_options(synchronize_session=False)
    )
    moved["client_phones"] = result.rowcount
    survivor_tags = {t.tag for t in survivor.tags}
    new_tags = [t.tag for t in other.tags if t.tag not in survivor_tags]
    await session.execute(delete(ClientTag).where(ClientTag.client_id == other.id))
    if new_tags:
        await session.execute(insert(ClientTag), [{"client_id": survivor.id, "tag": t} for t in new_tags])
    moved["client_tags"] = len(new_tags)
    from services import consent, loyalty, surveys  # noqa: F401  (they register their merge hooks)

    for table_name, hook in MERGE_HOOKS.items():
        if count := await hook(session, survivor, other, now):
            moved[table_name] = count
    if count := await loyalty.merge_into(session, survivor, other, now):
        moved["loyalty_accounts"] = count
    for table, column in _client_fk_columns():
        result = await session.execute(
            update(table).where(column == other.id).values({column.name: survivor.id})
        )
        if result.rowcount:
            moved[f"{table.name}.{column.name}"] = result.rowcount
    if other.owner_id != survivor.owner_id:
        deal_ids, reminders_moved = await _move_client_work(
            session, actor, survivor.id, other.owner_id, survivor.owner_id, now, "clients merged"
        )
        moved["deals.owner_id"] = len(deal_ids)
        moved["reminders.owner_id"] = reminders_moved
    # Records merged into the other earlier now point at the survivor directly.
    await session.execute(
        update(Client)
        .where(Client.merged_into_id == other.id)
        .values(merged_into_id=survivor.id)
        .execution_options(synchronize_session=False)
    )
    other.merged_into_id = survivor.id
    _rekey(survivor)  # the company may have been filled from the other
    _touch(other, actor, now)
    _touch(survivor, actor, now)
    await session.flush()
    await search.drop_terms(session, other.id)
    await session.refresh(survivor, ["phones", "tags"])
    await session.refresh(other, ["phones", "tags"])
    await search.rebuild_terms(session, survivor)
    audit.record(
        session,
        actor.id,
        "client.merge",
        f"client:{survivor.id}",
        now,
        merged=other.id,
        filled=filled,
        moved=moved,
        other=snapshot,
    )
    await session.flush()
    return survivor


# --- lists ---


@dataclass(frozen=True, slots=True)
class ListFilter:
    status: ClientStatus | None = None
    tag: str | None = None
    stale_days: int | None = None


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]  # Client; ListRow from search_rows
    page: int
    has_next: bool


async def list_page(session: AsyncSession, viewer: User, flt: ListFilter, page: int, now: datetime) -> Page:
    """The viewer's clients (admins: everyone's), newest first, PAGE at a time (LIMIT PAGE + 1)."""
    page = max(0, page)
    stmt = select(Client).where(Client.merged_into_id.is_(None))
    if not access.sees_everything(viewer):
        stmt = stmt.where(Client.owner_id == viewer.id)
    if flt.status is not None:
        stmt = stmt.where(Client.status == flt.status)
    if flt.tag:
        stmt = stmt.where(exists().where(ClientTag.client_id == Client.id, ClientTag.tag == flt.tag))
    if flt.stale_days is not None:
        cutoff = now - timedelta(days=flt.stale_days)
        stmt = stmt.where(
            or_(
                Client.last_contact_at < cutoff,
                and_(Client.last_contact_at.is_(None), Client.created_at < cutoff),
            )
        )
    rows = list(
        (await session.scalars(stmt.order_by(Client.id.desc()).offset(page * PAGE).limit(PAGE + 1))).all()
    )
    return Page(rows[:PAGE], page, len(rows) > PAGE)


async def search_page(
    session: AsyncSession, viewer: User, query: search.Query, page: int, *, size: int = PAGE
) -> Page:
    page = max(0, page)
    owner = None if access.sees_everything(viewer) else viewer.id
    ids = await search.find_ids(session, query, owner, offset=page * size, limit=size + 1)
    if not ids:
        return Page([], page, False)
    by_id = {c.id: c for c in (await session.scalars(select(Client).where(Client.id.in_(ids[:size])))).all()}
    items = [by_id[i] for i in ids[:size] if i in by_id and by_id[i].merged_into_id is None]
    return Page(items, page, len(ids) > size)


@dataclass(frozen=True, slots=True)
class ListRow:
    """A client as a list button shows it."""

    id: int
    version: int
    name: str
    company: str | None
    phone: str | None  # the first number, E.164

    @classmethod
    def of(cls, client: Client) -> ListRow:
        return cls(
            client.id,
            client.version,
            client.name,
            client.company,
            client.phones[0].e164 if client.phones else None,
        )


async def search_rows(
    session: AsyncSession, viewer: User, query: search.Query, page: int, *, size: int = PAGE
) -> Page:
    """search_page as list rows: the search and the rows it shows are one statement."""
    page = max(0, page)
    owner = None if access.sees_everything(viewer) else viewer.id
    found = await search.find_statement(session, query, owner, offset=page * size, limit=size + 1)
    if found is None:
        return Page([], page, False)
    hits = found.subquery("hits")
    first_phone = (
        select(ClientPhone.e164)
        .where(ClientPhone.client_id == Client.id)
        .order_by(ClientPhone.id)
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(Client.id, Client.version, Client.name, Client.company, first_phone, Client.merged_into_id)
        .select_from(hits)
        .join(Client, Client.id == hits.c.client_id)
        .order_by(hits.c.sort_key, hits.c.client_id)
    )
    rows = (await session.execute(stmt)).all()
    items = [ListRow(*row[:5]) for row in rows[:size] if row.merged_into_id is None]
    return Page(items, page, len(rows) > size)


# --- the card ---


@dataclass(frozen=True, slots=True)
class DuplicateRef:
    """What the card shows of a likely duplicate (and its Merge button needs)."""

    id: int
    name: str
    company: str | None
    created_at: datetime


@dataclass
class CardData:
    client: Client
    owner: User | None
    next_reminder: Any  # Reminder | None
    deals: Any  # services.deals.OpenSummary
    duplicates: list[Any]  # DuplicateRef or Client: .id, .name, .company, .created_at


_CARD_STATEMENTS: dict[bool, Any] = {}


def _card_statement(everyone: bool):
    """One SELECT for the whole card: the client with its phones and tags, the owner, the next pending
    reminder, the open deals' count and sum, and up to two likely duplicates (the same dup_key among
    the records the viewer may see). Built once per shape; :client_id and :viewer_id are bound."""
    stmt = _CARD_STATEMENTS.get(everyone)
    if stmt is not None:
        return stmt
    from services.deals import CLOSED_STAGES

    nxt = aliased(Reminder, name="next_r")
    pending = aliased(Reminder, name="pending_r")
    next_id = (
        select(pending.id)
        .where(pending.client_id == Client.id, pending.status == ReminderStatus.pending)
        .order_by(pending.due_at, pending.id)
        .limit(1)
        .scalar_subquery()
    )
    d = aliased(Deal, name="open_d")
    open_deals = select().select_from(d).where(d.client_id == Client.id, d.stage.not_in(CLOSED_STAGES))
    deal_columns = [
        open_deals.add_columns(column).scalar_subquery().label(name)
        for name, column in (
            ("deals_n", func.count()),
            ("currency_lo", func.min(d.currency)),
            ("currency_hi", func.max(d.currency)),
            ("deals_sum", func.coalesce(func.sum(d.amount), 0)),
        )
    ]
    same = aliased(Client, name="same")
    match = [same.dup_key == Client.dup_key, same.id != Client.id, same.merged_into_id.is_(None)]
    if not everyone:
        match.append(same.owner_id == bindparam("viewer_id"))
    same_ids = select(same.id).where(*match).order_by(same.id)
    dup_columns = []
    joins = []
    for i in range(2):
        dup = aliased(Client, name=f"dup{i}")
        joins.append((dup, dup.id == same_ids.offset(i).limit(1).scalar_subquery()))
        dup_columns += [dup.id, dup.name, dup.company, dup.created_at]
    stmt = (
        select(Client, User, nxt, *deal_columns, *dup_columns)
        .outerjoin(User, User.id == Client.owner_id)
        .outerjoin(nxt, nxt.id == next_id)
    )
    for dup, on in joins:
        stmt = stmt.outerjoin(dup, on)
    stmt = stmt.where(Client.id == bindparam("client_id")).options(
        joinedload(Client.phones), joinedload(Client.tags)
    )
    _CARD_STATEMENTS[everyone] = stmt
    return stmt


async def _card_row(session: AsyncSession, viewer: User, client_id: int) -> CardData | None:
    from services import deals as deals_service

    everyone = access.sees_everything(viewer)
    params: dict[str, Any] = {"client_id": client_id}
    if not everyone:
        params["viewer_id"] = viewer.id
    row = (await session.execute(_card_statement(everyone), params)).unique().one_or_none()
    if row is None:
        return None
    client, owner, reminder, count, currency_lo, currency_hi, total, *dups = row
    if not count:
        deals = deals_service.OpenSummary(count=0, sums={})
    elif currency_lo == currency_hi:
        deals = deals_service.OpenSummary(count=count, sums={currency_lo: Decimal(total)} if total else {})
    else:  # several currencies: a sum for each
        deals = await deals_service.open_summary(session, client_id)
    duplicates = [DuplicateRef(*dups[i : i + 4]) for i in (0, 4) if dups[i] is not None]
    return CardData(client=client, owner=owner, next_reminder=reminder, deals=deals, duplicates=duplicates)


async def card(session: AsyncSession, viewer: User, client: Client) -> CardData:
    """Everything the card shows besides the client itself, in one statement."""
    data = await _card_row(session, viewer, client.id)
    if data is None:  # deleted meanwhile: nothing hangs on it any more
        from services import deals as deals_service

        return CardData(client, await _owner(session, client), None, deals_service.OpenSummary(0, {}), [])
    data.client = client
    return data


async def open_card(session: AsyncSession, viewer: User, client_id: int) -> CardData:
    """The card of a client the viewer may see (as access.visible_client decides), in one statement;
    NotFound for a client that doesn't exist, was merged away or is someone else's."""
    data = await _card_row(session, viewer, client_id)
    if data is None or data.client.merged_into_id is not None:
        raise NotFound()
    if not access.sees_everything(viewer) and data.client.owner_id != viewer.id:
        raise NotFound()
    return data
