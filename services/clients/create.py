"""Adding a client (with the duplicate checks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from sqlalchemy import insert
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


async def create_many(
    session: AsyncSession, actor: User, items: list[NewClient], now: datetime, via: str = "import"
) -> list[int]:
    """Many new clients at once, written as `create` writes one (cleaned fields, normalised phones and
    emails, the duplicate key, search terms and phone tails), in a few multi-row INSERTs. The caller has
    checked that no phone, email or Telegram id is stored yet; the unique constraints still refuse one.
    Returns the new ids in the order of `items`."""
    if not items:
        return []
    rows = []
    cleaned: list[tuple[SimpleNamespace, list[str]]] = []
    for item in items:
        d = item.data
        # what search.terms_of reads of a client (a plain object: no ORM bookkeeping per row)
        probe = SimpleNamespace(
            name=clean_name(d.name), company=clean_text(d.company, "company"), email=d.email
        )
        tags = clean_tags(d.tags)
        cleaned.append((probe, tags))
        rows.append(
            {
                "name": probe.name,
                "company": probe.company,
                "position": clean_text(d.position, "position"),
                "source": clean_text(d.source, "source"),
                "email": d.email,
                "telegram_id": d.telegram_id,
                "birthday": d.birthday,
                "note": clean_text(d.note, "note", multiline=True),
                "status": item.status,
                "owner_id": item.owner_id,
                "created_by": actor.id,
                "updated_by": actor.id,
                "created_at": now,
                "updated_at": now,
                "version": 1,
                "dup_key": search.duplicate_key(probe.name, probe.company),
                "vip": False,
            }
        )
    ids = await reserve_ids(session, Client.__table__, len(rows))
    for client_id, row in zip(ids, rows, strict=True):
        row["id"] = client_id
    await session.execute(insert(Client.__table__), rows)
    phone_rows: list[tuple[int, str, str]] = []
    tag_rows: list[tuple[int, str]] = []
    term_rows: list[tuple[int, int, str]] = []
    for client_id, item, (probe, tags) in zip(ids, items, cleaned, strict=True):
        phone_rows += [(client_id, e, phones.digits_reversed(e)) for e in item.data.phones]
        tag_rows += [(client_id, t) for t in tags]
        terms = sorted(search.terms_of(probe, tags))  # type: ignore[arg-type]
        term_rows += [(client_id, item.owner_id, term) for term in terms]
    await insert_rows(session, ClientPhone.__table__, ("client_id", "e164", "digits_reversed"), phone_rows)
    await insert_rows(session, ClientTag.__table__, ("client_id", "tag"), tag_rows)
    await insert_rows(session, ClientSearchTerm.__table__, ("client_id", "owner_id", "term"), term_rows)
    # The audit trail: each new client's creation, as `create` records one (marked as coming from `via`).
    await session.execute(
        insert(AuditEvent.__table__),
        [
            {
                "at": now,
                "actor_id": actor.id,
                "action": "client.create",
                "target": f"client:{client_id}",
                "details": {"via": via},
                "client_id": client_id,
                "after": row["name"],
            }
            for client_id, row in zip(ids, rows, strict=True)
        ],
    )
    return ids
