"""The bonus program: ledger, purchases, tiers, gifts, referrals, birthday bonus.

Every change of points is a ledger entry with a unique idempotency key, written in the same transaction
as the running balance on the client's account row. A debit is a conditional UPDATE
(`balance + delta >= 0`), so two redemptions at the same moment can't take the balance below zero (the
second waits for the first's row lock and then finds too little); a CHECK constraint backs it up.
Credits are lots that expire after the configured days; debits consume the oldest lots first.

One point is worth one unit of the default currency. A purchase: the amount (in DEFAULT_CURRENCY) less
the customer's tier discount is its value; up to `redeem_share` % of that value may be paid with points;
points are earned as `earn_percent` % of what is paid in money; the total spend (which sets the tier)
grows by the value.

Contract used by other services (kept while this module grows):
- on_linked(session, client, user, now): a customer's Telegram account was just linked to `client`.
- remember_referral(session, user, code, now) -> bool: `/start r_<code>`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.consent import Purpose
from models.loyalty import (
    BIRTHDAY,
    EARN,
    EXPIRE,
    GIFT_HANDED,
    GIFT_RESERVE,
    GIFT_RETURN,
    REDEEM,
    REFERRAL,
    REVERSAL,
    WELCOME,
    Gift,
    GiftRequest,
    LedgerEntry,
    LoyaltyAccount,
    LoyaltySettings,
    Purchase,
    Referral,
)
from models.users import User
from services import notify, reminders
from services.access import client_of, sees_everything, visible_client
from services.errors import DomainError, NotAllowed, NotFound

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_BONUS = 1_000_000
MAX_POINTS = 10_000_000
MAX_EXPIRY_DAYS = 3650
MAX_TIERS = 10
TIER_NAME_LIMIT = 30
GIFT_NAME_LIMIT = 100
REASON_LIMIT = 500
HISTORY_PAGE = 10
LAST_ENTRIES = 10
EXPIRING_WINDOW = timedelta(days=30)
EXPIRE_BATCH = 500  # clients per expiry job run
GIFT_TASK_AFTER = timedelta(days=1)  # the manager's reminder to hand a gift over
BIRTHDAY_HOUR = 10  # local time of the birthday bonus
REFERRAL_PREFIX = "r_"
SERVICE = Purpose.service


# --- settings ---


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    threshold: Decimal  # total spend from which it applies
    discount: Decimal  # percent


DEFAULT_TIERS = (
    Tier("Bronze", Decimal(0), Decimal(0)),
    Tier("Silver", Decimal(30000), Decimal(5)),
    Tier("Gold", Decimal(100000), Decimal(10)),
)


@dataclass(frozen=True, slots=True)
class Program:
    earn_percent: Decimal = Decimal(5)
    welcome_bonus: int = 100
    birthday_bonus: int = 200
    referral_bonus: int = 300
    expiry_days: int = 365
    redeem_share: int = 30
    tiers: tuple[Tier, ...] = DEFAULT_TIERS

    def tier_for(self, spend: Decimal) -> tuple[Tier, Tier | None]:
        """The tier reached with this total spend, and the next one (None at the top)."""
        current, following = self.tiers[0], None
        for tier in self.tiers:
            if spend >= tier.threshold:
                current = tier
            elif following is None:
                following = tier
        return current, following


SETTING_FIELDS = (
    "earn_percent",
    "welcome_bonus",
    "birthday_bonus",
    "referral_bonus",
    "expiry_days",
    "redeem_share",
    "tiers",
)


def _tiers_from_row(raw: list[Any]) -> tuple[Tier, ...]:
    return tuple(Tier(str(n), Decimal(str(t)), Decimal(str(d))) for n, t, d in raw)


def _tiers_to_row(tiers: tuple[Tier, ...]) -> list[Any]:
    return [[t.name, str(t.threshold), str(t.discount)] for t in tiers]


async def program(session: AsyncSession) -> Program:
    row = await session.get(LoyaltySettings, 1)
    if row is None:
        return Program()
    return Program(
        earn_percent=Decimal(row.earn_percent),
        welcome_bonus=row.welcome_bonus,
        birthday_bonus=row.birthday_bonus,
        referral_bonus=row.referral_bonus,
        expiry_days=row.expiry_days,
        redeem_share=row.redeem_share,
        tiers=_tiers_from_row(row.tiers),
    )


_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’]")


def parse_int(text: str | None, low: int, high: int) -> int:
    """A whole number typed by a person ("30 000" too), within [low, high]."""
    raw = _SPACES.sub("", text or "")
    if raw.startswith("+"):
        raw = raw[1:]
    if not raw.isdecimal() or not raw.isascii():
        raise DomainError("number_invalid")
    value = int(raw)
    if not low <= value <= high:
        raise DomainError("number_range", low=low, high=high)
    return value


def parse_percent(text: str | None, high: int = 100) -> Decimal:
    raw = _SPACES.sub("", text or "").rstrip("%").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise DomainError("number_invalid") from None
    if not value.is_finite() or int(value.as_tuple().exponent) < -2:
        raise DomainError("number_invalid")
    if not Decimal(0) <= value <= high:
        raise DomainError("number_range", low=0, high=high)
    return value.quantize(CENT)


# A whole number as people write it: "30000" or "30 000".
_WHOLE = r"\d{1,3}(?:[ \u00a0]\d{3})+|\d+"
_TIER = re.compile(rf"(?P<name>.+?) (?P<spend>{_WHOLE}) (?P<discount>\d+(?:[.,]\d+)?)%?")
_GIFT = re.compile(rf"(?P<name>.+?)\s+(?P<points>{_WHOLE})")


def parse_tiers(text: str | None) -> tuple[Tier, ...]:
    """ "Bronze 0 0; Silver 30000 5; Gold 100000 10": name, total spend from, discount %, by spend;
    the first starts from 0. Names may have spaces; the last two words are the numbers."""
    parts = [p.strip() for p in (text or "").replace("\n", ";").split(";") if p.strip()]
    if not parts:
        raise DomainError("tiers_invalid")
    if len(parts) > MAX_TIERS:
        raise DomainError("tiers_too_many", limit=MAX_TIERS)
    tiers: list[Tier] = []
    for part in parts:
        match = _TIER.fullmatch(" ".join(part.split()))
        if match is None:
            raise DomainError("tiers_invalid")
        name = match["name"]
        if len(name) > TIER_NAME_LIMIT:
            raise DomainError("too_long", limit=TIER_NAME_LIMIT, length=len(name))
        threshold = Decimal(parse_int(match["spend"], 0, 10**12))
        discount = parse_percent(match["discount"], high=99)
        tiers.append(Tier(name, threshold, discount))
    if tiers[0].threshold != 0:
        raise DomainError("tiers_first_zero")
    names = [t.name.casefold() for t in tiers]
    if len(set(names)) != len(names):
        raise DomainError("tiers_duplicate")
    if any(b.threshold <= a.threshold for a, b in pairwise(tiers)):
        raise DomainError("tiers_order")
    return tuple(tiers)


def tiers_text(tiers: tuple[Tier, ...]) -> str:
    return "; ".join(f"{t.name} {t.threshold.normalize():f} {t.discount.normalize():f}" for t in tiers)


def parse_setting(name: str, text: str | None) -> Any:
    if name == "earn_percent":
        return parse_percent(text)
    if name in ("welcome_bonus", "birthday_bonus", "referral_bonus"):
        return parse_int(text, 0, MAX_BONUS)
    if name == "expiry_days":
        return parse_int(text, 1, MAX_EXPIRY_DAYS)
    if name == "redeem_share":
        return parse_int(text, 0, 100)
    if name == "tiers":
        return parse_tiers(text)
    raise DomainError("not_found")


async def set_setting(
    session: AsyncSession, actor: User, name: str, text: str | None, now: datetime
) -> Program:
    """Validate the typed value and store it (admins only). Bad input raises DomainError."""
    if not sees_everything(actor):
        raise NotAllowed()
    value = parse_setting(name, text)
    current = await program(session)
    row = await session.get(LoyaltySettings, 1)
    if row is None:
        row = LoyaltySettings(
            id=1,
            earn_percent=current.earn_percent,
            welcome_bonus=current.welcome_bonus,
            birthday_bonus=current.birthday_bonus,
            referral_bonus=current.referral_bonus,
            expiry_days=current.expiry_days,
            redeem_share=current.redeem_share,
            tiers=_tiers_to_row(current.tiers),
        )
        session.add(row)
    setattr(row, name, _tiers_to_row(value) if name == "tiers" else value)
    row.updated_at, row.updated_by = now, actor.id
    await session.flush()
    return await program(session)


# --- accounts and the ledger ---


def _insert(session: AsyncSession, table: Any) -> Any:
    return (pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert)(table)


async def ensure_account(session: AsyncSession, client_id: int, now: datetime) -> None:
    stmt = (
        _insert(session, LoyaltyAccount)
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


async def _move_balance(session: AsyncSession, client_id: int, delta: int, now: datetime) -> int:
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
    balance = await _move_balance(session, client_id, points, now)
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


# --- purchases ---


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


async def record_purchase(
    session: AsyncSession,
    actor: User,
    client_id: int,
    key: str,
    amount: Decimal,
    currency: str,
    points: int,
    now: datetime,
) -> Recorded:
    """The purchase, its ledger entries, total spend (and so the tier), the customer's service message,
    the survey trigger and a referral's reward — all in the caller's transaction, once per key."""
    from services import surveys

    client = await visible_client(session, actor, client_id)
    if (existing := await purchase_by_key(session, key)) is not None:
        acc = await account(session, existing.client_id)
        return Recorded(existing, False, acc.balance if acc else 0)
    if amount <= 0:
        raise DomainError("purchase_amount_zero")
    prog = await program(session)
    acc = await lock_account(session, client.id, now)
    q = quote(prog, acc, amount, currency, points)
    check_points(q, acc.balance, points)
    first_purchase = acc.purchases == 0
    # The purchase row first: a concurrent second confirm of the same dialog waits on its unique key
    # and then writes nothing.
    purchase_id = await session.scalar(
        _insert(session, Purchase)
        .values(
            client_id=client.id,
            manager_id=actor.id,
            amount=amount,
            currency=currency,
            tier=q.tier.name,
            discount_percent=q.tier.discount,
            discounted=q.discounted,
            points_redeemed=points,
            paid=q.paid,
            points_earned=q.earned,
            idempotency_key=key,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Purchase.idempotency_key])
        .returning(Purchase.id)
    )
    if purchase_id is None:
        existing = await purchase_by_key(session, key)
        assert existing is not None
        acc = await account(session, client.id)
        return Recorded(existing, False, acc.balance if acc else 0)
    if points:
        try:
            await post(
                session,
                client.id,
                REDEEM,
                -points,
                now,
                f"redeem:{purchase_id}",
                actor_id=actor.id,
                purchase_id=purchase_id,
            )
        except DomainError:
            # Spent meanwhile (another redemption at the same moment): nothing of this purchase stays.
            await session.execute(delete(Purchase).where(Purchase.id == purchase_id))
            raise
    balance_entry = None
    if q.earned:
        balance_entry = await post(
            session,
            client.id,
            EARN,
            q.earned,
            now,
            f"earn:{purchase_id}",
            expiry_days=prog.expiry_days,
            actor_id=actor.id,
            purchase_id=purchase_id,
        )
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
        currency=currency,
        redeemed=points,
        earned=q.earned,
        balance=acc.balance if balance_entry is None else balance_entry.balance_after,
        tier=new_tier.name if new_tier.name != q.tier.name else "",
        discount=str(new_tier.discount),
    )
    rewarded = await _reward_referral(session, client, prog, now) if first_purchase else False
    await surveys.after(session, "purchase", client.id, actor.id, purchase_id, now)
    purchase = await session.get(Purchase, purchase_id)
    assert purchase is not None
    acc = await account(session, client.id)
    return Recorded(purchase, True, acc.balance if acc else 0, rewarded)


# --- an admin's reversal ---


def parse_reversal(text: str | None) -> tuple[int, str]:
    """ "+100 goodwill" / "-50 returned goods": the points (not 0) and a required reason."""
    words = (text or "").strip().split(maxsplit=1)
    if not words:
        raise DomainError("empty")
    raw = words[0].replace("−", "-").replace("–", "-")
    sign = -1 if raw.startswith("-") else 1
    points = parse_int(raw.lstrip("+-"), 1, MAX_POINTS) * sign
    reason = words[1].strip() if len(words) > 1 else ""
    if not reason:
        raise DomainError("reversal_reason")
    if len(reason) > REASON_LIMIT:
        raise DomainError("too_long", limit=REASON_LIMIT, length=len(reason))
    return points, reason


async def reverse(
    session: AsyncSession, actor: User, client_id: int, key: str, points: int, reason: str, now: datetime
) -> LedgerEntry | None:
    """Admins only. A minus never takes the balance below zero. None: this dialog's was made already."""
    if not sees_everything(actor):
        raise NotAllowed()
    client = await visible_client(session, actor, client_id)
    prog = await program(session)
    balance = (await lock_account(session, client.id, now)).balance
    if balance + points < 0 and not await entry_exists(session, f"reversal:{key}"):
        raise DomainError("points_over_balance", balance=balance)
    entry = await post(
        session,
        client.id,
        REVERSAL,
        points,
        now,
        f"reversal:{key}",
        expiry_days=prog.expiry_days,
        actor_id=actor.id,
        reason=reason,
    )
    if entry is not None:
        await tell_customer(
            session,
            client,
            "loyalty_reversal",
            now,
            f"ly:reversal:{entry.id}",
            points=points,
            reason=reason,
            balance=entry.balance_after,
        )
    return entry


# --- reading ---


@dataclass(slots=True)
class Summary:
    client: Client
    balance: int
    total_spend: Decimal
    tier: Tier
    next_tier: Tier | None
    expiring: int = 0  # points expiring in the next 30 days
    entries: list[LedgerEntry] = field(default_factory=list)

    @property
    def to_next(self) -> Decimal | None:
        return None if self.next_tier is None else self.next_tier.threshold - self.total_spend


async def summary(
    session: AsyncSession, client: Client, now: datetime, *, last: int = 0, with_expiring: bool = False
) -> Summary:
    """One primary-key read for the account (the running balance; no SUM over the history), an index
    range for points expiring soon and the last entries."""
    prog = await program(session)
    acc = await session.get(LoyaltyAccount, client.id)
    balance = acc.balance if acc else 0
    spend = Decimal(acc.total_spend) if acc else Decimal(0)
    tier, following = prog.tier_for(spend)
    result = Summary(client, balance, spend, tier, following)
    if acc is None:
        return result
    if with_expiring:
        result.expiring = int(
            await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.remaining), 0)).where(
                    LedgerEntry.client_id == client.id,
                    LedgerEntry.remaining > 0,
                    LedgerEntry.expires_at <= now + EXPIRING_WINDOW,
                )
            )
            or 0
        )
    if last:
        result.entries = list(
            (
                await session.scalars(
                    select(LedgerEntry)
                    .where(LedgerEntry.client_id == client.id)
                    .order_by(LedgerEntry.id.desc())
                    .limit(last)
                )
            ).all()
        )
    return result


async def customer_summary(session: AsyncSession, user: User, now: datetime) -> Summary:
    """/balance: the linked customer's own points. Not linked: DomainError("not_linked")."""
    client = await client_of(session, user.id)
    if client is None:
        raise DomainError("not_linked")
    return await summary(session, client, now, last=LAST_ENTRIES, with_expiring=True)


async def staff_summary(session: AsyncSession, user: User, client_id: int, now: datetime) -> Summary:
    client = await visible_client(session, user, client_id)
    return await summary(session, client, now)


@dataclass(slots=True)
class HistoryPage:
    client: Client
    items: list[LedgerEntry]
    total: int
    page: int
    per_page: int = HISTORY_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def history(session: AsyncSession, user: User, client_id: int, page: int = 0) -> HistoryPage:
    client = await visible_client(session, user, client_id)
    total = (
        await session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.client_id == client.id)
        )
        or 0
    )
    pages = max(1, -(-total // HISTORY_PAGE))
    page = min(max(page, 0), pages - 1)
    items = (
        await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.client_id == client.id)
            .order_by(LedgerEntry.id.desc())
            .offset(page * HISTORY_PAGE)
            .limit(HISTORY_PAGE)
        )
    ).all()
    return HistoryPage(client, list(items), total, page)


# --- gifts ---


def parse_gift(text: str | None) -> tuple[str, int]:
    """ "Coffee mug 500": the name and, last, its price in points."""
    match = _GIFT.fullmatch((text or "").strip())
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


@dataclass(slots=True)
class GiftRequested:
    request: GiftRequest
    created: bool
    balance: int


async def request_gift(
    session: AsyncSession, user: User, gift_id: int, nonce: int, now: datetime
) -> GiftRequested:
    """The customer's request: the points are reserved (a ledger entry) and the owner manager gets a
    reminder and a notice with Handed over / Cancel. Once per (client, nonce): a double tap asks once."""
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
    request_id = await session.scalar(
        _insert(session, GiftRequest)
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
        existing = await session.scalar(select(GiftRequest).where(GiftRequest.idempotency_key == key))
        assert existing is not None
        return GiftRequested(existing, False, balance)
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
    assert entry is not None
    reminder = await reminders.create(
        session,
        client.owner_id,
        f"🎁 {gift.name} → {client.name}",
        now + GIFT_TASK_AFTER,
        now,
        client_id=client.id,
        created_by=client.owner_id,
    )
    request = await session.get(GiftRequest, request_id)
    assert request is not None
    request.reminder_id = reminder.id
    await notify.notify(
        session,
        client.owner_id,
        "loyalty_gift_task",
        now,
        key=f"ly:gift_task:{request_id}",
        request_id=request_id,
        gift=gift.name,
        points=gift.points,
        client=client.name,
        client_id=client.id,
    )
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


# --- referrals ---


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
        _insert(session, Referral)
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


async def _reward_referral(session: AsyncSession, client: Client, prog: Program, now: datetime) -> bool:
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


# --- the birthday bonus ---


def birthday_in(year: int, birthday: date) -> date:
    """The birthday in a given year (29 February: the 28th in other years)."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def birthday_key(client_id: int, year: int) -> str:
    return f"birthday:{client_id}:{year}"


async def birthdays_due(
    session: AsyncSession, now: datetime, default_tz: str, horizon: timedelta = timedelta(hours=48)
) -> list[tuple[int, int, datetime]]:
    """(client id, year, when) of linked clients whose birthday bonus time (10:00 their time) falls in
    [now - 1 day, now + horizon): planned ahead, and a day missed while the bot was down still comes."""
    rows = (
        await session.execute(
            select(Client.id, Client.birthday, Client.timezone).where(
                Client.telegram_id.is_not(None), Client.birthday.is_not(None), Client.merged_into_id.is_(None)
            )
        )
    ).all()
    due: list[tuple[int, int, datetime]] = []
    for client_id, birthday, tz_name in rows:
        try:
            zone = ZoneInfo(tz_name or default_tz)
        except (KeyError, ValueError):
            zone = ZoneInfo(default_tz)
        local_today = now.astimezone(zone).date()
        for year in {local_today.year - 1, local_today.year, local_today.year + 1}:
            day = birthday_in(year, birthday)
            at = datetime.combine(day, time(BIRTHDAY_HOUR)).replace(tzinfo=zone)
            if now - timedelta(days=1) <= at < now + horizon:
                due.append((client_id, year, at))
    return due


async def grant_birthday(
    session: AsyncSession, client_id: int, year: int, now: datetime
) -> LedgerEntry | None:
    """The year's birthday bonus for a client still linked to the bot; once a year (the key)."""
    client = await session.get(Client, client_id)
    if client is None or client.merged_into_id is not None or client.telegram_id is None:
        return None
    prog = await program(session)
    return await bonus(
        session, client, BIRTHDAY, prog.birthday_bonus, now, birthday_key(client_id, year), prog
    )


# --- expiry ---


async def expire_due(
    session: AsyncSession, now: datetime, limit: int = EXPIRE_BATCH
) -> tuple[int, int, bool]:
    """Lots past their expiry become expire entries, per client (oldest first). Returns (clients,
    points, more to do). Each client's account row is locked first, so a redemption at the same time
    sees either the lots before or after."""
    client_ids = list(
        (
            await session.scalars(
                select(LedgerEntry.client_id)
                .where(LedgerEntry.remaining > 0, LedgerEntry.expires_at <= now)
                .order_by(LedgerEntry.expires_at)
                .limit(limit * 4)
            )
        ).all()
    )
    unique = list(dict.fromkeys(client_ids))[:limit]
    total = 0
    for client_id in unique:
        await session.execute(
            update(LoyaltyAccount)
            .where(LoyaltyAccount.client_id == client_id)
            .values(updated_at=now)
            .execution_options(synchronize_session=False)
        )
        lots = (
            await session.execute(
                select(LedgerEntry.id, LedgerEntry.remaining).where(
                    LedgerEntry.client_id == client_id,
                    LedgerEntry.remaining > 0,
                    LedgerEntry.expires_at <= now,
                )
            )
        ).all()
        points = sum(r for _, r in lots)
        if not points:
            continue
        await session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.id.in_([lot_id for lot_id, _ in lots]))
            .values(remaining=0)
            .execution_options(synchronize_session=False)
        )
        balance = await _move_balance(session, client_id, -points, now)
        first = min(lot_id for lot_id, _ in lots)
        session.add(
            LedgerEntry(
                client_id=client_id,
                at=now,
                kind=EXPIRE,
                points=-points,
                balance_after=balance,
                remaining=0,
                idempotency_key=f"expire:{client_id}:{first}:{now:%Y%m%d%H%M%S}",
                lots=[[lot_id, r] for lot_id, r in lots],
            )
        )
        total += points
    await session.flush()
    return len(unique), total, len(unique) == limit


# --- merging two client records ---


async def merge_into(session: AsyncSession, survivor: Client, other: Client, now: datetime) -> int:
    """The survivor's account gets the other's balance, spend and purchases (its entries move over with
    every other row pointing at the other record); the survivor keeps its referral code, or takes the
    other's if it had none."""
    theirs = await session.get(LoyaltyAccount, other.id, populate_existing=True)
    if theirs is None:
        return 0
    balance, spend, purchases, code = (
        theirs.balance,
        theirs.total_spend,
        theirs.purchases,
        theirs.referral_code,
    )
    await session.delete(theirs)
    await session.flush()
    await ensure_account(session, survivor.id, now)
    mine = await session.get(LoyaltyAccount, survivor.id, populate_existing=True)
    assert mine is not None
    mine.balance += balance
    mine.total_spend = Decimal(mine.total_spend) + Decimal(spend)
    mine.purchases += purchases
    if mine.referral_code is None:
        mine.referral_code = code
    mine.updated_at = now
    await session.flush()
    return 1
