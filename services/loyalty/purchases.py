"""Purchases: the quote (tier discount, the redeemable share, points earned) and recording one
purchase once per dialog key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.loyalty import EARN, REDEEM, LedgerEntry, LoyaltyAccount, Purchase
from models.sequences import StopReason
from models.users import User
from services import surveys
from services.access import visible_client
from services.errors import DomainError
from services.loyalty.ledger import account, insert_for, lock_account, post, tell_customer
from services.loyalty.referrals import reward_referral
from services.loyalty.settings import CENT, HUNDRED, Program, Tier, program
from services.sequences import hooks as drips


@dataclass(frozen=True, slots=True)
class Quote:
    amount: Decimal
    currency: str
    tier: Tier
    discounted: Decimal
    max_points: int  # by the share limit and the balance
    share_limit: int  # by the share limit alone
    points: int
    paid: Decimal
    earned: int


def quote(
    prog: Program, acc: LoyaltyAccount | None, amount: Decimal, currency: str, points: int = 0
) -> Quote:
    spend = acc.total_spend if acc else Decimal(0)
    balance = acc.balance if acc else 0
    tier, _next = prog.tier_for(Decimal(spend))
    discounted = (amount * (HUNDRED - tier.discount) / HUNDRED).quantize(CENT, ROUND_HALF_UP)
    share_limit = int((discounted * prog.redeem_share / HUNDRED).to_integral_value(ROUND_DOWN))
    max_points = max(0, min(share_limit, balance))
    paid = discounted - points
    earned = int((paid * prog.earn_percent / HUNDRED).to_integral_value(ROUND_DOWN))
    return Quote(amount, currency, tier, discounted, max_points, share_limit, points, paid, earned)


def quote_key(q: Quote) -> str:
    """The figures a person confirms (tier, discount, value, points, earned) as one comparable string."""
    return f"{q.tier.name}|{q.tier.discount}|{q.discounted}|{q.points}|{q.paid}|{q.earned}"


def check_points(q: Quote, balance: int, points: int) -> None:
    if points < 0:
        raise DomainError("number_invalid")
    if points > balance:
        raise DomainError("points_over_balance", balance=balance)
    if points > q.share_limit:
        raise DomainError("points_over_share", limit=q.share_limit)


def new_token() -> str:
    """A fresh idempotency key for one dialog (a purchase, a reversal)."""
    return secrets.token_urlsafe(12)


async def purchase_by_key(session: AsyncSession, key: str) -> Purchase | None:
    return await session.scalar(select(Purchase).where(Purchase.idempotency_key == key))


@dataclass(slots=True)
class Recorded:
    purchase: Purchase
    created: bool  # False: this dialog's purchase was recorded before (double tap, retry)
    balance: int
    referral_rewarded: bool = False


async def _insert_purchase(
    session: AsyncSession, actor: User, client_id: int, key: str, q: Quote, now: datetime
) -> int | None:
    """The purchase row first: a concurrent second confirm of the same dialog waits on its unique key
    and then writes nothing (None)."""
    return await session.scalar(
        insert_for(session, Purchase)
        .values(
            client_id=client_id,
            manager_id=actor.id,
            amount=q.amount,
            currency=q.currency,
            tier=q.tier.name,
            discount_percent=q.tier.discount,
            discounted=q.discounted,
            points_redeemed=q.points,
            paid=q.paid,
            points_earned=q.earned,
            idempotency_key=key,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Purchase.idempotency_key])
        .returning(Purchase.id)
    )


async def _post_points(
    session: AsyncSession,
    actor: User,
    client_id: int,
    purchase_id: int,
    q: Quote,
    prog: Program,
    now: datetime,
) -> LedgerEntry | None:
    """The redeemed points (if any) and the earned ones; the earn entry, if there is one."""
    if q.points:
        try:
            await post(
                session,
                client_id,
                REDEEM,
                -q.points,
                now,
                f"redeem:{purchase_id}",
                actor_id=actor.id,
                purchase_id=purchase_id,
            )
        except DomainError:
            # Spent meanwhile (another redemption at the same moment): nothing of this purchase stays.
            await session.execute(delete(Purchase).where(Purchase.id == purchase_id))
            raise
    if not q.earned:
        return None
    return await post(
        session,
        client_id,
        EARN,
        q.earned,
        now,
        f"earn:{purchase_id}",
        expiry_days=prog.expiry_days,
        actor_id=actor.id,
        purchase_id=purchase_id,
    )


async def _add_spend(
    session: AsyncSession,
    client: Client,
    purchase_id: int,
    q: Quote,
    prog: Program,
    now: datetime,
    balance: int | None,
) -> None:
    """Total spend and the purchase count grow; the customer's service message (with a new tier)."""
    await session.execute(
        update(LoyaltyAccount)
        .where(LoyaltyAccount.client_id == client.id)
        .values(
            total_spend=LoyaltyAccount.total_spend + q.discounted,
            purchases=LoyaltyAccount.purchases + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    acc = await account(session, client.id)
    assert acc is not None
    new_tier, _ = prog.tier_for(Decimal(acc.total_spend))
    await tell_customer(
        session,
        client,
        "loyalty_purchase",
        now,
        f"ly:purchase:{purchase_id}",
        amount=str(q.discounted),
        currency=q.currency,
        redeemed=q.points,
        earned=q.earned,
        balance=acc.balance if balance is None else balance,
        tier=new_tier.name if new_tier.name != q.tier.name else "",
        discount=str(new_tier.discount),
    )


async def _recorded_before(session: AsyncSession, key: str) -> Recorded | None:
    existing = await purchase_by_key(session, key)
    if existing is None:
        return None
    acc = await account(session, existing.client_id)
    return Recorded(existing, False, acc.balance if acc else 0)


async def record_purchase(
    session: AsyncSession,
    actor: User,
    client_id: int,
    key: str,
    amount: Decimal,
    currency: str,
    points: int,
    now: datetime,
    *,
    quoted: str | None = None,
) -> Recorded:
    """The purchase, its ledger entries, total spend (and so the tier), the customer's service message,
    the survey trigger and a referral's reward — all in the caller's transaction, once per key.

    `quoted` is the quote_key of the figures the person confirmed: if the purchase would now come out
    differently (the client's tier changed meanwhile, or the settings), nothing is recorded and
    DomainError("purchase_quote_changed") asks to confirm the figures as they are now."""
    client = await visible_client(session, actor, client_id)
    if (before := await _recorded_before(session, key)) is not None:
        return before
    if amount <= 0:
        raise DomainError("purchase_amount_zero")
    prog = await program(session)
    acc = await lock_account(session, client.id, now)
    q = quote(prog, acc, amount, currency, points)
    check_points(q, acc.balance, points)
    if quoted is not None and quote_key(q) != quoted:
        raise DomainError("purchase_quote_changed")
    first_purchase = acc.purchases == 0
    purchase_id = await _insert_purchase(session, actor, client.id, key, q, now)
    if purchase_id is None:
        before = await _recorded_before(session, key)
        assert before is not None
        return before
    earned = await _post_points(session, actor, client.id, purchase_id, q, prog, now)
    await _add_spend(session, client, purchase_id, q, prog, now, earned.balance_after if earned else None)
    rewarded = await reward_referral(session, client, prog, now) if first_purchase else False
    await surveys.after(session, "purchase", client.id, actor.id, purchase_id, now)
    await drips.stop_client(session, client.id, StopReason.purchase, now)
    purchase = await session.get(Purchase, purchase_id)
    assert purchase is not None
    acc = await account(session, client.id)
    return Recorded(purchase, True, acc.balance if acc else 0, rewarded)
