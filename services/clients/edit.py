"""Editing a client: one field at a time, phones, and the dated note."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client, ClientPhone, ClientTag
from models.sequences import Trigger
from models.users import User
from services import audit, phones, search
from services.clients.dedupe import check_unique, flush_unique
from services.clients.fields import (
    EDITABLE,
    MAX_PHONES,
    NOTE_LIMIT,
    REQUIRED,
    clean_email,
    clean_language,
    clean_name,
    clean_phones,
    clean_status,
    clean_tags,
    clean_text,
    clean_timezone,
    parse_birthday,
)
from services.clients.records import Stale, check_version, rekey, touch
from services.errors import DomainError
from services.sequences import hooks as drips


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
        await check_unique(session, actor, email=new, exclude_id=client.id)
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
    before: Any = [t.tag for t in client.tags] if field_name == "tags" else getattr(client, field_name)
    if field_name == "tags":
        await _set_tags(session, client, new)
    else:
        setattr(client, field_name, new)
        if field_name in ("name", "company"):
            rekey(client)
    touch(client, actor, now)
    if field_name == "email":
        await flush_unique(session, actor, email=new, exclude_id=client.id)
    else:
        await session.flush()
    if field_name in ("name", "company", "email", "tags"):
        await search.rebuild_terms(session, client, new if field_name == "tags" else None)
    audit.record_change(session, actor.id, client.id, field_name, before, new, now)
    if field_name == "tags":
        for tag in [t for t in new if t not in before]:
            await drips.on_event(session, Trigger.tag, client.id, now, arg=tag)
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
    await check_unique(session, actor, phones_e164=numbers, exclude_id=client.id)
    before = [p.e164 for p in client.phones]
    for e164 in numbers:
        session.add(ClientPhone(client_id=client.id, e164=e164, digits_reversed=phones.digits_reversed(e164)))
    touch(client, actor, now)
    await flush_unique(session, actor, phones_e164=numbers, exclude_id=client.id)
    await session.refresh(client, ["phones"])
    audit.record_change(session, actor.id, client.id, "phones", before, [p.e164 for p in client.phones], now)
    return client


async def remove_phone(
    session: AsyncSession, actor: User, client: Client, version: int, phone_id: int, now: datetime
) -> Client:
    check_version(client, version)
    phone = next((p for p in client.phones if p.id == phone_id), None)
    if phone is None:
        raise Stale()
    before = [p.e164 for p in client.phones]
    await session.execute(delete(ClientPhone).where(ClientPhone.id == phone.id))
    touch(client, actor, now)
    await session.flush()
    await session.refresh(client, ["phones"])
    audit.record_change(session, actor.id, client.id, "phones", before, [p.e164 for p in client.phones], now)
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
    audit.record_change(session, actor.id, client.id, "note", client.note, note, now)
    client.note = note
    touch(client, actor, now)
    await session.flush()
    return client
