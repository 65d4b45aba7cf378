"""Accounts and the ledger: every change of points is an entry with a unique idempotency key,
written in the same transaction as the running balance; debits consume the oldest lots first.
Also the customer's service messages and the one-off bonuses."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.consent import Purpose
from models.loyalty import LedgerEntry, LoyaltyAccount
from models.users import User
from services import notify
from services.errors import DomainError
from services.loyalty.settings import Program

SERVICE = Purpose.service  # the consent a service message needs


def insert_for(session: AsyncSession, table: Any) -> Any:
    return (pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert)(table)


async def ensure_account(session: AsyncSession, client_id: int, now: datetime) -> None:
    stmt = (
        insert_for(session, LoyaltyAccount)
        .values(
            client_id=client_id,
            balance=0,
            total_spend=Decimal(0),
            purchases=0,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=[LoyaltyAccount.client_id])
    )
    await session.execute(stmt)


async def account(session: AsyncSession, client_id: int) -> LoyaltyAccount | None:
    """Fresh from the database (a conditional UPDATE may have changed it behind the identity map)."""
    return await session.get(LoyaltyAccount, client_id, populate_existing=True)


async def entry_exists(session: AsyncSession, key: str) -> bool:
    return (
        await session.scalar(select(LedgerEntry.id).where(LedgerEntry.idempotency_key == key))
    ) is not None


async def move_balance(session: AsyncSession, client_id: int, delta: int, now: datetime) -> int:
    """Add delta to the running balance if it stays >= 0 (a row lock until commit); the new balance."""
    new_balance = await session.scalar(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.client_id == client_id, LoyaltyAccount.balance + delta >= 0)
        .values(balance=LoyaltyAccount.balance + delta, updated_at=now)
        .returning(LoyaltyAccount.balance)
        .execution_options(synchronize_session=False)
    )
    if new_balance is None:
        raise DomainError("points_not_enough")
    return int(new_balance)


async def lock_account(session: AsyncSession, client_id: int, now: datetime) -> LoyaltyAccount:
    """Take the account's row lock before anything else of a change (PostgreSQL: a second change of the
    same client waits here, before it holds any other lock — e.g. on the client row — that the first
    may need), and read it as it is now."""
    await ensure_account(session, client_id, now)
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.client_id == client_id)
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    acc = await account(session, client_id)
    assert acc is not None
    return acc


async def _consume_lots(session: AsyncSession, client_id: int, points: int) -> list[list[int]]:
    """Take `points` from the oldest open lots (the account row is locked by the caller)."""
    used: list[list[int]] = []
    left = points
    while left > 0:
        lots = (
            await session.execute(
                select(LedgerEntry.id, LedgerEntry.remaining)
                .where(LedgerEntry.client_id == client_id, LedgerEntry.remaining > 0)
                .order_by(LedgerEntry.expires_at, LedgerEntry.id)
                .limit(50)
            )
        ).all()
        if not lots:
            break  # balance and lots always agree; nothing left to take
        for lot_id, remaining in lots:
            take = min(left, remaining)
            await session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.id == lot_id)
                .values(remaining=LedgerEntry.remaining - take)
                .execution_options(synchronize_session=False)
            )
            used.append([lot_id, take])
            left -= take
            if left == 0:
                break
    return used


async def post(
    session: AsyncSession,
    client_id: int,
    kind: str,
    points: int,
    now: datetime,
    key: str,
    *,
    expiry_days: int | None = None,
    actor_id: int | None = None,
    purchase_id: int | None = None,
    gift_request_id: int | None = None,
    reason: str | None = None,
    restore: list[list[int]] | None = None,
) -> LedgerEntry | None:
    """One ledger entry and the running balance, in the caller's transaction; None when an entry with
    this key exists already (it happened before). A credit with expiry_days is a lot; `restore` gives
    consumed lots back instead. A debit that would go below zero raises points_not_enough."""
    if await entry_exists(session, key):
        return None
    await ensure_account(session, client_id, now)
    balance = await move_balance(session, client_id, points, now)
    lots = await _consume_lots(session, client_id, -points) if points < 0 else None
    if restore:
        for lot_id, taken in restore:
            await session.execute(
                update(LedgerEntry)
                .where(LedgerEntry.id == lot_id)
                .values(remaining=LedgerEntry.remaining + taken)
                .execution_options(synchronize_session=False)
            )
    is_lot = points > 0 and not restore
    entry = LedgerEntry(
        client_id=client_id,
        at=now,
        kind=kind,
        points=points,
        balance_after=balance,
        remaining=points if is_lot else 0,
        expires_at=now + timedelta(days=expiry_days) if is_lot and expiry_days else None,
        idempotency_key=key,
        actor_id=actor_id,
        purchase_id=purchase_id,
        gift_request_id=gift_request_id,
        reason=reason,
        lots=lots if lots else (restore or None),
    )
    session.add(entry)
    await session.flush()
    return entry


async def _customer_id(session: AsyncSession, client: Client) -> int | None:
    """The linked customer's Telegram id, if they are in the bot (a users row to send to)."""
    if client.telegram_id is None:
        return None
    exists = await session.scalar(select(User.id).where(User.id == client.telegram_id))
    return client.telegram_id if exists is not None else None


async def tell_customer(
    session: AsyncSession, client: Client, notice: str, now: datetime, key: str, **params: object
) -> bool:
    """A service message to the client's Telegram account, if linked; consent is checked when it leaves."""
    user_id = await _customer_id(session, client)
    if user_id is None:
        return False
    return await notify.notify(
        session, user_id, notice, now, key=key, consent=(client.id, SERVICE.value), **params
    )


async def bonus(
    session: AsyncSession, client: Client, kind: str, points: int, now: datetime, key: str, prog: Program
) -> LedgerEntry | None:
    """A welcome, birthday or referral bonus, once per key, with a service message."""
    if points <= 0:
        return None
    entry = await post(session, client.id, kind, points, now, key, expiry_days=prog.expiry_days)
    if entry is not None:
        await tell_customer(
            session,
            client,
            "loyalty_bonus",
            now,
            f"ly:{key}",
            kind=kind,
            points=points,
            balance=entry.balance_after,
        )
    return entry
