"""Adding a client (with the duplicate checks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.audit import AuditEvent
from models.clients import Client, ClientPhone, ClientSearchTerm, ClientStatus, ClientTag
from models.users import User
from services import audit, phones, search
from services.bulk import insert_rows, reserve_ids
from services.clients.dedupe import check_unique, duplicate_error, find_existing, savepoint
from services.clients.fields import ClientData, clean_name, clean_tags, clean_text
from services.clients.records import rekey
from services.sequences import hooks as drips


async def create(session: AsyncSession, actor: User, data: ClientData, now: datetime) -> Client:
    """A new client owned by the actor; Duplicate if the phone, email or Telegram id is known."""
    keys = {"phones_e164": data.phones, "email": data.email, "telegram_id": data.telegram_id}
    await check_unique(session, actor, **keys)
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
    rekey(client)
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
    if tags and client.telegram_id is not None:  # its tags are new on it: the drips they trigger
        await drips.on_tags_added(session, {tag: [client.id] for tag in tags}, now)
    audit.record(
        session, actor.id, "client.create", f"client:{client.id}", now, client_id=client.id, after=client.name
    )
    return client


@dataclass(slots=True)
class NewClient:
    """One client of a batch (an import): its checked data, owner and status."""

    data: ClientData
    owner_id: int
    status: ClientStatus = ClientStatus.prospect


CLIENT_COLUMNS = (
    "id", "name", "company", "position", "source", "email", "telegram_id", "birthday", "note", "status",
    "owner_id", "created_by", "updated_by", "created_at", "updated_at", "version", "dup_key", "vip",
)  # fmt: skip
AUDIT_COLUMNS = ("at", "actor_id", "action", "target", "details", "client_id", "after")


async def create_many(
    session: AsyncSession,
    actor: User,
    items: list[NewClient],
    now: datetime,
    via: str = "import",
    *,
    cleaned: bool = False,
) -> list[int]:
    """Many new clients at once, written as `create` writes one (cleaned fields, normalised phones and
    emails, the duplicate key, search terms and phone tails, the audit event), in a few multi-row
    INSERTs of prepared rows (services/bulk). The caller has checked that no phone, email or Telegram
    id is stored yet; the unique constraints still refuse one. With `cleaned`, the items' fields are
    already as the clean_* functions leave them (the import's check made them so) and aren't cleaned
    again. Returns the new ids in the order of `items`."""
    if not items:
        return []
    prepared = []
    # search.terms_of is the union of each field's words: the company's and the tags' part, the same
    # for many rows of a file, is worked out once per batch
    shared: dict[tuple[str | None, tuple[str, ...]], set[str]] = {}
    for item in items:
        d = item.data
        if cleaned:
            name, company, position, source, note = d.name, d.company, d.position, d.source, d.note
            tags = list(d.tags)
        else:
            name, company = clean_name(d.name), clean_text(d.company, "company")
            position, source = clean_text(d.position, "position"), clean_text(d.source, "source")
            note = clean_text(d.note, "note", multiline=True)
            tags = clean_tags(d.tags)
        # what search.terms_of reads of a client (plain objects: no ORM bookkeeping per row)
        common = shared.get(key := (company, tuple(tags)))
        if common is None:
            firm = SimpleNamespace(name=None, company=company, email=None)
            common = shared[key] = search.terms_of(firm, tags)  # type: ignore[arg-type]
        person = SimpleNamespace(name=name, company=None, email=d.email)
        terms = sorted(search.terms_of(person) | common)  # type: ignore[arg-type]
        prepared.append((name, company, position, source, note, tags, terms))
    ids = await reserve_ids(session, Client.__table__, len(items))
    actor_id = actor.id
    rows: list[tuple] = []
    phone_rows: list[tuple[int, str, str]] = []
    tag_rows: list[tuple[int, str]] = []
    term_rows: list[tuple[int, int, str]] = []
    for client_id, item, (name, company, position, source, note, tags, terms) in zip(
        ids, items, prepared, strict=True
    ):
        d, owner_id = item.data, item.owner_id
        rows.append(
            (
                client_id, name, company, position, source, d.email, d.telegram_id, d.birthday, note,
                item.status, owner_id, actor_id, actor_id, now, now, 1,
                search.duplicate_key(name, company), False,
            )
        )  # fmt: skip
        for e164 in d.phones:
            phone_rows.append((client_id, e164, phones.digits_reversed(e164)))
        for tag in tags:
            tag_rows.append((client_id, tag))
        for term in terms:
            term_rows.append((client_id, owner_id, term))
    await insert_rows(session, Client.__table__, CLIENT_COLUMNS, rows)
    await insert_rows(session, ClientPhone.__table__, ("client_id", "e164", "digits_reversed"), phone_rows)
    await insert_rows(session, ClientTag.__table__, ("client_id", "tag"), tag_rows)
    await insert_rows(session, ClientSearchTerm.__table__, ("client_id", "owner_id", "term"), term_rows)
    # The audit trail: each new client's creation, as `create` records one (marked as coming from `via`).
    details = {"via": via}
    audit_rows = [
        (now, actor_id, "client.create", f"client:{row[0]}", details, row[0], row[1]) for row in rows
    ]
    await insert_rows(session, AuditEvent.__table__, AUDIT_COLUMNS, audit_rows)
    return ids
