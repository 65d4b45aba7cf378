"""Changing deals, every change recorded as a DealEvent with who and when: creating one (with its
next step's reminder), stage changes and edits, each guarded by the deal's version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from models.deals import Deal, DealEvent
from models.sequences import StopReason, Trigger
from models.users import User
from services import reminders, surveys
from services.access import visible_client
from services.deals.parsing import clean_text, clean_title
from services.deals.reading import visible_deal
from services.deals.rules import CENT, CLOSED_STAGES, MAX_AMOUNT, REASON_LIMIT, STEP_LIMIT
from services.errors import DomainError
from services.sequences import hooks as drips


def amount_text(amount: Decimal | None, currency: str) -> str | None:
    return None if amount is None else f"{amount.quantize(CENT)} {currency}"


def record_event(
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
    record_event(
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
    if deal.stage in CLOSED_STAGES:  # recorded as won already: the drips stop
        await drips.stop_client(session, client.id, StopReason.deal_closed, now)
    await drips.on_event(session, Trigger.stage, client.id, now, arg=deal.stage)
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
    record_event(session, deal, user.id, now, "stage", old_stage, stage, reopened=reopened)
    if "lost_reason" in values:
        record_event(session, deal, user.id, now, "lost_reason", old_reason, values["lost_reason"])
    if stage == "won":
        await surveys.after(session, "deal_won", deal.client_id, deal.owner_id, deal.id, now)
    if deal.client_id is not None:
        if stage in CLOSED_STAGES:  # their deal won or lost: the drips stop
            await drips.stop_client(session, deal.client_id, StopReason.deal_closed, now)
        await drips.on_event(session, Trigger.stage, deal.client_id, now, arg=stage)
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
    record_event(session, deal, user.id, now, "title", old, title)
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
    record_event(session, deal, user.id, now, "amount", old, new)
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
    record_event(session, deal, user.id, now, "close_date", old, value.isoformat() if value else None)
    return deal
