"""Merging two client records: cross-domain work, so it lives above the domains it combines.

The clients domain folds the other record's fields, phones and tags into the survivor; each domain
whose rows can't simply be re-pointed (a unique key on the client: one consent state per purpose,
one loyalty account, one active enrolment per drip sequence) has its own `merge_into` step, called
here; every other foreign key to clients.id is re-pointed at the survivor. The other's tags the
survivor lacked are new on it, and enrol it in the drips they trigger. All of it runs in the caller's
transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import Base  # models/__init__ imports every model module: Base.metadata is complete
from models.clients import Client, ClientPhone, ClientTag
from models.users import User
from services import access, audit, consent, loyalty, search
from services.clients.owner import move_client_work
from services.clients.records import check_version, rekey, touch
from services.errors import DomainError
from services.sequences import hooks as drips

# Filled from the merged-away record when the survivor has nothing there.
MERGE_FILL = ("company", "position", "source", "birthday", "note", "timezone", "language")

# Tables with their own merge step (below, or the domain's `merge_into`); the generic re-pointing of
# foreign keys to clients.id leaves them alone.
OWN_STEPS = frozenset(
    {
        "clients",  # merged_into_id: set below
        "client_phones",  # moved below
        "client_tags",  # moved below, without doubles
        "client_search_terms",  # dropped for the other, rebuilt for the survivor
        "client_consents",  # services.consent.merge_into
        "loyalty_accounts",  # services.loyalty.merge_into
    }
)


def client_fk_columns() -> list[tuple[Any, Any]]:
    """(table, column) of every foreign key to clients.id outside the tables in OWN_STEPS."""
    result = []
    for table in Base.metadata.sorted_tables:
        if table.name in OWN_STEPS:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "clients" and fk.column.name == "id":
                result.append((table, fk.parent))
    return result


async def merge(
    session: AsyncSession, actor: User, survivor_id: int, other_id: int, version: int, now: datetime
) -> Client:
    """Fold `other` into `survivor`: phones, tags, contacts, deals, reminders and every other row that
    points at it move over; the survivor keeps its non-empty fields and fills empty ones from the
    other; the other is marked merged_into; both versions are bumped; who merged what is recorded.
    """
    survivor, other = await _load_pair(session, actor, survivor_id, other_id, version)
    snapshot = {
        "name": other.name,
        "company": other.company,
        "email": other.email,
        "telegram_id": other.telegram_id,
        "phones": [p.e164 for p in other.phones],
        "tags": [t.tag for t in other.tags],
        "owner_id": other.owner_id,
        "note": other.note,
    }
    filled = await _fill_fields(session, survivor, other)
    moved, new_tags = await _move_own_rows(session, survivor, other)
    if count := await consent.merge_into(session, survivor, other, now):
        moved["client_consents"] = count
    if count := await loyalty.merge_into(session, survivor, other, now):
        moved["loyalty_accounts"] = count
    if count := await drips.merge_into(session, survivor.id, other.id, now):
        moved["sequence_enrolments_stopped"] = count
    moved.update(await repoint_foreign_keys(session, survivor, other))
    if other.owner_id != survivor.owner_id:
        deal_ids, reminders_moved = await move_client_work(
            session, actor, survivor.id, other.owner_id, survivor.owner_id, now, "clients merged"
        )
        moved["deals.owner_id"] = len(deal_ids)
        moved["reminders.owner_id"] = reminders_moved
    await _retire(session, actor, survivor, other, now)
    # the other's tags the survivor lacked are new on it (its enrolments moved over already count)
    if new_tags:
        await drips.on_tags_added(session, {tag: [survivor.id] for tag in new_tags}, now)
    audit.record(
        session,
        actor.id,
        "client.merge",
        f"client:{survivor.id}",
        now,
        client_id=survivor.id,
        after=f"#{other.id} {other.name}",
        merged=other.id,
        filled=filled,
        moved=moved,
        other=snapshot,
    )
    audit.record(
        session,
        actor.id,
        "client.merged_into",
        f"client:{other.id}",
        now,
        client_id=other.id,
        after=f"#{survivor.id} {survivor.name}",
    )
    await session.flush()
    return survivor


async def _load_pair(
    session: AsyncSession, actor: User, survivor_id: int, other_id: int, version: int
) -> tuple[Client, Client]:
    """Both records, fresh, visible to the actor and not merged away; the survivor at `version`."""
    if survivor_id == other_id:
        raise DomainError("merge_self")
    if session.bind.dialect.name == "postgresql":
        # Two people merging the same pair at once: the second waits and then sees the result.
        await session.execute(
            select(Client.id)
            .where(Client.id.in_([survivor_id, other_id]))
            .order_by(Client.id)
            .with_for_update()
        )
    survivor = await access.visible_client(session, actor, survivor_id)
    other = await access.visible_client(session, actor, other_id)
    await session.refresh(survivor)
    await session.refresh(other)
    if survivor.merged_into_id is not None or other.merged_into_id is not None:
        raise DomainError("not_found")
    check_version(survivor, version)
    return survivor, other


async def _fill_fields(session: AsyncSession, survivor: Client, other: Client) -> list[str]:
    """The survivor's empty fields from the other; the other's email and Telegram id move over when
    the survivor has none (freed first: they are unique). Returns the names filled."""
    filled = []
    for name in MERGE_FILL:
        if getattr(survivor, name) in (None, "") and getattr(other, name) not in (None, ""):
            setattr(survivor, name, getattr(other, name))
            filled.append(name)
    unique_moves = {}
    for name in ("email", "telegram_id"):
        if getattr(survivor, name) is None and getattr(other, name) is not None:
            unique_moves[name] = getattr(other, name)
            filled.append(name)
    other.email = None
    other.telegram_id = None
    if other.last_contact_at and (
        not survivor.last_contact_at or other.last_contact_at > survivor.last_contact_at
    ):
        survivor.last_contact_at = other.last_contact_at
    await session.flush()  # the other's unique values are free now
    for name, value in unique_moves.items():
        setattr(survivor, name, value)
    return filled


async def _move_own_rows(
    session: AsyncSession, survivor: Client, other: Client
) -> tuple[dict[str, int], list[str]]:
    """The other's phones, and its tags the survivor doesn't have (returned: they are new on it)."""
    moved: dict[str, int] = {}
    result = await session.execute(
        update(ClientPhone)
        .where(ClientPhone.client_id == other.id)
        .values(client_id=survivor.id)
        .execution_options(synchronize_session=False)
    )
    moved["client_phones"] = result.rowcount
    survivor_tags = {t.tag for t in survivor.tags}
    new_tags = [t.tag for t in other.tags if t.tag not in survivor_tags]
    await session.execute(delete(ClientTag).where(ClientTag.client_id == other.id))
    if new_tags:
        await session.execute(insert(ClientTag), [{"client_id": survivor.id, "tag": t} for t in new_tags])
    moved["client_tags"] = len(new_tags)
    return moved, new_tags


async def repoint_foreign_keys(session: AsyncSession, survivor: Client, other: Client) -> dict[str, int]:
    """Every other row pointing at the other record points at the survivor; rows moved per column."""
    moved: dict[str, int] = {}
    for table, column in client_fk_columns():
        result = await session.execute(
            update(table).where(column == other.id).values({column.name: survivor.id})
        )
        if result.rowcount:
            moved[f"{table.name}.{column.name}"] = result.rowcount
    return moved


async def _retire(session: AsyncSession, actor: User, survivor: Client, other: Client, now: datetime) -> None:
    """The other is marked merged into the survivor (as are records merged into it earlier), both
    versions are bumped, and the search terms follow."""
    await session.execute(
        update(Client)
        .where(Client.merged_into_id == other.id)
        .values(merged_into_id=survivor.id)
        .execution_options(synchronize_session=False)
    )
    other.merged_into_id = survivor.id
    rekey(survivor)  # the company may have been filled from the other
    touch(other, actor, now)
    touch(survivor, actor, now)
    await session.flush()
    await search.drop_terms(session, other.id)
    await session.refresh(survivor, ["phones", "tags"])
    await session.refresh(other, ["phones", "tags"])
    await search.rebuild_terms(session, survivor)
