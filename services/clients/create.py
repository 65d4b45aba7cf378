"""Adding a client (with the duplicate checks)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client, ClientPhone, ClientStatus, ClientTag
from models.users import User
from services import audit, phones, search
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
