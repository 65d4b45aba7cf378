"""What one day's figures are: computed from the source tables for a time range [start, end) by index
range scans on their time columns. The nightly rollup stores them per closed day; a report computes
today's the same way (services/analytics/reports/reading.py)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.deals import Deal, DealEvent
from models.interactions import Interaction
from models.loyalty import Referral
from models.reminders import Reminder, ReminderStatus
from models.reports import NO_MANAGER, ClientFirstPurchase
from models.surveys import Survey
from services.analytics.purchases import purchases
from services.leads import LEAD_SOURCE
from services.vcard import SOURCE as VCARD_SOURCE

# metrics
PURCHASES = "purchases"  # key: the purchase's kind (purchase, deal); count and revenue
NEW_CUSTOMERS = "new_customers"  # clients whose first purchase ever was that day
STAGE = "stage"  # key: a stage; deals that entered it (created in it or moved to it)
MOVED = "moved"  # stage changes
WON = "won"  # key: currency; deals won, their sum
WON_DAYS = "won_days"  # key: currency; amount: the days from creation to won, summed
LOST = "lost"  # key: the reason (as written, cut to 64 characters)
CONTACTS = "contacts"  # key: the contact's kind (call, meeting...)
OUTCOMES = "outcomes"  # key: the contact's outcome (reached, no_answer...); the same contacts again
REMINDERS = "reminders"  # key: on_time, late (done that day)
CSAT = "csat"  # key: the score 1-5, by the answer's time
NPS = "nps"  # key: the score 0-10
NEW_CLIENTS = "new_clients"  # key: the lead source (SOURCES)

PURCHASE_METRICS = (PURCHASES, NEW_CUSTOMERS)
AMOUNT_METRICS = frozenset((PURCHASES, WON, WON_DAYS))  # the others only count
ALL_METRICS = (
    PURCHASES,
    NEW_CUSTOMERS,
    STAGE,
    MOVED,
    WON,
    WON_DAYS,
    LOST,
    CONTACTS,
    OUTCOMES,
    REMINDERS,
    CSAT,
    NPS,
    NEW_CLIENTS,
)
ON_TIME, LATE = "on_time", "late"
WON_STAGE, LOST_STAGE = "won", "lost"

# Where clients came from: manual (no source), import, vCard, a Telegram lead, a referral, else other.
MANUAL, IMPORT, VCARD, TELEGRAM, REFERRAL, OTHER = (
    "manual",
    "import",
    "vcard",
    "telegram",
    "referral",
    "other",
)
SOURCES = (MANUAL, IMPORT, VCARD, TELEGRAM, REFERRAL, OTHER)
IMPORT_SOURCE = "import"
REFERRED = ("linked", "rewarded")


def source_of(source: str | None, referred: bool) -> str:
    if referred:
        return REFERRAL
    text = (source or "").strip()
    if not text:
        return MANUAL
    return {IMPORT_SOURCE: IMPORT, VCARD_SOURCE: VCARD, LEAD_SOURCE: TELEGRAM}.get(text, OTHER)


@dataclass(slots=True)
class Cell:
    count: int = 0
    amount: Decimal = Decimal(0)

    def add(self, count: int, amount: Decimal | float | int = 0) -> None:
        self.count += count
        if amount:
            self.amount += amount if isinstance(amount, Decimal) else Decimal(str(amount))


Figures = dict[tuple[int, str, str], Cell]  # (manager_id, metric, key) -> count and amount


async def day_figures(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    currency: str,
    metrics: tuple[str, ...] = ALL_METRICS,
) -> Figures:
    out: Figures = defaultdict(Cell)
    if PURCHASES in metrics:
        await _purchases(session, start, end, currency, out)
    if NEW_CUSTOMERS in metrics:
        await _new_customers(session, start, end, currency, out)
    if {STAGE, MOVED, WON, WON_DAYS, LOST} & set(metrics):
        await _deals(session, start, end, out)
    if CONTACTS in metrics or OUTCOMES in metrics:
        await _contacts(session, start, end, out)
    if REMINDERS in metrics:
        await _reminders(session, start, end, out)
    if CSAT in metrics:
        await _scores(session, Survey.csat, Survey.csat_at, CSAT, start, end, out)
    if NPS in metrics:
        await _scores(session, Survey.nps, Survey.nps_at, NPS, start, end, out)
    if NEW_CLIENTS in metrics:
        await _new_clients(session, start, end, out)
    return {k: v for k, v in out.items() if k[1] in metrics}


async def _purchases(
    session: AsyncSession, start: datetime, end: datetime, currency: str, out: Figures
) -> None:
    p = purchases(currency, start, end).subquery()
    manager = func.coalesce(p.c.manager_id, NO_MANAGER)
    q = select(manager, p.c.kind, func.count(), func.coalesce(func.sum(p.c.value), 0)).group_by(
        manager, p.c.kind
    )
    for manager_id, kind, n, total in await session.execute(q):
        out[(int(manager_id), PURCHASES, str(kind))].add(int(n), Decimal(str(total)))


async def _new_customers(
    session: AsyncSession, start: datetime, end: datetime, currency: str, out: Figures
) -> None:
    """Clients whose first purchase is in the range: from client_first_purchases (the rollup keeps it),
    and clients that bought in the range and aren't in it yet (today, before the night's run)."""
    known = select(ClientFirstPurchase.manager_id, func.count()).where(
        ClientFirstPurchase.first_at >= start, ClientFirstPurchase.first_at < end
    )
    for manager_id, n in await session.execute(known.group_by(ClientFirstPurchase.manager_id)):
        out[(int(manager_id), NEW_CUSTOMERS, "")].add(int(n))
    p = purchases(currency, start, end).subquery()
    newcomers = (
        select(p.c.client_id, func.min(func.coalesce(p.c.manager_id, NO_MANAGER)))
        .where(~exists().where(ClientFirstPurchase.client_id == p.c.client_id))
        .group_by(p.c.client_id)
    )
    for _client_id, manager_id in await session.execute(newcomers):
        out[(int(manager_id), NEW_CUSTOMERS, "")].add(1)


async def _deals(session: AsyncSession, start: datetime, end: datetime, out: Figures) -> None:
    q = (
        select(
            DealEvent.kind,
            DealEvent.new_value,
            DealEvent.details,
            DealEvent.at,
            Deal.owner_id,
            Deal.created_at,
            Deal.amount,
            Deal.currency,
            Deal.lost_reason,
        )
        .join(Deal, Deal.id == DealEvent.deal_id)
        .where(DealEvent.at >= start, DealEvent.at < end, DealEvent.kind.in_(("created", "stage")))
    )
    for kind, new, details, at, owner, created_at, amount, cur, reason in await session.execute(q):
        stage = (details or {}).get("stage") if kind == "created" else new
        if not stage:
            continue
        out[(owner, STAGE, str(stage)[:64])].add(1)
        if kind == "stage":
            out[(owner, MOVED, "")].add(1)
        if stage == WON_STAGE:
            out[(owner, WON, cur)].add(1, amount or Decimal(0))
            days = Decimal(max((at - created_at).total_seconds(), 0) / 86400).quantize(Decimal("0.01"))
            out[(owner, WON_DAYS, cur)].add(1, days)
        elif stage == LOST_STAGE:
            out[(owner, LOST, " ".join((reason or "").split())[:64])].add(1)


async def _contacts(session: AsyncSession, start: datetime, end: datetime, out: Figures) -> None:
    author = func.coalesce(Interaction.author_id, NO_MANAGER)
    q = (
        select(author, Interaction.kind, Interaction.outcome, func.count())
        .where(Interaction.created_at >= start, Interaction.created_at < end)
        .group_by(author, Interaction.kind, Interaction.outcome)
    )
    for manager_id, kind, outcome, n in await session.execute(q):
        out[(int(manager_id), CONTACTS, str(kind))].add(int(n))
        out[(int(manager_id), OUTCOMES, str(outcome))].add(int(n))


async def _reminders(session: AsyncSession, start: datetime, end: datetime, out: Figures) -> None:
    timely = case((Reminder.done_at <= Reminder.due_at, ON_TIME), else_=LATE)
    q = (
        select(Reminder.owner_id, timely, func.count())
        .where(Reminder.done_at >= start, Reminder.done_at < end, Reminder.status == ReminderStatus.done)
        .group_by(Reminder.owner_id, timely)
    )
    for manager_id, key, n in await session.execute(q):
        out[(int(manager_id), REMINDERS, str(key))].add(int(n))


async def _scores(session, score, at, metric: str, start: datetime, end: datetime, out: Figures) -> None:
    manager = func.coalesce(Survey.manager_id, NO_MANAGER)
    q = (
        select(manager, score, func.count())
        .where(at >= start, at < end, score.is_not(None))
        .group_by(manager, score)
    )
    for manager_id, value, n in await session.execute(q):
        out[(int(manager_id), metric, str(value))].add(int(n))


async def _new_clients(session: AsyncSession, start: datetime, end: datetime, out: Figures) -> None:
    referred = exists().where(Referral.newcomer_client_id == Client.id, Referral.status.in_(REFERRED))
    q = select(Client.owner_id, Client.source, referred).where(
        Client.created_at >= start, Client.created_at < end, Client.merged_into_id.is_(None)
    )
    for owner, source, was_referred in await session.execute(q):
        out[(int(owner), NEW_CLIENTS, source_of(source, bool(was_referred)))].add(1)


async def overdue_reminders(session: AsyncSession, now: datetime, manager_id: int | None) -> dict[int, int]:
    """Reminders still pending past their time, per owner (live: the (status, due_at) index)."""
    q = select(Reminder.owner_id, func.count()).where(
        Reminder.status == ReminderStatus.pending, Reminder.due_at < now
    )
    if manager_id is not None:
        q = q.where(Reminder.owner_id == manager_id)
    return {int(o): int(n) for o, n in await session.execute(q.group_by(Reminder.owner_id))}
