"""Leads waiting for an owner.

A customer who shares their own phone and matches no client becomes a lead: a new client record owned
by an active admin, and every admin is told (services/customers.share_phone). When no admin is active
at that moment there is nobody to own it, so the lead waits: it is a `customer_leads` row without a
client (`client_id` NULL). That is the holding place, as in any CRM's "unassigned leads" list:

- every admin's /today ends with how many leads are waiting and points to /leads;
- /leads lists them (oldest first: name, @username, phone, when) with a "✋ Take" button each;
- Take makes the client record, owned by the admin who pressed it; the first press wins, a second
  admin is told the lead was taken by whom. When the phone got onto a client meanwhile, the lead is
  attached to that client instead (its owner stays).

No schema change was needed: `customer_leads.client_id` was nullable from the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.customers import CustomerLead
from models.users import User
from services import audit
from services import clients as clients_service
from services.access import sees_everything
from services.errors import DomainError

LEAD_SOURCE = "Telegram bot"
PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class Waiting:
    lead: CustomerLead
    person: User | None  # the customer's account, as the bot knows it


def lead_name(person: User | None) -> str:
    """The name a lead's client record gets: the customer's own first and last name."""
    if person is None:
        return "?"
    return " ".join(p for p in (person.first_name, person.last_name) if p) or person.display_name


async def waiting_count(session: AsyncSession) -> int:
    return (
        await session.scalar(select(func.count(CustomerLead.id)).where(CustomerLead.client_id.is_(None))) or 0
    )


async def waiting(session: AsyncSession, viewer: User, limit: int = PAGE_SIZE) -> tuple[list[Waiting], int]:
    """The oldest waiting leads (at most `limit`) and how many wait in all. Admins only."""
    if not sees_everything(viewer):
        raise DomainError("not_allowed")
    rows = await session.execute(
        select(CustomerLead, User)
        .outerjoin(User, User.id == CustomerLead.user_id)
        .where(CustomerLead.client_id.is_(None))
        .order_by(CustomerLead.created_at, CustomerLead.id)
        .limit(limit)
    )
    items = [Waiting(lead, person) for lead, person in rows.all()]
    total = len(items) if len(items) < limit else await waiting_count(session)
    return items, total


@dataclass(frozen=True, slots=True)
class Taken:
    lead: CustomerLead
    client: Client
    known: bool = False  # the phone was on a client already: attached to it, its owner stays


async def take(session: AsyncSession, admin: User, lead_id: int, now: datetime) -> Taken:
    """An admin takes a waiting lead: a new client record owned by them.

    Raises DomainError not_allowed (not an admin), not_found (no such lead) and lead_taken (someone
    took it first; `params["client_id"]` is the client it went to)."""
    if not sees_everything(admin):
        raise DomainError("not_allowed")
    lead = await session.get(CustomerLead, lead_id)
    if lead is None:
        raise DomainError("not_found")
    if lead.client_id is not None:
        raise DomainError("lead_taken", client_id=lead.client_id)
    # Claim the row first (a no-op conditional UPDATE): of two admins at once, the second waits for the
    # first one's commit (the row lock on PostgreSQL, the single writer on SQLite) and then finds it taken.
    claimed = await session.execute(
        update(CustomerLead)
        .where(CustomerLead.id == lead.id, CustomerLead.client_id.is_(None))
        .values(phone=CustomerLead.phone)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        await session.refresh(lead)
        raise DomainError("lead_taken", client_id=lead.client_id)
    person = await session.get(User, lead.user_id)
    data = clients_service.ClientData(name=lead_name(person), phones=[lead.phone], source=LEAD_SOURCE)
    known = False
    try:
        client = await clients_service.create(session, admin, data, now)
    except clients_service.Duplicate as dup:  # the phone got onto a client meanwhile
        client, known = dup.existing, True
    lead.client_id = client.id
    audit.record(
        session, admin.id, "customer.lead_take", f"client:{client.id}", now, client_id=client.id, lead=lead.id
    )
    await session.flush()
    return Taken(lead, client, known)
