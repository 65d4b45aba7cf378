"""Consent to messages: each purpose its own switch, every change an immutable event.

`allowed()` is what senders call at the moment a message actually leaves (not only when it is planned).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.consent import DEFAULTS, ClientConsent, Purpose
from services.clients import on_merge


async def allowed(session: AsyncSession, client_id: int, purpose: Purpose) -> bool:
    """May a message of this purpose be sent to this client now? One primary-key read."""
    row = await session.get(ClientConsent, (client_id, purpose))
    return DEFAULTS[purpose] if row is None else row.granted


async def current(session: AsyncSession, client_id: int) -> dict[Purpose, bool]:
    rows = (await session.scalars(select(ClientConsent).where(ClientConsent.client_id == client_id))).all()
    state = dict(DEFAULTS)
    state.update({r.purpose: r.granted for r in rows})
    return state


@on_merge("client_consents")
async def _merge(session: AsyncSession, survivor: Client, other: Client, now: datetime) -> int:
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
