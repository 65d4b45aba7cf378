"""The contact log below the bot: what logging touches, access, history paging, picking a client."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models.clients import Client
from models.deals import Deal
from models.interactions import InteractionKind, InteractionOutcome
from models.reminders import Reminder
from models.users import Role, User
from services import interactions
from services.errors import DomainError, NotFound
from tests.support.people import add_client_row, add_user

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
CALL, REACHED = InteractionKind.call, InteractionOutcome.reached


async def setup(session) -> tuple[User, User, User, Client, Client]:
    anna = await add_user(session, 1, "Anna", role=Role.manager)
    boris = await add_user(session, 2, "Boris", role=Role.manager)
    olga = await add_user(session, 3, "Olga", role=Role.admin)
    mine = await add_client_row(session, 1, "Tom Sawyer", search_terms=True, company="Raft")
    theirs = await add_client_row(session, 2, "Tom Thumb", search_terms=True)
    return anna, boris, olga, mine, theirs


async def test_logging_touches_the_client_its_deals_and_sets_the_next_step(session):
    anna, _, olga, mine, _ = await setup(session)
    deal = Deal(
        client_id=mine.id, owner_id=1, title="d", stage="new", last_activity_at=NOW - timedelta(days=9)
    )
    session.add(deal)
    await session.flush()
    step = interactions.NextStep("send the offer", NOW + timedelta(days=1))
    logged = await interactions.log_contact(
        session, olga, mine.id, CALL, REACHED, NOW, note="  ok  ", voice_file_id="AwAC-1", next_step=step
    )
    assert logged.interaction.note == "ok" and logged.interaction.voice_file_id == "AwAC-1"
    assert logged.interaction.author_id == olga.id
    assert logged.client.version == 2 and logged.client.last_contact_at == NOW
    await session.refresh(deal)
    assert deal.last_activity_at == NOW
    reminder = logged.reminder
    assert (reminder.owner_id, reminder.created_by, reminder.client_id) == (anna.id, olga.id, mine.id)
    second = await interactions.log_contact(session, anna, mine.id, CALL, REACHED, NOW + timedelta(hours=1))
    assert second.client.version == 3 and second.reminder is None


async def test_bad_input_changes_nothing(session):
    anna, boris, _, mine, _theirs = await setup(session)
    with pytest.raises(NotFound):
        await interactions.log_contact(session, boris, mine.id, CALL, REACHED, NOW)
    with pytest.raises(NotFound):
        await interactions.log_contact(session, anna, 999_999, CALL, REACHED, NOW)
    with pytest.raises(DomainError) as e:
        await interactions.log_contact(session, anna, mine.id, CALL, REACHED, NOW, note="n" * 1001)
    assert e.value.code == "note_long"
    with pytest.raises(DomainError) as e:
        await interactions.log_contact(
            session, anna, mine.id, CALL, REACHED, NOW, next_step=interactions.NextStep("x", NOW)
        )
    assert e.value.code == "time_past"
    await session.rollback()
    assert (await session.scalars(select(Reminder))).all() == []
    for bad in ("", "phone", "CALL"):
        with pytest.raises(DomainError):
            interactions.kind_of(bad)
        with pytest.raises(DomainError):
            interactions.outcome_of(bad)


async def test_history_newest_first_paged_and_private(session):
    anna, boris, olga, mine, _ = await setup(session)
    for i in range(12):
        await interactions.log_contact(
            session, anna, mine.id, CALL, REACHED, NOW + timedelta(minutes=i), note=str(i)
        )
    page0 = await interactions.history(session, anna, mine.id)
    assert [e.note for e in page0.entries] == ["11", "10", "9", "8", "7"]
    assert (page0.total, page0.pages, page0.page) == (12, 3, 0)
    assert page0.entries[0].author_name == "Anna"
    last = await interactions.history(session, olga, mine.id, 99)
    assert last.page == 2 and [e.note for e in last.entries] == ["1", "0"]
    assert (await interactions.history(session, anna, mine.id, -5)).page == 0
    with pytest.raises(NotFound):
        await interactions.history(session, boris, mine.id)


async def test_voice_notes_are_private_too(session):
    anna, boris, _, mine, theirs = await setup(session)
    logged = await interactions.log_contact(session, anna, mine.id, CALL, REACHED, NOW, voice_file_id="V1")
    plain = await interactions.log_contact(session, anna, mine.id, CALL, REACHED, NOW)
    assert (await interactions.voice_of(session, anna, mine.id, logged.interaction.id)).voice_file_id == "V1"
    for user, client_id, entry_id in (
        (boris, mine.id, logged.interaction.id),
        (boris, theirs.id, logged.interaction.id),
        (anna, mine.id, plain.interaction.id),
        (anna, mine.id, 999_999),
    ):
        with pytest.raises(NotFound):
            await interactions.voice_of(session, user, client_id, entry_id)


async def test_pick_clients_sees_only_own_unless_admin(session):
    anna, _, olga, mine, theirs = await setup(session)
    assert [c.id for c in await interactions.pick_clients(session, anna, "tom", "RU")] == [mine.id]
    assert [c.id for c in await interactions.pick_clients(session, anna, "raft", "RU")] == [mine.id]
    assert {c.id for c in await interactions.pick_clients(session, olga, "tom", "RU")} == {mine.id, theirs.id}
    assert await interactions.pick_clients(session, anna, "   ", "RU") == []
    assert await interactions.pick_clients(session, anna, "becky", "RU") == []
