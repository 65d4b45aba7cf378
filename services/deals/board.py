"""The pipeline board's read model: a column per stage with its count and sums per currency, and the
deals it shows — client, title, amount, the next step and its date. Two statements: one GROUP BY for
the totals and one UNION ALL of a range read per stage (the (owner_id, stage, last_activity_at)
index for one owner, (stage, last_activity_at) for everyone's), each deal with its next step."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, exists, func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.clients import Client, ClientTag
from models.deals import Deal
from models.reminders import Reminder, ReminderStatus
from services.deals.rules import CLOSED_STAGES

OPEN_LIMIT = 300  # cards shown per open stage; the count says how many there are
CLOSED_LIMIT = 20  # won and lost: the most recent ones


@dataclass(frozen=True, slots=True)
class BoardFilter:
    owner_id: int | None = None  # None: everyone's (admins only; the caller decides)
    tag: str | None = None


@dataclass(frozen=True, slots=True)
class BoardCard:
    id: int
    version: int
    stage: str
    title: str
    amount: Decimal | None
    currency: str
    client_id: int
    client_name: str
    owner_id: int
    step_text: str | None
    step_due: datetime | None


@dataclass(slots=True)
class Column:
    stage: str
    count: int = 0
    sums: dict[str, Decimal] = field(default_factory=dict)
    cards: list[BoardCard] = field(default_factory=list)

    @property
    def closed(self) -> bool:
        return self.stage in CLOSED_STAGES

    @property
    def hidden(self) -> int:
        return max(0, self.count - len(self.cards))


_STATEMENTS: dict[tuple, tuple[Any, Any]] = {}


def _where(flt: BoardFilter) -> list:
    where = []
    if flt.owner_id is not None:
        where.append(Deal.owner_id == bindparam("owner_id"))
    if flt.tag:
        where.append(exists().where(ClientTag.client_id == Deal.client_id, ClientTag.tag == bindparam("tag")))
    return where


def _stage_rows(stage: str, where: list, limit: int):
    pending = aliased(Reminder, name="pending_r")
    step_id = (
        select(pending.id)
        .where(
            pending.client_id == Deal.client_id,
            pending.status == ReminderStatus.pending,
            pending.deal_id == Deal.id,
        )
        .order_by(pending.due_at, pending.id)
        .limit(1)
        .scalar_subquery()
    )
    step = aliased(Reminder, name="step_r")
    return (
        select(
            Deal.id,
            Deal.version,
            Deal.stage,
            Deal.title,
            Deal.amount,
            Deal.currency,
            Deal.client_id,
            Client.name,
            Deal.owner_id,
            step.text,
            step.due_at,
            Deal.last_activity_at,
        )
        .join(Client, Client.id == Deal.client_id)
        .outerjoin(step, step.id == step_id)
        .where(Deal.stage == stage, *where)
        .order_by(Deal.last_activity_at.desc(), Deal.id.desc())
        .limit(limit)
    )


def _statements(flt: BoardFilter, stages: tuple[str, ...]) -> tuple[Any, Any]:
    """(totals, cards) for this shape of filter and these stages, built once; :owner_id and :tag bound."""
    key = (stages, flt.owner_id is not None, bool(flt.tag))
    built = _STATEMENTS.get(key)
    if built is None:
        where = _where(flt)
        totals = (
            select(Deal.stage, Deal.currency, func.count(), func.sum(Deal.amount))
            .where(*where)
            .group_by(Deal.stage, Deal.currency)
        )
        parts = [
            _stage_rows(stage, where, CLOSED_LIMIT if stage in CLOSED_STAGES else OPEN_LIMIT)
            .subquery()
            .select()
            for stage in stages
        ]
        built = _STATEMENTS[key] = (totals, union_all(*parts))
    return built


async def board(session: AsyncSession, flt: BoardFilter, stages: Sequence[str]) -> list[Column]:
    """The columns in the configured order (a stage no longer configured that still has deals comes
    at the end with its count, as in /deals), each with its true count and sums and up to OPEN_LIMIT
    (open stages) or CLOSED_LIMIT (won, lost) cards, most recently active first. Two statements."""
    totals, cards = _statements(flt, tuple(stages))
    params: dict[str, Any] = {}
    if flt.owner_id is not None:
        params["owner_id"] = flt.owner_id
    if flt.tag:
        params["tag"] = flt.tag
    columns = {stage: Column(stage) for stage in stages}
    for stage, currency, count, total in (await session.execute(totals, params)).all():
        column = columns.setdefault(stage, Column(stage))
        column.count += count
        if total is not None:
            column.sums[currency] = column.sums.get(currency, Decimal(0)) + Decimal(total)
    if any(columns[stage].count for stage in stages):
        rows = sorted((await session.execute(cards, params)).all(), key=lambda r: (r[11], r[0]), reverse=True)
        for row in rows:
            card = BoardCard(*row[:11])
            columns[card.stage].cards.append(card)
    return list(columns.values())
