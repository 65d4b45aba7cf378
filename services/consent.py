"""Consent to messages: each purpose its own switch, every change an immutable event.

`allowed()` is what senders call at the moment a message actually leaves (not only when it is planned).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.consent import DEFAULTS, ClientConsent, ConsentEvent, ConsentSource, Purpose
from models.sequences import StopReason
from models.users import User
from services.sequences import hooks as drips

# The version of the consent texts a customer sees (bot/views/consent.py); stored with every event.
# Change it whenever those texts change in meaning.
CONSENT_TEXT_VERSION = "2026-12"
HISTORY_LIMIT = 20


async def allowed(session: AsyncSession, client_id: int, purpose: Purpose) -> bool:
    """May a message of this purpose be sent to this client now? One primary-key read."""
    row = await session.get(ClientConsent, (client_id, purpose))
    return DEFAULTS[purpose] if row is None else row.granted


async def current(session: AsyncSession, client_id: int) -> dict[Purpose, bool]:
    rows = (await session.scalars(select(ClientConsent).where(ClientConsent.client_id == client_id))).all()
    state = dict(DEFAULTS)
    state.update({r.purpose: r.granted for r in rows})
    return state


async def set(
    session: AsyncSession,
    client_id: int,
    purpose: Purpose,
    granted: bool,
    source: ConsentSource,
    actor_id: int | None,
    text_version: str,
    now: datetime,
) -> bool:
    """Record a decision: an immutable event and the new current state. Returns False (and writes
    nothing) when the state already is `granted` — a double tap or a stale button."""
    purpose = Purpose(purpose)
    for _attempt in range(2):
        row = await session.get(
            ClientConsent, (client_id, purpose), with_for_update=True, populate_existing=True
        )
        current_state = DEFAULTS[purpose] if row is None else row.granted
        if current_state == granted:
            return False
        if row is not None:
            row.granted, row.updated_at = granted, now
            break
        # No row yet: insert it; if someone else inserted it meanwhile, read theirs and decide again.
        insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
        stmt = (
            insert(ClientConsent)
            .values(client_id=client_id, purpose=purpose, granted=granted, updated_at=now)
            .on_conflict_do_nothing(index_elements=[ClientConsent.client_id, ClientConsent.purpose])
        )
        if (await session.execute(stmt)).rowcount == 1:
            break
    else:
        return False
    session.add(
        ConsentEvent(
            client_id=client_id,
            purpose=purpose,
            granted=granted,
            at=now,
            source=source,
            actor_id=actor_id,
            text_version=text_version,
        )
    )
    await session.flush()
    if purpose == Purpose.marketing and not granted:  # no more offers: the drips stop
        await drips.stop_client(session, client_id, StopReason.consent, now)
    return True


async def withdraw_all(
    session: AsyncSession,
    client_id: int,
    purposes: tuple[Purpose, ...],
    source: ConsentSource,
    actor_id: int | None,
    now: datetime,
) -> list[Purpose]:
    """Withdraw several purposes at once (/stop, /forget); returns those that changed."""
    changed = []
    for purpose in purposes:
        if await set(session, client_id, purpose, False, source, actor_id, CONSENT_TEXT_VERSION, now):
            changed.append(purpose)
    return changed


@dataclass(frozen=True, slots=True)
class HistoryItem:
    event: ConsentEvent
    actor: User | None  # the person who pressed or recorded it, when known to the bot


async def history(session: AsyncSession, client_id: int, limit: int = HISTORY_LIMIT) -> list[HistoryItem]:
    """Newest first, with who did it."""
    events = (
        await session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.client_id == client_id)
            .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())
            .limit(limit)
        )
    ).all()
    ids = {e.actor_id for e in events if e.actor_id is not None}
    actors = {}
    if ids:
        actors = {u.id: u for u in (await session.scalars(select(User).where(User.id.in_(ids)))).all()}
    return [HistoryItem(e, actors.get(e.actor_id) if e.actor_id is not None else None) for e in events]


async def merge_into(session: AsyncSession, survivor: Client, other: Client, now: datetime) -> int:
    """Per purpose, the more recent decision of the two records stands (their events all move over)."""
    rows = (
        await session.scalars(
            select(ClientConsent).where(ClientConsent.client_id.in_([survivor.id, other.id]))
        )
    ).all()
    mine = {r.purpose: r for r in rows if r.client_id == survivor.id}
    moved = 0
    for row in rows:
        if row.client_id != other.id:
            continue
        kept = mine.get(row.purpose)
        if kept is None:
            session.add(
                ClientConsent(
                    client_id=survivor.id, purpose=row.purpose, granted=row.granted, updated_at=row.updated_at
                )
            )
            moved += 1
        elif row.updated_at > kept.updated_at:
            kept.granted, kept.updated_at = row.granted, row.updated_at
            moved += 1
        await session.delete(row)
    await session.flush()
    return moved
