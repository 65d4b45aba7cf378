"""The manual VIP flag (admins, on the card). A client is a VIP with the flag or in class A of the
latest RFM run (services/analytics/rfm.vip_ids, RfmScore.abc_class)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.users import Role, User
from services import audit
from services.clients.records import check_version, touch
from services.errors import DomainError


async def set_vip(
    session: AsyncSession, actor: User, client: Client, version: int, vip: bool, now: datetime
) -> Client:
    """Set or clear the flag at the card's version (Stale otherwise), in the audit trail as before ->
    after. Admins only."""
    if actor.effective_role != Role.admin:
        raise DomainError("not_allowed")
    check_version(client, version)
    before = bool(client.vip)
    if before == vip:
        return client
    client.vip = vip
    touch(client, actor, now)
    audit.record(session, actor.id, "client.vip", f"client:{client.id}", now, old=before, new=vip)
    await session.flush()
    return client
