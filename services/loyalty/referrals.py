"""Referrals: a customer's personal code, the link opened by a newcomer, linking, and the reward on
the newcomer's first purchase."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.loyalty import REFERRAL, WELCOME, LoyaltyAccount, Referral
from models.users import User
from services.access import client_of
from services.errors import DomainError
from services.loyalty.ledger import account, bonus, ensure_account, insert_for
from services.loyalty.settings import Program, program

REFERRAL_PREFIX = "r_"


async def referral_code(session: AsyncSession, client: Client, now: datetime) -> str:
    """The customer's personal code (made once; short and unguessable)."""
    await ensure_account(session, client.id, now)
    acc = await account(session, client.id)
    assert acc is not None
    if acc.referral_code:
        return acc.referral_code
    for _attempt in range(5):
        code = secrets.token_urlsafe(6)  # 8 characters, 48 random bits
        taken = await session.scalar(
            select(LoyaltyAccount.client_id).where(LoyaltyAccount.referral_code == code)
        )
        if taken is None:
            break
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.client_id == client.id, LoyaltyAccount.referral_code.is_(None))
        .values(referral_code=code)
        .execution_options(synchronize_session=False)
    )
    acc = await account(session, client.id)
    assert acc is not None and acc.referral_code is not None
    return acc.referral_code


async def customer_referral_code(session: AsyncSession, user: User, now: datetime) -> str:
    client = await client_of(session, user.id)
    if client is None:
        raise DomainError("not_linked")
    return await referral_code(session, client, now)


async def remember_referral(session: AsyncSession, user: User, code: str, now: datetime) -> bool:
    """`/start r_<code>`: the person came through a customer's referral link; settled on linking.

    Returns False for an unknown code (the caller says the link is not valid). The first link a person
    opens counts; their own link or a link opened after they were linked rewards no one."""
    referrer = None
    for candidate in dict.fromkeys((code, code.removeprefix(REFERRAL_PREFIX))):  # with or without "r_"
        if not candidate or len(candidate) > 16:
            continue
        referrer = await session.scalar(
            select(Client)
            .join(LoyaltyAccount, LoyaltyAccount.client_id == Client.id)
            .where(LoyaltyAccount.referral_code == candidate, Client.merged_into_id.is_(None))
        )
        if referrer is not None:
            break
    if referrer is None:
        return False
    if referrer.telegram_id == user.id or await client_of(session, user.id) is not None:
        return True  # a valid link, but not a newcomer
    await session.execute(
        insert_for(session, Referral)
        .values(referrer_client_id=referrer.id, newcomer_user_id=user.id, status="pending", created_at=now)
        .on_conflict_do_nothing(index_elements=[Referral.newcomer_user_id])
    )
    return True


async def on_linked(session: AsyncSession, client: Client, user: User, now: datetime) -> None:
    """A Telegram account was just linked to `client`: the welcome bonus (once per client), and a
    pending referral is tied to the client if they are new — no purchases yet, not the referrer, not
    referred before; their first purchase then rewards both sides."""
    prog = await program(session)
    await bonus(session, client, WELCOME, prog.welcome_bonus, now, f"welcome:{client.id}", prog)
    referral = await session.scalar(
        select(Referral).where(Referral.newcomer_user_id == user.id, Referral.status == "pending")
    )
    if referral is None:
        return
    acc = await account(session, client.id)
    already = await session.scalar(
        select(Referral.id).where(Referral.newcomer_client_id == client.id, Referral.id != referral.id)
    )
    is_new = (
        (acc is None or acc.purchases == 0) and referral.referrer_client_id != client.id and already is None
    )
    referral.newcomer_client_id = client.id
    referral.status = "linked" if is_new else "rejected"
    referral.settled_at = None if is_new else now
    await session.flush()


async def reward_referral(session: AsyncSession, client: Client, prog: Program, now: datetime) -> bool:
    """The newcomer's first purchase: both sides get the referral bonus, once."""
    referral = await session.scalar(
        select(Referral).where(Referral.newcomer_client_id == client.id, Referral.status == "linked")
    )
    if referral is None:
        return False
    result = await session.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.status == "linked")
        .values(status="rewarded", settled_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    await bonus(session, client, REFERRAL, prog.referral_bonus, now, f"referral:{referral.id}:newcomer", prog)
    referrer = await session.get(Client, referral.referrer_client_id)
    if referrer is not None and referrer.merged_into_id is not None:
        referrer = await session.get(Client, referrer.merged_into_id)
    if referrer is not None:
        await bonus(
            session, referrer, REFERRAL, prog.referral_bonus, now, f"referral:{referral.id}:referrer", prog
        )
    return True
