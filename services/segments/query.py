"""The one place a segment becomes SQL.

`clients_of(conditions, viewer, basis)` is the SELECT of the ids of the clients a segment matches for
a viewer, built entirely in the database: each condition is a column test, an EXISTS or a correlated
lookup by primary key or index, never a client read into Python, so counting a segment over a million
clients is one COUNT. Admins see every client, a manager only their own whatever the conditions say;
merged-away records never match. `reachable_clients_of` narrows it to the clients a message of a
purpose may go to right now: linked to the bot, their Telegram account known and not blocked (nor
"chat not found"), and consent for that purpose currently given (absent: services/consent DEFAULTS).

Exact meanings (README "Segments"):
- days since the last purchase / contact are whole days back from `basis.now`: 0 is the last 24 hours;
  a client with no purchase (what services/analytics/purchases calls one, in `basis.currency`) or no
  logged contact at all matches no such range;
- tier: the loyalty tier reached with the total spend (the program's tiers in `basis.tiers`);
- RFM segment and ABC class: the latest finished run (no run: everyone is "No recent purchases");
- birthday this month: the month of `basis.now` in UTC;
- language: the language the client reads the bot in, as the senders choose it (the linked account's
  choice, else its Telegram language, else the card's, else `basis.default_language`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, exists, extract, false, func, literal, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from models.analytics import RfmScore
from models.clients import Client, ClientStatus, ClientTag
from models.consent import DEFAULTS, ClientConsent, Purpose
from models.deals import Deal
from models.loyalty import LoyaltyAccount, Purchase
from models.users import User
from services.access import sees_everything
from services.analytics.purchases import WON, bonus_purchases
from services.analytics.rfm import is_vip, latest_run_id
from services.analytics.segments import Segment
from services.loyalty.settings import DEFAULT_TIERS, Tier, program
from services.segments.conditions import Choice, Condition, Conditions, Field, Flag, Range, TagMode, Tags
from services.users import SUPPORTED_LANGUAGES

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Basis:
    """What a segment is evaluated against besides the data: the moment (aware, UTC), the currency
    purchases count in (DEFAULT_CURRENCY), the loyalty tiers and the bot's default language."""

    now: datetime
    currency: str
    tiers: tuple[Tier, ...] = DEFAULT_TIERS
    default_language: str = "ru"


async def basis(session: AsyncSession, now: datetime, currency: str, default_language: str) -> Basis:
    """The basis at `now`, with the program's tiers as they are set (one primary-key read)."""
    return Basis(now, currency, (await program(session)).tiers, default_language)


@dataclass(frozen=True, slots=True)
class Figures:
    clients: int  # every client the segment matches for the viewer
    marketing: int  # of them, reachable for offers now
    surveys: int  # of them, reachable for a survey now


def matching(conditions: Conditions, viewer: User, basis: Basis) -> list[ColumnElement[bool]]:
    """The WHERE of the segment over `clients`, scoped to the viewer."""
    where: list[ColumnElement[bool]] = [Client.merged_into_id.is_(None)]
    if not sees_everything(viewer):
        where.append(Client.owner_id == viewer.id)
    where.extend(condition_sql(c, basis) for c in conditions.items)
    return where


def clients_of(conditions: Conditions, viewer: User, basis: Basis) -> Select[Any]:
    """SELECT clients.id of every client the segment matches for the viewer (no order)."""
    return select(Client.id).where(*matching(conditions, viewer, basis))


def reachable_clients_of(
    conditions: Conditions, viewer: User, basis: Basis, purpose: Purpose | str = Purpose.marketing
) -> Select[Any]:
    """clients_of, narrowed to the clients a message of `purpose` may be sent to now."""
    return clients_of(conditions, viewer, basis).where(can_reach(Purpose(purpose)))


async def count(session: AsyncSession, conditions: Conditions, viewer: User, basis: Basis) -> int:
    """How many clients the segment matches for the viewer: one COUNT."""
    q = select(func.count()).select_from(Client).where(*matching(conditions, viewer, basis))
    return int(await session.scalar(q) or 0)


async def reachable(
    session: AsyncSession,
    conditions: Conditions,
    viewer: User,
    basis: Basis,
    purpose: Purpose | str = Purpose.marketing,
) -> int:
    """How many of them a message of `purpose` ("marketing" or "surveys") may reach now: one COUNT."""
    where = [*matching(conditions, viewer, basis), can_reach(Purpose(purpose))]
    return int(await session.scalar(select(func.count()).select_from(Client).where(*where)) or 0)


async def figures(session: AsyncSession, conditions: Conditions, viewer: User, basis: Basis) -> Figures:
    """The count and both reachable counts in one statement (one pass over the matching clients)."""
    q = select(
        func.count(),
        func.count(case((can_reach(Purpose.marketing), 1))),
        func.count(case((can_reach(Purpose.surveys), 1))),
    ).select_from(Client)
    row = (await session.execute(q.where(*matching(conditions, viewer, basis)))).one()
    return Figures(int(row[0]), int(row[1]), int(row[2]))


# --- reachability ---


def can_reach(purpose: Purpose) -> ColumnElement[bool]:
    """The client may get a message of `purpose` now: linked, the account not blocked, consent given."""
    account = User.__table__.alias("reach_user")
    open_chat = exists().where(
        account.c.id == Client.telegram_id, account.c.blocked_at.is_(None), account.c.unreachable_at.is_(None)
    )
    consent = ClientConsent.__table__.alias(f"reach_{purpose.value}")
    decided = [consent.c.client_id == Client.id, consent.c.purpose == purpose]
    if DEFAULTS[purpose]:  # on until withdrawn
        agreed = ~exists().where(*decided, consent.c.granted.is_(False))
    else:  # off until given
        agreed = exists().where(*decided, consent.c.granted.is_(True))
    return and_(Client.telegram_id.is_not(None), open_chat, agreed)


# --- one condition each ---


def condition_sql(c: Condition, basis: Basis) -> ColumnElement[bool]:
    if isinstance(c, Tags):
        return _tags(c)
    if isinstance(c, Flag):
        return _flag(c, basis)
    if isinstance(c, Range):
        return _range(c, basis)
    return _choice(c, basis)


def _tags(c: Tags) -> ColumnElement[bool]:
    if c.mode == TagMode.all:
        checks = []
        for i, tag in enumerate(c.values):
            t = aliased(ClientTag, name=f"seg_tag{i}")
            checks.append(exists().where(t.client_id == Client.id, t.tag == tag))
        return and_(*checks)
    t = aliased(ClientTag, name="seg_tag")
    tagged = exists().where(t.client_id == Client.id, t.tag.in_(list(c.values)))
    return ~tagged if c.mode == TagMode.none else tagged


def _latest_score() -> Any:
    return RfmScore.__table__.alias("seg_score")


def _choice(c: Choice, basis: Basis) -> ColumnElement[bool]:
    values = list(c.values)
    if c.field == Field.status:
        return Client.status.in_([ClientStatus(v) for v in values])
    if c.field == Field.owner:
        return Client.owner_id.in_(values)
    if c.field == Field.source:
        return Client.source.in_(values)
    if c.field == Field.rfm:
        score = _latest_score()
        in_run = [score.c.run_id == latest_run_id(), score.c.client_id == Client.id]
        parts = []
        scored = [v for v in values if v != Segment.NO_RECENT]
        if scored:
            parts.append(exists().where(*in_run, score.c.segment.in_(scored)))
        if Segment.NO_RECENT in values:
            parts.append(~exists().where(*in_run))
        return or_(*parts)
    if c.field == Field.abc:
        score = _latest_score()
        return exists().where(
            score.c.run_id == latest_run_id(), score.c.client_id == Client.id, score.c.abc_class.in_(values)
        )
    if c.field == Field.tier:
        return _tier(values, basis.tiers)
    if c.field == Field.deal_stage:
        return exists().where(Deal.client_id == Client.id, _deal_stage_probe().in_(values))
    if c.field == Field.language:
        return _language(values, basis.default_language)
    raise ValueError(f"not a choice field: {c.field}")


def _tier(names: list[str], tiers: tuple[Tier, ...]) -> ColumnElement[bool]:
    """The tier reached with the total spend: [its threshold, the next tier's) (program.tier_for)."""
    spend = func.coalesce(
        select(LoyaltyAccount.total_spend).where(LoyaltyAccount.client_id == Client.id).scalar_subquery(),
        literal(Decimal(0)),
    )
    wanted = {n.casefold() for n in names}
    parts = []
    for i, tier in enumerate(tiers):
        if tier.name.casefold() not in wanted:
            continue
        test = [spend >= tier.threshold] if i else []
        if i + 1 < len(tiers):
            test.append(spend < tiers[i + 1].threshold)
        parts.append(and_(*test) if test else true())
    return or_(*parts) if parts else false()


def _language(values: list[str], default: str) -> ColumnElement[bool]:
    """The language senders choose for the client (scheduler/surveys.py, services.users.resolve_language):
    the linked account's choice, else its Telegram language if supported, else the default; a client
    without a known account: the card's language, else the default."""
    account = User.__table__.alias("seg_lang_user")
    tg = func.lower(account.c.tg_language)
    by_account = case(
        (account.c.language.in_(SUPPORTED_LANGUAGES), account.c.language),
        *[(or_(tg == code, tg.like(f"{code}-%")), literal(code)) for code in SUPPORTED_LANGUAGES],
        else_=literal(default),
    )
    by_card = case((Client.language.in_(SUPPORTED_LANGUAGES), Client.language), else_=literal(default))
    known = account.c.id == Client.telegram_id
    return or_(
        exists().where(known, by_account.in_(values)),
        and_(~exists().where(known), by_card.in_(values)),
    )


def _flag(c: Flag, basis: Basis) -> ColumnElement[bool]:
    if c.field == Field.vip:
        test = is_vip()
    elif c.field == Field.linked:
        test = Client.telegram_id.is_not(None)
    elif c.field == Field.birthday_month:
        test = and_(Client.birthday.is_not(None), extract("month", Client.birthday) == basis.now.month)
    else:
        raise ValueError(f"not a yes/no field: {c.field}")
    return test if c.value else ~test


# A client's rows are looked up through the client: the columns below are wrapped so they can't lead
# an index, or SQLite's planner takes the (stage, ...) or the period index and reads every deal of a
# stage, or every purchase of the period, once per client.


def _deal_stage_probe() -> Any:
    return Deal.stage.concat("")


def _purchase_at_probe() -> Any:
    return func.coalesce(Purchase.created_at, Purchase.created_at)


def _bought_after(at: datetime | None, currency: str) -> ColumnElement[bool]:
    """The client has a purchase after `at` (None: any at all), as services/analytics/purchases
    defines one: a bonus-program purchase in `currency` (read through ix_loyalty_purchases_rfm:
    currency, client, date), or a deal won in `currency` with an amount (its won date; read through
    ix_deals_client)."""
    bonus = bonus_purchases(currency).where(Purchase.client_id == Client.id)
    deal = [
        Deal.client_id == Client.id,
        _deal_stage_probe() == WON,
        Deal.currency == currency,
        Deal.amount.is_not(None),
        Deal.closed_at.is_not(None),
    ]
    if at is not None:
        bonus = bonus.where(_purchase_at_probe() > at)
        deal.append(Deal.closed_at > at)
    return or_(bonus.exists(), exists().where(*deal))


def _range(c: Range, basis: Basis) -> ColumnElement[bool]:
    low, high, now = c.low, c.high, basis.now
    if c.field == Field.points:
        balance = func.coalesce(
            select(LoyaltyAccount.balance).where(LoyaltyAccount.client_id == Client.id).scalar_subquery(), 0
        )
        tests = []
        if low is not None:
            tests.append(balance >= low)
        if high is not None:
            tests.append(balance <= high)
        return and_(*tests)
    # whole days back: N days ago means a moment in (now - (N + 1) days, now - N days]
    if c.field == Field.contact_days:
        at = Client.last_contact_at
        tests = [at.is_not(None)]
        if low:
            tests.append(at <= now - low * DAY)
        if high is not None:
            tests.append(at > now - (high + 1) * DAY)
        return and_(*tests)
    if c.field == Field.purchase_days:
        tests = []
        if high is not None:
            tests.append(_bought_after(now - (high + 1) * DAY, basis.currency))
        else:
            tests.append(_bought_after(None, basis.currency))
        if low:
            tests.append(~_bought_after(now - low * DAY, basis.currency))
        return and_(*tests)
    raise ValueError(f"not a range field: {c.field}")
