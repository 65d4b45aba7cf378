"""Gifts: the catalog (admins), a customer's request (points reserved) and its hand-over or
cancellation by the owner manager."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.loyalty import (
    GIFT_HANDED,
    GIFT_RESERVE,
    GIFT_RETURN,
    Gift,
    GiftRequest,
    LedgerEntry,
    LoyaltyAccount,
)
from models.users import User
from services import notify, reminders
from services.access import client_of, sees_everything, visible_client
from services.errors import DomainError, NotAllowed, NotFound
from services.loyalty.ledger import account, insert_for, lock_account, post, tell_customer
from services.loyalty.settings import MAX_POINTS, WHOLE, parse_int, program

GIFT_NAME_LIMIT = 100
GIFT_TASK_AFTER = timedelta(days=1)  # the manager's reminder to hand a gift over
GIFT_RE = re.compile(rf"(?P<name>.+?)\s+(?P<points>{WHOLE})")


def parse_gift(text: str | None) -> tuple[str, int]:
    """ "Coffee mug 500": the name and, last, its price in points."""
    match = GIFT_RE.fullmatch((text or "").strip())
    if match is None:
        raise DomainError("gift_invalid")
    name = " ".join(match["name"].split())
    if len(name) > GIFT_NAME_LIMIT:
        raise DomainError("too_long", limit=GIFT_NAME_LIMIT, length=len(name))
    return name, parse_int(match["points"], 1, MAX_POINTS)


async def add_gift(session: AsyncSession, actor: User, text: str | None, now: datetime) -> Gift:
    if not sees_everything(actor):
        raise NotAllowed()
    name, points = parse_gift(text)
    gift = Gift(name=name, points=points, active=True, created_at=now)
    session.add(gift)
    await session.flush()
    return gift


async def toggle_gift(session: AsyncSession, actor: User, gift_id: int) -> Gift:
    if not sees_everything(actor):
        raise NotAllowed()
    gift = await session.get(Gift, gift_id)
    if gift is None:
        raise NotFound()
    gift.active = not gift.active
    await session.flush()
    return gift


async def catalog(session: AsyncSession, *, active_only: bool) -> list[Gift]:
    query = select(Gift).order_by(Gift.points, Gift.id)
    if active_only:
        query = query.where(Gift.active.is_(True))
    return list((await session.scalars(query)).all())


async def customer_gifts(session: AsyncSession, user: User) -> tuple[Client, int, list[Gift]]:
    client = await client_of(session, user.id)
    if client is None:
        raise DomainError("not_linked")
    acc = await session.get(LoyaltyAccount, client.id)
    return client, acc.balance if acc else 0, await catalog(session, active_only=True)


# The owner manager's reminder to hand a gift over: (owner, gift name, client name) -> plain text.
ReminderText = Callable[[User | None, str, str], str]


def plain_reminder_text(owner: User | None, gift: str, client: str) -> str:
    """The reminder without a language (the bot passes a translated one)."""
    return f"🎁 {gift} → {client}"


@dataclass(slots=True)
class GiftRequested:
    request: GiftRequest
    created: bool
    balance: int


async def _reserve(
    session: AsyncSession, client: Client, gift: Gift, key: str, now: datetime
) -> tuple[int | None, LedgerEntry | None]:
    """The request row (None: made before, a double tap) and the held points' ledger entry."""
    request_id = await session.scalar(
        insert_for(session, GiftRequest)
        .values(
            client_id=client.id,
            gift_id=gift.id,
            gift_name=gift.name,
            points=gift.points,
            status="reserved",
            idempotency_key=key,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[GiftRequest.idempotency_key])
        .returning(GiftRequest.id)
    )
    if request_id is None:
        return None, None
    try:
        entry = await post(
            session,
            client.id,
            GIFT_RESERVE,
            -gift.points,
            now,
            f"gift_reserve:{request_id}",
            gift_request_id=request_id,
            reason=gift.name,
        )
    except DomainError:
        await session.execute(delete(GiftRequest).where(GiftRequest.id == request_id))
        raise
    return request_id, entry


async def _tell_owner(
    session: AsyncSession,
    client: Client,
    gift: Gift,
    request: GiftRequest,
    reminder_text: ReminderText,
    now: datetime,
) -> None:
    """The owner manager's reminder to hand the gift over and the notice with Handed over / Cancel."""
    owner = await session.get(User, client.owner_id)
    reminder = await reminders.create(
        session,
        client.owner_id,
        reminder_text(owner, gift.name, client.name),
        now + GIFT_TASK_AFTER,
        now,
        client_id=client.id,
        created_by=client.owner_id,
    )
    request.reminder_id = reminder.id
    await notify.notify(
        session,
        client.owner_id,
        "loyalty_gift_task",
        now,
        key=f"ly:gift_task:{request.id}",
        request_id=request.id,
        gift=gift.name,
        points=gift.points,
        client=client.name,
        client_id=client.id,
    )


async def request_gift(
    session: AsyncSession,
    user: User,
    gift_id: int,
    nonce: int,
    now: datetime,
    reminder_text: ReminderText = plain_reminder_text,
) -> GiftRequested:
    """The customer's request: the points are reserved (a ledger entry) and the owner manager gets a
    reminder and a notice with Handed over / Cancel. Once per (client, nonce): a double tap asks once.
    The reminder is stored text: `reminder_text` writes it (in the owner's language)."""
    client = await client_of(session, user.id)
    if client is None:
        raise DomainError("not_linked")
    key = f"gift:{client.id}:{nonce}"
    existing = await session.scalar(select(GiftRequest).where(GiftRequest.idempotency_key == key))
    if existing is not None:
        acc = await account(session, client.id)
        return GiftRequested(existing, False, acc.balance if acc else 0)
    gift = await session.get(Gift, gift_id)
    if gift is None or not gift.active:
        raise DomainError("gift_gone")
    balance = (await lock_account(session, client.id, now)).balance
    if balance < gift.points:
        raise DomainError("points_over_balance", balance=balance)
    request_id, entry = await _reserve(session, client, gift, key, now)
    if request_id is None:
        existing = await session.scalar(select(GiftRequest).where(GiftRequest.idempotency_key == key))
        assert existing is not None
        return GiftRequested(existing, False, balance)
    assert entry is not None
    request = await session.get(GiftRequest, request_id)
    assert request is not None
    await _tell_owner(session, client, gift, request, reminder_text, now)
    await session.flush()
    return GiftRequested(request, True, entry.balance_after)


async def close_gift(
    session: AsyncSession, actor: User, request_id: int, handed: bool, now: datetime
) -> GiftRequest:
    """Handed over (the held points are spent) or cancelled (they come back) — each request once."""
    request = await session.get(GiftRequest, request_id)
    if request is None:
        raise NotFound()
    client = await visible_client(session, actor, request.client_id)
    status = "handed" if handed else "cancelled"
    result = await session.execute(
        update(GiftRequest)
        .where(GiftRequest.id == request.id, GiftRequest.status == "reserved")
        .values(status=status, closed_at=now, closed_by=actor.id)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(request)
    if result.rowcount != 1:
        raise DomainError("gift_closed", status=request.status)
    if handed:
        entry = await post(
            session,
            client.id,
            GIFT_HANDED,
            0,
            now,
            f"gift_handed:{request.id}",
            actor_id=actor.id,
            gift_request_id=request.id,
            reason=request.gift_name,
        )
    else:
        reserve = await session.scalar(
            select(LedgerEntry).where(LedgerEntry.idempotency_key == f"gift_reserve:{request.id}")
        )
        entry = await post(
            session,
            client.id,
            GIFT_RETURN,
            request.points,
            now,
            f"gift_return:{request.id}",
            actor_id=actor.id,
            gift_request_id=request.id,
            reason=request.gift_name,
            restore=(reserve.lots if reserve is not None and reserve.lots else None),
            expiry_days=(await program(session)).expiry_days,
        )
    if request.reminder_id is not None:
        try:
            await reminders.mark_done(session, actor, request.reminder_id, now)
        except DomainError:
            pass  # done or cancelled by hand already
    await tell_customer(
        session,
        client,
        "loyalty_gift_closed",
        now,
        f"ly:gift_closed:{request.id}",
        gift=request.gift_name,
        handed=handed,
        points=request.points,
        balance=entry.balance_after if entry is not None else 0,
    )
    return request
