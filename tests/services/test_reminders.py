"""Reminders below the bot: versions and the queue, access, the day's list and the overdue report."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from models.jobs import Job, JobStatus
from models.reminders import Reminder, ReminderStatus
from models.users import Role, User
from services import reminders
from services.errors import DomainError, NotFound
from tests.support.people import add_client_row, add_user

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # 10:00 in Moscow


async def jobs(session) -> list[tuple[str, JobStatus]]:
    rows = await session.execute(select(Job.idempotency_key, Job.status).order_by(Job.id))
    return [tuple(r) for r in rows.all()]


async def test_create_queues_one_job_per_version_and_reschedule_moves_it(session):
    anna = await add_user(session, 1, role=Role.manager)
    r = await reminders.create(session, anna.id, "call", NOW + timedelta(hours=1), NOW)
    assert await jobs(session) == [(f"reminder:{r.id}:v1", JobStatus.pending)]
    moved = await reminders.reschedule(session, anna, r.id, NOW + timedelta(hours=2), NOW, version=1)
    assert moved.version == 2 and moved.due_at == NOW + timedelta(hours=2)
    assert await jobs(session) == [
        (f"reminder:{r.id}:v1", JobStatus.cancelled),
        (f"reminder:{r.id}:v2", JobStatus.pending),
    ]
    with pytest.raises(DomainError) as e:
        await reminders.reschedule(session, anna, r.id, NOW + timedelta(hours=3), NOW, version=1)
    assert e.value.code == "reminder_moved" and e.value.params["due_at"] == NOW + timedelta(hours=2)
    with pytest.raises(DomainError) as e:
        await reminders.reschedule(session, anna, r.id, NOW - timedelta(minutes=1), NOW)
    assert e.value.code == "time_past"
    with pytest.raises(ValueError):
        await reminders.create(session, anna.id, "naive", datetime(2026, 3, 11, 10), NOW)


async def test_done_and_cancel_answer_sensibly_when_repeated(session):
    anna = await add_user(session, 1, role=Role.manager)
    r = await reminders.create(session, anna.id, "call", NOW + timedelta(hours=1), NOW)
    done = await reminders.mark_done(session, anna, r.id, NOW)
    assert done.status == ReminderStatus.done and done.done_at == NOW
    assert await jobs(session) == [(f"reminder:{r.id}:v1", JobStatus.cancelled)]
    for action in (reminders.mark_done, reminders.cancel):
        with pytest.raises(DomainError) as e:
            await action(session, anna, r.id, NOW)
        assert e.value.code == "reminder_already_done"
    with pytest.raises(DomainError) as e:
        await reminders.reschedule(session, anna, r.id, NOW + timedelta(hours=1), NOW, version=1)
    assert e.value.code == "reminder_already_done"
    other = await reminders.create(session, anna.id, "x", NOW + timedelta(hours=1), NOW)
    await reminders.cancel(session, anna, other.id, NOW)
    with pytest.raises(DomainError) as e:
        await reminders.mark_done(session, anna, other.id, NOW)
    assert e.value.code == "reminder_cancelled"


async def test_only_the_owner_or_an_admin(session):
    anna = await add_user(session, 1, role=Role.manager)
    boris = await add_user(session, 2, role=Role.manager)
    olga = await add_user(session, 3, role=Role.admin)
    r = await reminders.create(session, anna.id, "call", NOW + timedelta(hours=1), NOW)
    for action in (reminders.mark_done, reminders.cancel):
        with pytest.raises(NotFound):
            await action(session, boris, r.id, NOW)
    with pytest.raises(NotFound):
        await reminders.visible_reminder(session, boris, 999_999)
    assert (await reminders.visible_reminder(session, olga, r.id)).id == r.id


async def test_for_delivery_only_the_current_unsent_version(session):
    anna = await add_user(session, 1, role=Role.manager)
    r = await reminders.create(session, anna.id, "call", NOW + timedelta(hours=1), NOW)
    assert await reminders.for_delivery(session, r.id, 1) is r
    reminders.mark_sent(r, NOW)
    await session.flush()
    assert await reminders.for_delivery(session, r.id, 1) is None  # sent already
    await reminders.reschedule(session, anna, r.id, NOW + timedelta(hours=2), NOW)
    assert r.sent_at is None
    assert await reminders.for_delivery(session, r.id, 1) is None  # an old version
    assert await reminders.for_delivery(session, r.id, 2) is r
    await reminders.mark_done(session, anna, r.id, NOW)
    assert await reminders.for_delivery(session, r.id, 2) is None
    assert await reminders.for_delivery(session, 999_999, 1) is None


async def test_two_snoozes_at_once_move_it_once(session_factory):
    async with session_factory() as s, s.begin():
        anna = await add_user(s, 1, role=Role.manager)
        r = await reminders.create(s, anna.id, "call", NOW + timedelta(minutes=5), NOW)
        rid = r.id

    async def press(minutes: int) -> str:
        async with session_factory() as s, s.begin():
            user = await s.get(User, 1)
            try:
                await reminders.reschedule(s, user, rid, NOW + timedelta(minutes=minutes), NOW, version=1)
            except DomainError as e:
                return e.code
            return "moved"

    results = await asyncio.gather(press(15), press(60))
    assert sorted(results) == ["moved", "reminder_moved"]
    async with session_factory() as s:
        assert len([k for k, st in await jobs(s) if st == JobStatus.pending]) == 1


def test_snooze_until_tomorrow_is_nine_local():
    assert reminders.snooze_until("s15", NOW, "Europe/Moscow") == NOW + timedelta(minutes=15)
    assert reminders.snooze_until("s60", NOW, "Europe/Moscow") == NOW + timedelta(hours=1)
    assert reminders.snooze_until("tomorrow", NOW, "Europe/Moscow") == datetime(2026, 3, 11, 6, tzinfo=UTC)
    # 22:00 UTC on the 10th is already the 11th in Vladivostok: tomorrow is the 12th there
    late = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
    assert reminders.snooze_until("tomorrow", late, "Asia/Vladivostok") == datetime(
        2026, 3, 11, 23, tzinfo=UTC
    )
    # across the DST change in New York (8 March 2026): 09:00 EDT is 13:00 UTC
    ny = datetime(2026, 3, 7, 20, 0, tzinfo=UTC)
    assert reminders.snooze_until("tomorrow", ny, "America/New_York") == datetime(2026, 3, 8, 13, tzinfo=UTC)
    with pytest.raises(DomainError):
        reminders.snooze_until("forever", NOW, "UTC")


def test_clean_text():
    assert reminders.clean_text("  call  ") == "call"
    for bad, code in (
        ("", "reminder_text_empty"),
        ("   ", "reminder_text_empty"),
        ("x" * 1001, "reminder_text_long"),
    ):
        with pytest.raises(DomainError) as e:
            reminders.clean_text(bad)
        assert e.value.code == code
    assert reminders.clean_text("x" * 1000) == "x" * 1000


async def test_agenda_groups_by_local_day_across_dst(session):
    # New York, Saturday 7 March 2026 20:00 EST (01:00 UTC on the 8th); DST starts at 02:00 on the 8th
    anna = await add_user(session, 1, role=Role.manager, timezone="America/New_York")
    now = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)
    client = await add_client_row(session, 1, "Acme")
    for text, due in (
        ("overdue", now - timedelta(minutes=1)),
        ("tonight 23:59 EST", datetime(2026, 3, 8, 4, 59, tzinfo=UTC)),
        ("sunday 00:00 EST", datetime(2026, 3, 8, 5, 0, tzinfo=UTC)),
        ("sunday 23:59 EDT", datetime(2026, 3, 9, 3, 59, tzinfo=UTC)),
        ("monday 00:00 EDT", datetime(2026, 3, 9, 4, 0, tzinfo=UTC)),
    ):
        await reminders.create(session, 1, text, due, now, client_id=client.id)
    agenda = await reminders.agenda(session, anna.id, now, "America/New_York")
    assert [i.text for i in agenda.overdue] == ["overdue"]
    assert agenda.overdue[0].client_name == "Acme"
    assert [i.text for i in agenda.today] == ["tonight 23:59 EST"]
    assert [i.text for i in agenda.tomorrow] == ["sunday 00:00 EST", "sunday 23:59 EDT"]


async def test_overdue_report_groups_by_owner_most_first(session):
    a, b = await add_user(session, 1, role=Role.manager), await add_user(session, 2, role=Role.manager)
    await add_user(session, 3, role=Role.manager)
    await reminders.create(session, a.id, "a1", NOW - timedelta(hours=25), NOW - timedelta(days=2))
    await reminders.create(session, a.id, "a-recent", NOW - timedelta(hours=23), NOW - timedelta(days=2))
    for i in range(3):
        await reminders.create(
            session, b.id, f"b{i}", NOW - timedelta(days=3, hours=i), NOW - timedelta(days=5)
        )
    done = await reminders.create(session, a.id, "a-done", NOW - timedelta(days=3), NOW - timedelta(days=5))
    await reminders.mark_done(session, a, done.id, NOW)
    report = await reminders.overdue_report(session, NOW, 24)
    assert [(m.owner.id, m.total, [i.text for i in m.items]) for m in report] == [
        (2, 3, ["b2", "b1", "b0"]),
        (1, 1, ["a1"]),
    ]
    assert await reminders.overdue_report(session, NOW - timedelta(days=10), 24) == []


async def test_next_for_client(session):
    await add_user(session, 1, role=Role.manager)
    client = await add_client_row(session, 1, "Acme")
    assert await reminders.next_for_client(session, client.id) is None
    later = await reminders.create(session, 1, "later", NOW + timedelta(days=2), NOW, client_id=client.id)
    sooner = await reminders.create(session, 1, "sooner", NOW + timedelta(days=1), NOW, client_id=client.id)
    assert (await reminders.next_for_client(session, client.id)).id == sooner.id
    await reminders.mark_done(session, await session.get(User, 1), sooner.id, NOW)
    assert (await reminders.next_for_client(session, client.id)).id == later.id


async def test_agenda_counts_what_it_did_not_fetch(session):
    anna = await add_user(session, 200, role=Role.manager)
    for i in range(reminders.AGENDA_LIMIT * 2 + 5):  # more than one fetch: today and tomorrow (Moscow)
        due = NOW + timedelta(minutes=10 + i * 10)  # from 10:10 local, every 10 minutes
        session.add(Reminder(owner_id=anna.id, text=f"r{i}", due_at=due, created_at=NOW))
    await session.flush()
    agenda = await reminders.agenda(session, anna.id, NOW, "Europe/Moscow")
    assert len(agenda.today) + len(agenda.tomorrow) == reminders.AGENDA_LIMIT * 2
    # 10:10..23:50 local is 83 ten-minute slots; the rest fall on tomorrow
    assert agenda.today_total == 83
    assert agenda.tomorrow_total == reminders.AGENDA_LIMIT * 2 + 5 - 83
