"""Customers: a Telegram account linked to exactly one client record, and the other way round.

The link is `clients.telegram_id` (unique). A manager's single-use invite (`/start c_<token>`) or the
customer's own shared phone makes it; /forget removes it and leaves a request for an admin. A shared
phone that matches no client is a lead; with no active admin to own it, it waits (services/leads.py).

Contract used by other services:
- client_of(session, user_id): the live client record linked to this Telegram account, or None.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client, ClientPhone
from models.consent import ConsentSource, Purpose
from models.customers import CustomerLead, ForgetRequest
from models.invites import Invite, InviteKind
from models.sequences import Trigger
from models.users import User
from services import audit, consent, loyalty, notify, phones
from services import clients as clients_service
from services import users as users_service
from services.access import client_of
from services.errors import DomainError
from services.leads import LEAD_SOURCE, lead_name
from services.sequences import hooks as drips

INVITE_PREFIX = "c_"
CUSTOMER_INVITE_TTL = timedelta(days=14)
TOKEN_BYTES = 32  # 43 URL-safe characters: "c_" + token stays within Telegram's 64
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,62}$")
# /forget withdraws these at once; service messages stop anyway once nobody is linked.
FORGET_PURPOSES = (Purpose.marketing, Purpose.surveys)


# --- invites ---


def invite_payload(invite: Invite) -> str:
    return INVITE_PREFIX + invite.token


async def create_invite(session: AsyncSession, actor: User, client: Client, now: datetime) -> Invite:
    """A single-use link for this client's customer. DomainError customer_client_linked when the
    client already has a Telegram account."""
    if client.telegram_id is not None:
        raise DomainError("customer_client_linked")
    invite = Invite(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        kind=InviteKind.customer,
        client_id=client.id,
        created_by=actor.id,
        created_at=now,
        expires_at=now + CUSTOMER_INVITE_TTL,
    )
    session.add(invite)
    audit.record(session, actor.id, "invite.create", f"invite:customer:{client.id}", now)
    await session.flush()
    return invite


@dataclass(frozen=True, slots=True)
class Linked:
    client: Client
    already: bool = False  # this account was linked to this client before (nothing changed)


def _check_linkable(user: User, client: Client, linked_now: Client | None) -> bool:
    """Raises the reason this account can't be linked to this client; True when it already is."""
    if user.is_staff:
        raise DomainError("customer_staff")
    if linked_now is not None and linked_now.id == client.id:
        return True
    if linked_now is not None:
        raise DomainError("customer_account_linked")
    if client.telegram_id is not None:
        raise DomainError("customer_client_linked")
    return False


async def _link(session: AsyncSession, client: Client, user: User, via: str, now: datetime) -> None:
    """What follows a new link (the caller has set it): the card's version, audit, loyalty, the owner."""
    client.version = (client.version or 0) + 1
    client.updated_at = now
    audit.record(
        session,
        user.id,
        "customer.link",
        f"client:{client.id}",
        now,
        client_id=client.id,
        after=user.id,
        via=via,
    )
    await loyalty.on_linked(session, client, user, now)
    await drips.on_event(session, Trigger.linked, client.id, now)
    await notify.notify(
        session,
        client.owner_id,
        "customer_linked",
        now,
        client_id=client.id,
        client=client.name,
        name=user.display_name,
        via=via,
    )


async def _claim_client(session: AsyncSession, client: Client, user: User) -> None:
    """Set clients.telegram_id only where it is still empty (a conditional UPDATE, safe in a race);
    the unique key refuses a second client for this account. Call inside a savepoint."""
    try:
        claimed = await session.execute(
            update(Client)
            .where(Client.id == client.id, Client.telegram_id.is_(None))
            .values(telegram_id=user.id)
            .execution_options(synchronize_session=False)
        )
    except IntegrityError:
        raise DomainError("customer_account_linked") from None
    if claimed.rowcount != 1:
        raise DomainError("customer_client_linked")


async def redeem_invite(session: AsyncSession, user: User, payload: str, now: datetime) -> Linked:
    """`/start c_<token>`: link the opener's Telegram account to the invite's client.

    Raises DomainError: customer_invite_invalid, customer_invite_used, customer_invite_expired,
    customer_staff,
    customer_account_linked (this account has another client), customer_client_linked (the client
    has another account)."""
    token = payload[len(INVITE_PREFIX) :] if payload.startswith(INVITE_PREFIX) else ""
    if not _TOKEN.match(token):
        raise DomainError("customer_invite_invalid")
    invite = await session.scalar(
        select(Invite).where(Invite.token == token, Invite.kind == InviteKind.customer)
    )
    if invite is None or invite.client_id is None:
        raise DomainError("customer_invite_invalid")
    try:  # a record merged into another since: the invite links to the one shown now
        client = await clients_service._live(session, invite.client_id)
    except DomainError:
        raise DomainError("customer_invite_invalid") from None
    linked_now = await client_of(session, user.id)
    if invite.used_at is not None:
        if invite.used_by == user.id and linked_now is not None and linked_now.id == client.id:
            return Linked(client, already=True)
        raise DomainError("customer_invite_used")
    if invite.expires_at <= now:
        raise DomainError("customer_invite_expired")
    if _check_linkable(user, client, linked_now):
        return Linked(client, already=True)
    # Claim the invite and the client with conditional updates so a double tap or two people can't
    # both use it; both share a savepoint, so a refused link leaves the invite unused.
    async with await clients_service.savepoint(session):
        claimed = await session.execute(
            update(Invite)
            .where(Invite.id == invite.id, Invite.used_at.is_(None))
            .values(used_by=user.id, used_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise DomainError("customer_invite_used")
        await _claim_client(session, client, user)
    await session.refresh(client)
    invite.used_by, invite.used_at = user.id, now
    await _link(session, client, user, "invite", now)
    await session.flush()
    return Linked(client)


# --- a shared phone ---


@dataclass(frozen=True, slots=True)
class Shared:
    """What a customer's shared contact led to."""

    outcome: str  # linked | already | lead | lead_known | lead_again
    client: Client | None = None


async def share_phone(
    session: AsyncSession, user: User, phone_raw: str, contact_user_id: int | None, region: str, now: datetime
) -> Shared:
    """The customer shared a contact. Raises DomainError customer_not_own (not their own contact) or
    customer_bad_phone. Links when the phone belongs to exactly one live client without an account;
    otherwise the admins hear of a lead, once per person. With no active admin the lead is kept
    without a client: it waits for an admin to take it (services/leads.py)."""
    if user.is_staff:
        raise DomainError("customer_staff")
    linked_now = await client_of(session, user.id)
    if linked_now is not None:
        return Shared("already", linked_now)
    if contact_user_id != user.id:
        raise DomainError("customer_not_own")
    e164 = phones.normalize(phone_raw, region)
    if e164 is None:
        raise DomainError("customer_bad_phone")
    if await session.scalar(select(CustomerLead.id).where(CustomerLead.user_id == user.id)) is not None:
        return Shared("lead_again")
    client_id = await session.scalar(select(ClientPhone.client_id).where(ClientPhone.e164 == e164))
    client = await clients_service._live(session, client_id) if client_id is not None else None
    if client is not None and client.telegram_id is None:
        async with await clients_service.savepoint(session):
            await _claim_client(session, client, user)
        await session.refresh(client)
        await _link(session, client, user, "phone", now)
        await session.flush()
        return Shared("linked", client)
    admins = await users_service.active_admins(session)
    outcome = "lead_known" if client is not None else "lead"
    if client is None and admins:
        data = clients_service.ClientData(name=lead_name(user), phones=[e164], source=LEAD_SOURCE)
        try:
            client = await clients_service.create(session, admins[0], data, now)
        except clients_service.Duplicate as dup:  # the phone was added meanwhile
            client, outcome = dup.existing, "lead_known"
    lead = CustomerLead(user_id=user.id, client_id=client.id if client else None, phone=e164, created_at=now)
    try:
        async with await clients_service.savepoint(session):
            session.add(lead)
            await session.flush()
    except IntegrityError:  # the same person shared twice at once: the first one told the admins
        return Shared("lead_again")
    audit.record(session, user.id, "customer.lead", f"client:{client.id if client else '-'}", now, phone=e164)
    for admin in admins:
        await notify.notify(
            session,
            admin.id,
            "customer_lead",
            now,
            key=f"customer_lead:{lead.id}:{admin.id}",
            client_id=client.id if client else 0,
            name=user.display_name,
            username=user.username or "",
            phone=phones.display(e164),
            known=outcome == "lead_known",
        )
    await session.flush()
    return Shared(outcome, client)


# --- /forget ---


async def forget(session: AsyncSession, user: User, client_id: int, now: datetime) -> ForgetRequest:
    """Unlink at once, withdraw marketing and surveys, record the request for the admins.

    Raises DomainError customer_not_linked when this account isn't linked (already forgotten) and
    not_found when `client_id` isn't the account's own client (a forged or stale button)."""
    client = await client_of(session, user.id)
    if client is None:
        raise DomainError("customer_not_linked")
    if client.id != client_id:
        raise DomainError("not_found")
    claimed = await session.execute(
        update(Client)
        .where(Client.id == client.id, Client.telegram_id == user.id)
        .values(telegram_id=None, version=Client.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise DomainError("customer_not_linked")
    await session.refresh(client)
    await consent.withdraw_all(session, client.id, FORGET_PURPOSES, ConsentSource.system, user.id, now)
    request = ForgetRequest(client_id=client.id, user_id=user.id, requested_at=now)
    session.add(request)
    await session.flush()
    audit.record(
        session,
        user.id,
        "customer.forget",
        f"client:{client.id}",
        now,
        client_id=client.id,
        before=user.id,
        request=request.id,
    )
    for admin in await users_service.active_admins(session):
        await notify.notify(
            session,
            admin.id,
            "customer_forget",
            now,
            key=f"customer_forget:{request.id}:{admin.id}",
            request_id=request.id,
            client_id=client.id,
            client=client.name,
            name=user.display_name,
        )
    await session.flush()
    return request


@dataclass(frozen=True, slots=True)
class Handled:
    request: ForgetRequest
    by: User | None
    now: bool  # True: handled by this press; False: it had been handled before


async def mark_handled(session: AsyncSession, admin: User, request_id: int, now: datetime) -> Handled:
    """An admin marks a /forget request handled, once. Raises not_found for an unknown id."""
    request = await session.get(ForgetRequest, request_id)
    if request is None:
        raise DomainError("not_found")
    done = await session.execute(
        update(ForgetRequest)
        .where(ForgetRequest.id == request_id, ForgetRequest.handled_at.is_(None))
        .values(handled_at=now, handled_by=admin.id)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(request)
    if done.rowcount == 1:
        audit.record(session, admin.id, "customer.forget_handled", f"forget:{request.id}", now)
        await session.flush()
    by = await session.get(User, request.handled_by) if request.handled_by is not None else None
    return Handled(request, by, done.rowcount == 1)
