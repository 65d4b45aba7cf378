"""Duplicates: a phone, email or Telegram id is refused before writing and again, for a race, by the
unique constraints; following merges to the record shown now; likely duplicates by name and company."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client, ClientPhone
from models.users import User
from services import access, search
from services.errors import DomainError


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


async def owner_of(session: AsyncSession, client: Client) -> User | None:
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
            return await live(session, client_id), "phone"
    for column, value, via in ((Client.email, email, "email"), (Client.telegram_id, telegram_id, "telegram")):
        if value is None:
            continue
        stmt = select(Client).where(column == value)
        if exclude_id is not None:
            stmt = stmt.where(Client.id != exclude_id)
        client = await session.scalar(stmt.limit(1))
        if client is not None:
            return await live(session, client.id), via
    return None


async def live(session: AsyncSession, client_id: int) -> Client:
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
    return Duplicate(existing, await owner_of(session, existing), visible, via)


async def check_unique(
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


async def flush_unique(session: AsyncSession, actor: User, **keys: Any) -> None:
    """Flush inside a savepoint; a unique-constraint race becomes a Duplicate like the pre-check."""
    try:
        async with await savepoint(session):
            await session.flush()
    except IntegrityError:
        found = await find_existing(session, **keys)
        if found is None:
            raise
        raise await duplicate_error(session, actor, found) from None


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


_live = live  # the name services/customers and scheduler/jobs import
