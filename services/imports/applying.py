"""The apply: one batch of rows at a time, in the caller's transaction, together with the import's
cursor. The batch starts by moving the cursor with a conditional UPDATE (cursor = the value read), so a
second worker on the same import, or a rerun of a batch already committed, writes nothing; a batch that
fails or is killed rolls back with its cursor and is done again from the same row."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.imports import Import, ImportStatus
from models.loyalty import EARN, LoyaltyAccount, Purchase
from models.users import User
from services.bulk import gc_paused, refresh_statistics, reserve_ids
from services.clients.create import NewClient, create_many
from services.imports import fields
from services.imports.checking import checker, forget, row_numbers, rows_of, take_parsed
from services.imports.staging import drop_rows
from services.loyalty.ledger import ensure_account, post
from services.loyalty.settings import HUNDRED, program
from services.sequences import hooks as drips

BATCH = 5000


def purchase_key(import_id: int, row_no: int) -> str:
    return f"import:{import_id}:{row_no}"


async def apply_batch(
    session: AsyncSession,
    imp: Import,
    actor: User,
    now: datetime,
    *,
    region: str,
    zone: ZoneInfo,
    currency: str,
    batch: int | None = None,
) -> bool:
    """Apply the next batch; True while rows remain. The import is done (and its rows dropped) after
    the last one."""
    if imp.status != ImportStatus.applying:
        return False
    start = imp.cursor
    numbers = await row_numbers(session, imp.id, start, batch or BATCH)
    if not numbers:
        imp.status = ImportStatus.done
        imp.finished_at = now
        imp.updated_at = now
        await drop_rows(session, imp.id)
        forget(imp.id)
        return False
    last = numbers[-1]
    moved = await session.execute(
        update(Import)
        .where(Import.id == imp.id, Import.cursor == start, Import.status == ImportStatus.applying)
        .values(cursor=last, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # another run took this batch: it is theirs to write
        status = await session.scalar(select(Import.status).where(Import.id == imp.id))
        return status == ImportStatus.applying
    with gc_paused():
        parsed = take_parsed(imp, numbers)
        if len(parsed) == len(numbers):  # the dry run in this process parsed them all: no cells needed
            rows: list[tuple[int, list[str]]] = [(n, []) for n in numbers]
        else:
            rows = await rows_of(session, imp.id, after=start, limit=len(numbers))
        c = await checker(
            session,
            imp,
            actor,
            region=region,
            zone=zone,
            currency=currency,
            today=now.astimezone(zone).date(),
        )
        out = await c.check(rows, parsed)
        if imp.kind == fields.CLIENTS:
            ids = await create_many(session, actor, [item for _row, item in out.add], now, cleaned=True)
            await _drips(session, ids, [item for _row, item in out.add], now)
            await refresh_statistics(session, "clients", "client_phones")  # the next batch's lookups
        else:
            await _purchases(session, imp, actor, out.add, currency, now)
    values = {
        "added": Import.added + len(out.add),
        "skipped_known": Import.skipped_known + len(out.known),
        "skipped_invalid": Import.skipped_invalid + len(out.invalid),
    }
    await session.execute(
        update(Import)
        .where(Import.id == imp.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.refresh(imp)
    return True


async def _drips(session: AsyncSession, ids: list[int], items: list[NewClient], now: datetime) -> None:
    """The batch's tags are new on its new clients: those linked to the bot (a Telegram id in the file)
    are enrolled in the sequences their tags trigger, set-based, in the batch's transaction."""
    added: dict[str, list[int]] = defaultdict(list)
    for client_id, item in zip(ids, items, strict=True):
        if item.data.telegram_id is not None:
            for tag in item.data.tags:
                added[tag].append(client_id)
    await drips.on_tags_added(session, added, now)


async def _purchases(
    session: AsyncSession, imp: Import, actor: User, items: list, currency: str, now: datetime
) -> None:
    """History as given: no discount, no points unless the admin chose to credit them (then through the
    ledger, one entry per purchase with its own key). Purchases in the default currency count towards
    the client's total spend and so their tier."""
    if not items:
        return
    rows = [
        {
            "client_id": p.client_id,
            "manager_id": actor.id,
            "amount": p.amount,
            "currency": p.currency,
            "tier": "",
            "discount_percent": Decimal(0),
            "discounted": p.amount,
            "points_redeemed": 0,
            "paid": p.amount,
            "points_earned": 0,
            "idempotency_key": purchase_key(imp.id, p.row_no),
            "created_at": p.at,
            "origin": "import",
        }
        for p in items
    ]
    ids = await reserve_ids(session, Purchase.__table__, len(rows))
    for purchase_id, row in zip(ids, rows, strict=True):
        row["id"] = purchase_id
    await session.execute(insert(Purchase.__table__), rows)
    spend: dict[int, tuple[Decimal, int]] = defaultdict(lambda: (Decimal(0), 0))
    for p in items:
        if p.currency == currency:
            total, count = spend[p.client_id]
            spend[p.client_id] = (total + p.amount, count + 1)
    for client_id, (total, count) in spend.items():
        await ensure_account(session, client_id, now)
        await session.execute(
            update(LoyaltyAccount)
            .where(LoyaltyAccount.client_id == client_id)
            .values(
                total_spend=LoyaltyAccount.total_spend + total,
                purchases=LoyaltyAccount.purchases + count,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    if imp.credit_points:
        await _credit(session, actor, items, ids, currency, now)


async def _credit(
    session: AsyncSession, actor: User, items: list, ids: list[int], currency: str, now: datetime
) -> None:
    prog = await program(session)
    for p, purchase_id in zip(items, ids, strict=True):
        if p.currency != currency:
            continue
        points = int((p.amount * prog.earn_percent / HUNDRED).to_integral_value(ROUND_DOWN))
        if points <= 0:
            continue
        entry = await post(
            session,
            p.client_id,
            EARN,
            points,
            now,
            f"earn:{purchase_id}",
            expiry_days=prog.expiry_days,
            actor_id=actor.id,
            purchase_id=purchase_id,
        )
        if entry is not None:
            await session.execute(
                update(Purchase)
                .where(Purchase.id == purchase_id)
                .values(points_earned=points)
                .execution_options(synchronize_session=False)
            )
