"""The client card's read model: the client with its phones and tags, the owner, the next pending
reminder, the open deals, and likely duplicates — one statement. It combines the clients, reminders
and deals domains, so it lives above them. (What the card shows: services.clients.card.CardData.)"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, joinedload

from models.clients import Client
from models.deals import Deal
from models.reminders import Reminder, ReminderStatus
from models.sequences import Enrolment, EnrolmentStatus
from models.users import User
from services import access
from services import deals as deals_service
from services.analytics import rfm
from services.clients.card import CardData, DuplicateRef
from services.clients.dedupe import owner_of
from services.errors import NotFound

_CARD_STATEMENTS: dict[bool, Any] = {}


def _card_statement(everyone: bool):
    """One SELECT for the whole card: the client with its phones and tags, the owner, the next pending
    reminder, the open deals' count and sum, and up to two likely duplicates (the same dup_key among
    the records the viewer may see). Built once per shape; :client_id and :viewer_id are bound."""
    stmt = _CARD_STATEMENTS.get(everyone)
    if stmt is not None:
        return stmt
    nxt = aliased(Reminder, name="next_r")
    pending = aliased(Reminder, name="pending_r")
    next_id = (
        select(pending.id)
        .where(pending.client_id == Client.id, pending.status == ReminderStatus.pending)
        .order_by(pending.due_at, pending.id)
        .limit(1)
        .scalar_subquery()
    )
    d = aliased(Deal, name="open_d")
    closed = deals_service.CLOSED_STAGES
    open_deals = select().select_from(d).where(d.client_id == Client.id, d.stage.not_in(closed))
    deal_columns = [
        open_deals.add_columns(column).scalar_subquery().label(name)
        for name, column in (
            ("deals_n", func.count()),
            ("currency_lo", func.min(d.currency)),
            ("currency_hi", func.max(d.currency)),
            ("deals_sum", func.coalesce(func.sum(d.amount), 0)),
        )
    ]
    e = aliased(Enrolment, name="drip_e")
    drips = select().select_from(e).where(e.client_id == Client.id, e.status == EnrolmentStatus.active)
    drip_columns = [
        drips.add_columns(column).scalar_subquery().label(name)
        for name, column in (("drips_n", func.count()), ("drips_next", func.min(e.next_at)))
    ]
    same = aliased(Client, name="same")
    match = [same.dup_key == Client.dup_key, same.id != Client.id, same.merged_into_id.is_(None)]
    if not everyone:
        match.append(same.owner_id == bindparam("viewer_id"))
    same_ids = select(same.id).where(*match).order_by(same.id)
    dup_columns = []
    joins = []
    for i in range(2):
        dup = aliased(Client, name=f"dup{i}")
        joins.append((dup, dup.id == same_ids.offset(i).limit(1).scalar_subquery()))
        dup_columns += [dup.id, dup.name, dup.company, dup.created_at]
    score, score_on = rfm.latest_score_join()  # the RFM segment and ABC class (last column)
    stmt = (
        select(Client, User, nxt, *deal_columns, *drip_columns, *dup_columns, score)
        .outerjoin(User, User.id == Client.owner_id)
        .outerjoin(nxt, nxt.id == next_id)
    )
    for dup, on in joins:
        stmt = stmt.outerjoin(dup, on)
    stmt = stmt.outerjoin(score, score_on)
    stmt = stmt.where(Client.id == bindparam("client_id")).options(
        joinedload(Client.phones), joinedload(Client.tags)
    )
    _CARD_STATEMENTS[everyone] = stmt
    return stmt


async def _card_row(session: AsyncSession, viewer: User, client_id: int) -> CardData | None:
    everyone = access.sees_everything(viewer)
    params: dict[str, Any] = {"client_id": client_id}
    if not everyone:
        params["viewer_id"] = viewer.id
    row = (await session.execute(_card_statement(everyone), params)).unique().one_or_none()
    if row is None:
        return None
    client, owner, reminder, count, currency_lo, currency_hi, total, drips_n, drips_next, *dups, score = row
    if not count:
        deals = deals_service.OpenSummary(count=0, sums={})
    elif currency_lo == currency_hi:
        deals = deals_service.OpenSummary(count=count, sums={currency_lo: Decimal(total)} if total else {})
    else:  # several currencies: a sum for each
        deals = await deals_service.open_summary(session, client_id)
    duplicates = [DuplicateRef(*dups[i : i + 4]) for i in (0, 4) if dups[i] is not None]
    return CardData(
        client=client,
        owner=owner,
        next_reminder=reminder,
        deals=deals,
        duplicates=duplicates,
        rfm=score,
        drips=int(drips_n or 0),
        drip_next_at=drips_next,
    )


async def card(session: AsyncSession, viewer: User, client: Client) -> CardData:
    """Everything the card shows besides the client itself, in one statement."""
    data = await _card_row(session, viewer, client.id)
    if data is None:  # deleted meanwhile: nothing hangs on it any more
        return CardData(
            client, await owner_of(session, client), None, deals_service.OpenSummary(0, {}), [], None
        )
    data.client = client
    return data


async def open_card(session: AsyncSession, viewer: User, client_id: int) -> CardData:
    """The card of a client the viewer may see (as access.visible_client decides), in one statement;
    NotFound for a client that doesn't exist, was merged away or is someone else's."""
    data = await _card_row(session, viewer, client_id)
    if data is None or data.client.merged_into_id is not None:
        raise NotFound()
    if not access.sees_everything(viewer) and data.client.owner_id != viewer.id:
        raise NotFound()
    return data
