"""The contact log: a call, meeting, message or email with a client, its outcome, a note (text or a
voice message) and an optional next step (a reminder).

Logging counts as contact: the client's `last_contact_at` moves, its version is bumped (cards drawn
before are stale), and its open deals count as active again. Access follows the client: a manager
logs and reads only their own clients' history; admins see all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.interactions import Interaction, InteractionKind, InteractionOutcome
from models.reminders import Reminder
from models.users import User
from services import reminders, search, surveys
from services.access import sees_everything, visible_client
from services.deals import touch_client_deals
from services.errors import DomainError, NotFound

NOTE_LIMIT = 1000
HISTORY_PAGE = 5
PICK_LIMIT = 8


def kind_of(value: str) -> InteractionKind:
    try:
        return InteractionKind(value)
    except ValueError:
        raise DomainError("bad_choice") from None


def outcome_of(value: str) -> InteractionOutcome:
    try:
        return InteractionOutcome(value)
    except ValueError:
        raise DomainError("bad_choice") from None


def clean_note(text: str | None) -> str | None:
    text = (text or "").strip()
    if len(text) > NOTE_LIMIT:
        raise DomainError("note_long", limit=NOTE_LIMIT, length=len(text))
    return text or None


@dataclass(frozen=True, slots=True)
class NextStep:
    text: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Logged:
    interaction: Interaction
    client: Client
    reminder: Reminder | None


async def log_contact(
    session: AsyncSession,
    user: User,
    client_id: int,
    kind: InteractionKind,
    outcome: InteractionOutcome,
    now: datetime,
    *,
    note: str | None = None,
    voice_file_id: str | None = None,
    next_step: NextStep | None = None,
) -> Logged:
    """One entry in the log, the client touched, and the next step's reminder — in one transaction.

    The next step's reminder goes to the client's owner (who works with the client), like a deal's.
    """
    client = await visible_client(session, user, client_id)
    note = clean_note(note)
    if voice_file_id is not None and not 0 < len(voice_file_id) <= 255:
        raise DomainError("bad_choice")
    entry = Interaction(
        client_id=client.id,
        author_id=user.id,
        kind=kind,
        outcome=outcome,
        note=note,
        voice_file_id=voice_file_id,
        occurred_at=now,
        created_at=now,
    )
    session.add(entry)
    await session.execute(
        update(Client)
        .where(Client.id == client.id)
        .values(last_contact_at=now, version=Client.version + 1)
        .execution_options(synchronize_session=False)
    )
    await touch_client_deals(session, client.id, now)
    reminder = None
    if next_step is not None:
        text = reminders.clean_text(next_step.text)
        if next_step.due_at <= now:
            raise DomainError("time_past")
        reminder = await reminders.create(
            session, client.owner_id, text, next_step.due_at, now, client_id=client.id, created_by=user.id
        )
    await session.flush()
    await surveys.after(session, "contact", client.id, client.owner_id, entry.id, now)
    await session.refresh(client)
    return Logged(entry, client, reminder)


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    kind: InteractionKind
    outcome: InteractionOutcome
    note: str | None
    voice_file_id: str | None
    occurred_at: datetime
    author_name: str | None


@dataclass(frozen=True, slots=True)
class History:
    client: Client
    entries: list[Entry]
    total: int
    page: int
    pages: int


async def history(session: AsyncSession, user: User, client_id: int, page: int = 0) -> History:
    """The client's log, newest first, a page at a time (a page past the end shows the last one)."""
    client = await visible_client(session, user, client_id)
    total = (
        await session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.client_id == client.id)
        )
        or 0
    )
    pages = max(1, -(-total // HISTORY_PAGE))
    page = min(max(page, 0), pages - 1)
    rows = await session.execute(
        select(Interaction, User)
        .outerjoin(User, User.id == Interaction.author_id)
        .where(Interaction.client_id == client.id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .offset(page * HISTORY_PAGE)
        .limit(HISTORY_PAGE)
    )
    entries = [
        Entry(
            id=i.id,
            kind=i.kind,
            outcome=i.outcome,
            note=i.note,
            voice_file_id=i.voice_file_id,
            occurred_at=i.occurred_at,
            author_name=author.display_name if author else None,
        )
        for i, author in rows.all()
    ]
    return History(client=client, entries=entries, total=total, page=page, pages=pages)


async def voice_of(session: AsyncSession, user: User, client_id: int, interaction_id: int) -> Entry:
    """A voice note kept with a log entry of a visible client."""
    client = await visible_client(session, user, client_id)
    entry = await session.get(Interaction, interaction_id)
    if entry is None or entry.client_id != client.id or not entry.voice_file_id:
        raise NotFound()
    return Entry(
        id=entry.id,
        kind=entry.kind,
        outcome=entry.outcome,
        note=entry.note,
        voice_file_id=entry.voice_file_id,
        occurred_at=entry.occurred_at,
        author_name=None,
    )


async def pick_clients(session: AsyncSession, user: User, text: str, region: str) -> list[Client]:
    """Clients matching a part of a name, company, email or phone: the manager's own; all for admins."""
    query = search.parse_query(text, region)
    if query.empty:
        return []
    owner = None if sees_everything(user) else user.id
    ids = await search.find_ids(session, query, owner, offset=0, limit=PICK_LIMIT)
    if not ids:
        return []
    clients = (
        await session.scalars(select(Client).where(Client.id.in_(ids), Client.merged_into_id.is_(None)))
    ).all()
    order = {cid: n for n, cid in enumerate(ids)}
    return sorted(clients, key=lambda c: order[c.id])
