"""Giving a client to another manager: their deals and pending reminders go along."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client, ClientSearchTerm
from models.deals import Deal, DealEvent
from models.reminders import Reminder, ReminderStatus
from models.users import STAFF_ROLES, User
from services import access, audit
from services.clients.records import check_version, touch
from services.errors import DomainError


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
    touch(client, actor, now)
    await session.execute(
        update(ClientSearchTerm).where(ClientSearchTerm.client_id == client.id).values(owner_id=new_owner_id)
    )
    deal_ids, reminders_moved = await move_client_work(
        session, actor, client.id, previous, new_owner_id, now, "client reassigned"
    )
    audit.record(
        session,
        actor.id,
        "client.owner",
        f"client:{client.id}",
        now,
        client_id=client.id,
        before=old_owner.display_name if (old_owner := await session.get(User, previous)) else previous,
        after=new_owner.display_name,
        old=previous,
        new=new_owner_id,
        deals=deal_ids,
        reminders=reminders_moved,
    )
    await session.flush()
    return client, previous


async def move_client_work(
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
