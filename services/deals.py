"""Deals and the pipeline: creation, stage changes guarded by the deal's version, edits, history,
the per-stage overview, and the stale-deal nudge. Every change is a DealEvent with who and when.

Access follows the client: a manager sees and changes only deals of clients they own (a deal's
owner is its client's owner), admins see everything. Another manager's deal is "not found".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import list_currencies
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.deals import Deal, DealEvent
from models.reminders import Reminder, ReminderStatus
from models.users import User
from services import clients as clients_service
from services import reminders, search, surveys
from services.access import visible_client
from services.errors import DomainError, NotFound

CLOSED_STAGES = frozenset({"won", "lost"})
TITLE_LIMIT = 200
REASON_LIMIT = 1000
STEP_LIMIT = reminders.TEXT_LIMIT
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
LIST_PAGE = 8
HISTORY_PAGE = 10
SEARCH_LIMIT = 8
STALE_BATCH = 5000


@dataclass(frozen=True, slots=True)
class OpenSummary:
    count: int
    sums: dict[str, Decimal]  # currency -> sum of amounts


async def open_summary(session: AsyncSession, client_id: int) -> OpenSummary:
    rows = (
        await session.execute(
            select(Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount), 0))
            .where(Deal.client_id == client_id, Deal.stage.not_in(CLOSED_STAGES))
            .group_by(Deal.currency)
        )
    ).all()
    return OpenSummary(
        count=sum(n for _, n, _ in rows),
        sums={currency: Decimal(total) for currency, _, total in rows if total},
    )


async def touch_client_deals(session: AsyncSession, client_id: int, now: datetime) -> None:
    """Something happened with the client (a logged contact): their open deals are active again,
    and a stale-deal nudge may be sent again later."""
    await session.execute(
        update(Deal)
        .where(Deal.client_id == client_id, Deal.stage.not_in(CLOSED_STAGES))
        .values(last_activity_at=now, nudged_at=None)
        .execution_options(synchronize_session=False)
    )


# --- parsing what people type ---

# Symbols and words people write after or before an amount; any ISO 4217 code works too.
CURRENCY_WORDS = {
    "₽": "RUB",
    "р": "RUB",
    "р.": "RUB",
    "руб": "RUB",
    "руб.": "RUB",
    "рубль": "RUB",
    "рубля": "RUB",
    "рублей": "RUB",
    "rur": "RUB",
    "$": "USD",
    "us$": "USD",
    "долл": "USD",
    "долл.": "USD",
    "доллар": "USD",
    "доллара": "USD",
    "долларов": "USD",
    "€": "EUR",
    "евро": "EUR",
    "£": "GBP",
    "₸": "KZT",
    "тенге": "KZT",
    "₴": "UAH",
    "грн": "UAH",
    "грн.": "UAH",
    "¥": "CNY",
    "юань": "CNY",
    "юаней": "CNY",
    "₺": "TRY",
    "₹": "INR",
    "br": "BYN",
}
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’`]")
_NUMBER_CHARS = re.compile(r"[0-9.,\s\u00a0\u202f\u2009'’`]*")
_DIGITS = re.compile(r"[0-9]+")
_ISO_CODES = frozenset(list_currencies())


def parse_currency(token: str) -> str:
    token = token.strip()
    if token.casefold() in CURRENCY_WORDS:
        return CURRENCY_WORDS[token.casefold()]
    if token.upper() in _ISO_CODES and len(token) == 3 and token.isalpha():
        return token.upper()
    raise DomainError("currency_unknown")


def _parse_number(raw: str) -> Decimal:
    """Digits with thousands separators (space, apostrophe, '.' or ',') and a decimal ',' or '.'."""
    s = _SPACES.sub("", raw)
    seps = [c for c in s if c in ".,"]
    decimal_sep: str | None = None
    thousands_sep: str | None = None
    if len(set(seps)) == 2:
        decimal_sep = seps[-1]
        thousands_sep = "," if decimal_sep == "." else "."
        if seps.count(decimal_sep) != 1:
            raise DomainError("amount_invalid")
    elif seps:
        sep = seps[0]
        tail = s.rsplit(sep, 1)[1]
        if len(seps) > 1 or len(tail) == 3:
            thousands_sep = sep  # "1,500", "1.500.000": money rarely has three decimals
        elif len(tail) in (1, 2):
            decimal_sep = sep
        else:
            raise DomainError("amount_invalid")
    whole, frac = s.split(decimal_sep) if decimal_sep else (s, "")
    if thousands_sep:
        groups = whole.split(thousands_sep)
        if not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]):
            raise DomainError("amount_invalid")
        whole = "".join(groups)
    if not _DIGITS.fullmatch(whole) or (frac and (not _DIGITS.fullmatch(frac) or len(frac) > 2)):
        raise DomainError("amount_invalid")
    try:
        return Decimal(f"{whole}.{frac or '0'}")
    except InvalidOperation:
        raise DomainError("amount_invalid") from None


def parse_amount(text: str, default_currency: str) -> tuple[Decimal, str]:
    """ "150000", "150 000 ₽", "1 500,50 USD", "$2,000", "USD 99.90" -> (Decimal, ISO code).

    Raises DomainError: amount_invalid, amount_negative, amount_too_large, currency_unknown.
    """
    text = text.strip()
    digits = [i for i, c in enumerate(text) if "0" <= c <= "9"]
    if not digits:
        raise DomainError("amount_invalid")
    first, last = digits[0], digits[-1]
    number = text[first : last + 1]
    if not _NUMBER_CHARS.fullmatch(number):
        raise DomainError("amount_invalid")
    prefix, suffix = text[:first].strip(), text[last + 1 :].strip()
    negative = False
    for minus in ("-", "−", "–"):
        if prefix.endswith(minus) or prefix.startswith(minus):
            negative = True
            prefix = prefix.replace(minus, "", 1).strip()
    if prefix and suffix:
        raise DomainError("amount_invalid")
    currency = parse_currency(prefix or suffix) if (prefix or suffix) else default_currency
    amount = _parse_number(number)
    if negative and amount != 0:
        raise DomainError("amount_negative")
    if amount > MAX_AMOUNT:
        raise DomainError("amount_too_large")
    return amount.quantize(CENT), currency


def clean_title(text: str | None) -> str:
    title = " ".join((text or "").split())
    if not title:
        raise DomainError("empty")
    if len(title) > TITLE_LIMIT:
        raise DomainError("too_long", limit=TITLE_LIMIT, length=len(title))
    return title


def clean_text(text: str | None, limit: int) -> str:
    value = (text or "").strip()
    if not value:
        raise DomainError("empty")
    if len(value) > limit:
        raise DomainError("too_long", limit=limit, length=len(value))
    return value


# --- reading, with access ---


async def visible_deal(session: AsyncSession, user: User, deal_id: int) -> tuple[Deal, Client]:
    """The deal and its client, or NotFound (also for a deal of another manager's client)."""
    deal = await session.get(Deal, deal_id)
    if deal is None:
        raise NotFound()
    client = await visible_client(session, user, deal.client_id)
    return deal, client


async def next_step(session: AsyncSession, deal: Deal) -> Reminder | None:
    return await session.scalar(
        select(Reminder)
        .where(
            Reminder.client_id == deal.client_id,
            Reminder.status == ReminderStatus.pending,
            Reminder.deal_id == deal.id,
        )
        .order_by(Reminder.due_at, Reminder.id)
        .limit(1)
    )


@dataclass(slots=True)
class Card:
    deal: Deal
    client: Client
    owner: User | None
    next_step: Reminder | None


async def card(session: AsyncSession, user: User, deal_id: int) -> Card:
    deal, client = await visible_deal(session, user, deal_id)
    owner = await session.get(User, deal.owner_id)
    return Card(deal=deal, client=client, owner=owner, next_step=await next_step(session, deal))


@dataclass(slots=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _page(page: int, total: int, per_page: int) -> int:
    pages = max(1, -(-total // per_page))
    return min(max(page, 0), pages - 1)


async def client_deals(
    session: AsyncSession, user: User, client_id: int, page: int = 0, per_page: int = LIST_PAGE
) -> tuple[Client, Page]:
    """A client's deals, open ones first, newest first."""
    client = await visible_client(session, user, client_id)
    total = await session.scalar(select(func.count()).select_from(Deal).where(Deal.client_id == client.id))
    page = _page(page, total or 0, per_page)
    deals = (
        await session.scalars(
            select(Deal)
            .where(Deal.client_id == client.id)
            .order_by(Deal.closed_at.is_not(None), Deal.created_at.desc(), Deal.id.desc())
            .offset(page * per_page)
            .limit(per_page)
        )
    ).all()
    return client, Page(list(deals), total or 0, page, per_page)


@dataclass(slots=True)
class StageTotals:
    stage: str
    count: int = 0
    sums: dict[str, Decimal] = field(default_factory=dict)


async def pipeline(session: AsyncSession, owner_id: int | None, stages: Sequence[str]) -> list[StageTotals]:
    """Count and sum per stage (sums per currency), one GROUP BY; owner_id None: everyone's.

    Configured stages come in their order (empty ones too); deals in a stage no longer configured
    follow at the end so nothing disappears from the overview.
    """
    query = select(Deal.stage, Deal.currency, func.count(), func.sum(Deal.amount)).group_by(
        Deal.stage, Deal.currency
    )
    if owner_id is not None:
        query = query.where(Deal.owner_id == owner_id)
    totals = {stage: StageTotals(stage) for stage in stages}
    for stage, currency, count, total in (await session.execute(query)).all():
        row = totals.setdefault(stage, StageTotals(stage))
        row.count += count
        if total is not None:
            row.sums[currency] = row.sums.get(currency, Decimal(0)) + Decimal(total)
    return list(totals.values())


async def stage_deals(
    session: AsyncSession, owner_id: int | None, stage: str, page: int = 0, per_page: int = LIST_PAGE
) -> Page:
    """Deals in one stage, most recently active first: a range read of (owner_id, stage,
    last_activity_at) for a manager, of (stage, last_activity_at) for everyone's.

    Items are (Deal, client name)."""
    where = [Deal.stage == stage]
    if owner_id is not None:
        where.insert(0, Deal.owner_id == owner_id)
    total = await session.scalar(select(func.count()).select_from(Deal).where(*where)) or 0
    page = _page(page, total, per_page)
    rows = (
        await session.execute(
            select(Deal, Client.name)
            .join(Client, Client.id == Deal.client_id)
            .where(*where)
            .order_by(Deal.last_activity_at.desc(), Deal.id.desc())
            .offset(page * per_page)
            .limit(per_page)
        )
    ).all()
    return Page([(deal, name) for deal, name in rows], total, page, per_page)


async def history(
    session: AsyncSession, user: User, deal_id: int, page: int = 0, per_page: int = HISTORY_PAGE
) -> tuple[Deal, Page]:
    """The deal's events, newest first; items are (DealEvent, actor display name or None)."""
    deal, _ = await visible_deal(session, user, deal_id)
    total = (
        await session.scalar(select(func.count()).select_from(DealEvent).where(DealEvent.deal_id == deal.id))
        or 0
    )
    page = _page(page, total, per_page)
    rows = (
        await session.execute(
            select(DealEvent, User)
            .outerjoin(User, User.id == DealEvent.actor_id)
            .where(DealEvent.deal_id == deal.id)
            .order_by(DealEvent.at.desc(), DealEvent.id.desc())
            .offset(page * per_page)
            .limit(per_page)
        )
    ).all()
    return deal, Page([(e, u.display_name if u else None) for e, u in rows], total, page, per_page)


async def owner_names(session: AsyncSession, events: Sequence[DealEvent]) -> dict[int, str]:
    """Display names of the people named by "owner" events."""
    ids = {
        int(value)
        for event in events
        if event.kind == "owner"
        for value in (event.old_value, event.new_value)
        if value and value.lstrip("-").isdigit()
    }
    if not ids:
        return {}
    users = (await session.scalars(select(User).where(User.id.in_(ids)))).all()
    return {u.id: u.display_name for u in users}


async def find_clients(
    session: AsyncSession, user: User, text: str, region: str, limit: int = SEARCH_LIMIT
) -> tuple[list[Client], bool]:
    """The user's clients (an admin: everyone's) matching a part of the name, company, email or a
    phone's last digits — the clients' own search (index range scans). Returns (clients, more)."""
    query = search.parse_query(text, region)
    if query.empty:
        return [], False
    page = await clients_service.search_page(session, user, query, 0, size=limit)
    return page.items, page.has_next


# --- changing, every change recorded ---


def amount_text(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else f"{amount.quantize(CENT)} {currency}"


def _event(
    session: AsyncSession,
    deal: Deal,
    actor_id: int | None,
    now: datetime,
    kind: str,
    old: str | None = None,
    new: str | None = None,
    **details: Any,
) -> None:
    session.add(
        DealEvent(
            deal_id=deal.id,
            actor_id=actor_id,
            at=now,
            kind=kind,
            old_value=old,
            new_value=new,
            details=details,
        )
    )


@dataclass(slots=True)
class Draft:
    title: str
    stage: str
    amount: Decimal | None = None
    currency: str = "RUB"
    expected_close: date | None = None


async def create(
    session: AsyncSession,
    user: User,
    client_id: int,
    draft: Draft,
    stages: Sequence[str],
    now: datetime,
    *,
    step: tuple[str, datetime] | None = None,
) -> Deal:
    """A new deal of a visible client (owned by the client's owner), its "created" event and, with
    a next step, a reminder for the owner — all in the caller's transaction."""
    client = await visible_client(session, user, client_id)
    title = clean_title(draft.title)
    if draft.stage not in stages or draft.stage == "lost":
        raise DomainError("deal_bad_stage")
    if draft.amount is not None and not Decimal(0) <= draft.amount <= MAX_AMOUNT:
        raise DomainError("amount_invalid")
    deal = Deal(
        client_id=client.id,
        owner_id=client.owner_id,
        title=title,
        amount=draft.amount.quantize(CENT) if draft.amount is not None else None,
        currency=draft.currency,
        stage=draft.stage,
        expected_close=draft.expected_close,
        version=1,
        created_by=user.id,
        created_at=now,
        updated_at=now,
        closed_at=now if draft.stage in CLOSED_STAGES else None,
        last_activity_at=now,
    )
    session.add(deal)
    await session.flush()
    _event(
        session,
        deal,
        user.id,
        now,
        "created",
        None,
        title,
        stage=deal.stage,
        amount=amount_text(deal.amount, deal.currency),
        expected_close=deal.expected_close.isoformat() if deal.expected_close else None,
    )
    if step is not None:
        text, due_at = step
        await reminders.create(
            session,
            deal.owner_id,
            clean_text(text, STEP_LIMIT),
            due_at,
            now,
            client_id=client.id,
            deal_id=deal.id,
            created_by=user.id,
        )
    return deal


async def _apply(session: AsyncSession, deal: Deal, version: int, now: datetime, **values: Any) -> None:
    """Compare-and-set on the version: a stale button (or a concurrent change) changes nothing."""
    result = await session.execute(
        update(Deal)
        .where(Deal.id == deal.id, Deal.version == version)
        .values(version=version + 1, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError("deal_changed")
    await session.refresh(deal)


async def change_stage(
    session: AsyncSession,
    user: User,
    deal_id: int,
    version: int,
    stage: str,
    stages: Sequence[str],
    now: datetime,
    *,
    reason: str | None = None,
) -> Deal:
    """Move the deal to `stage`. Won and lost close it (lost needs a reason), an open stage reopens
    it; the change counts as activity, so a stale-deal nudge may come again later."""
    deal, _ = await visible_deal(session, user, deal_id)
    if stage not in stages:
        raise DomainError("deal_bad_stage")
    if deal.version != version:
        raise DomainError("deal_changed")
    if deal.stage == stage:
        raise DomainError("deal_same_stage")
    values: dict[str, Any] = {"stage": stage, "last_activity_at": now, "nudged_at": None}
    if stage == "lost":
        values["lost_reason"] = clean_text(reason, REASON_LIMIT)
    elif deal.lost_reason is not None:
        values["lost_reason"] = None
    if stage in CLOSED_STAGES:
        values["closed_at"] = now
    elif deal.closed_at is not None:
        values["closed_at"] = None  # reopened
    old_stage, old_reason = deal.stage, deal.lost_reason
    await _apply(session, deal, version, now, **values)
    reopened = old_stage in CLOSED_STAGES and stage not in CLOSED_STAGES
    _event(session, deal, user.id, now, "stage", old_stage, stage, reopened=reopened)
    if "lost_reason" in values:
        _event(session, deal, user.id, now, "lost_reason", old_reason, values["lost_reason"])
    if stage == "won":
        await surveys.after(session, "deal_won", deal.client_id, deal.owner_id, deal.id, now)
    return deal


async def set_title(
    session: AsyncSession, user: User, deal_id: int, version: int, title: str, now: datetime
) -> Deal:
    deal, _ = await visible_deal(session, user, deal_id)
    title = clean_title(title)
    if deal.version != version:
        raise DomainError("deal_changed")
    old = deal.title
    if old == title:
        return deal
    await _apply(session, deal, version, now, title=title)
    _event(session, deal, user.id, now, "title", old, title)
    return deal


async def set_amount(
    session: AsyncSession,
    user: User,
    deal_id: int,
    version: int,
    amount: Decimal | None,
    currency: str | None,
    now: datetime,
) -> Deal:
    """A new amount and currency; None clears the amount (the currency stays)."""
    deal, _ = await visible_deal(session, user, deal_id)
    if deal.version != version:
        raise DomainError("deal_changed")
    if amount is not None and not Decimal(0) <= amount <= MAX_AMOUNT:
        raise DomainError("amount_invalid")
    currency = currency or deal.currency
    old = amount_text(deal.amount, deal.currency)
    new = amount_text(amount, currency)
    if old == new:
        return deal
    amount = amount.quantize(CENT) if amount is not None else None
    await _apply(session, deal, version, now, amount=amount, currency=currency)
    _event(session, deal, user.id, now, "amount", old, new)
    return deal


async def set_expected_close(
    session: AsyncSession, user: User, deal_id: int, version: int, value: date | None, now: datetime
) -> Deal:
    deal, _ = await visible_deal(session, user, deal_id)
    if deal.version != version:
        raise DomainError("deal_changed")
    if deal.expected_close == value:
        return deal
    old = deal.expected_close.isoformat() if deal.expected_close else None
    await _apply(session, deal, version, now, expected_close=value)
    _event(session, deal, user.id, now, "close_date", old, value.isoformat() if value else None)
    return deal


# --- the stale-deal nudge ---


def stale_cutoff(now: datetime, stale_days: int) -> datetime:
    return now - timedelta(days=stale_days)


def is_stale(deal: Deal, now: datetime, stale_days: int) -> bool:
    return (
        deal.stage not in CLOSED_STAGES
        and deal.nudged_at is None
        and deal.last_activity_at <= stale_cutoff(now, stale_days)
    )


async def stale_deals(
    session: AsyncSession, now: datetime, stale_days: int, limit: int = STALE_BATCH
) -> list[tuple[int, datetime, str | None]]:
    """(id, last_activity_at, owner's time zone) of open deals without activity for stale_days that
    weren't nudged yet, stalest first: a range read of (stage, last_activity_at) per open stage."""
    rows = (
        await session.execute(
            select(Deal.id, Deal.last_activity_at, User.timezone)
            .join(User, User.id == Deal.owner_id)
            .where(
                Deal.stage.not_in(CLOSED_STAGES),
                Deal.last_activity_at <= stale_cutoff(now, stale_days),
                Deal.nudged_at.is_(None),
            )
            .order_by(Deal.last_activity_at, Deal.id)
            .limit(limit)
        )
    ).all()
    return [(deal_id, at, tz) for deal_id, at, tz in rows]


def nudge_key(deal_id: int, last_activity_at: datetime) -> str:
    return f"nudge:{deal_id}:{last_activity_at.isoformat()}"


async def mark_nudged(session: AsyncSession, deal: Deal, now: datetime, stale_days: int) -> None:
    deal.nudged_at = now
    _event(session, deal, None, now, "nudge", None, None, days=stale_days)
    await session.flush()
