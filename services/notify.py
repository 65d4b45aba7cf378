"""Queue a notice to a person. The text is rendered in their language when it is sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.queue import enqueue

NOTIFY = "notify"


async def notify(
    session: AsyncSession,
    user_id: int,
    notice: str,
    now: datetime,
    *,
    key: str | None = None,
    consent: tuple[int, str] | None = None,
    due_at: datetime | None = None,
    **params: object,
) -> bool:
    """`consent=(client_id, purpose)`: a message to a customer, sent only if that purpose is allowed at
    the moment it leaves (checked again by the job, not only now)."""
    payload: dict[str, object] = {"user_id": user_id, "notice": notice, "params": params}
    if consent is not None:
        payload["client_id"], payload["purpose"] = consent[0], str(consent[1])
    return await enqueue(session, NOTIFY, payload, due_at or now, key=key)


async def sync_commands(session: AsyncSession, user_id: int, now: datetime) -> bool:
    """Refresh a person's command menu after their role or language changed."""
    return await enqueue(session, "commands.sync", {"user_id": user_id}, now)
