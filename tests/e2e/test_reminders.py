"""End to end: reminders set with /remind or from a card, delivered at their time, snoozed, listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.callbacks import ClientCb, ReminderCb
from bot.text import visible_length
from models.jobs import Job, JobStatus
from models.reminders import Reminder, ReminderStatus
from services import reminders as reminders_service
from tests.conftest import ADMIN_ID
from tests.support.people import client_record, manager
from tests.support.workspace import reminders_of, reminders_sent

# the conftest clock starts at 2026-03-10 07:00 UTC: Tuesday, 10:00 in Moscow


async def add_reminder(app, owner_id: int, text: str, due_at: datetime, client_id: int | None = None) -> int:
    async with app.session_factory() as s, s.begin():
        r = await reminders_service.create(s, owner_id, text, due_at, app.clock.now(), client_id=client_id)
        return r.id


async def test_remind_one_line_is_delivered_once_at_its_time(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    replies = await anna.send("/remind tomorrow 10am call Ivan <about the contract>")
    assert "I'll remind you on Wed, 11 Mar, 10:00" in replies.last.text
    assert "call Ivan <about the contract>" in replies.last.text  # shown escaped, read as typed
    [r] = await reminders_of(app, 201)
    assert r.due_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)  # 10:00 in Moscow
    assert r.text == "call Ivan <about the contract>"

    await app.queue.drain()
    assert reminders_sent(anna) == []  # not yet
    clock.set(datetime(2026, 3, 11, 6, 59, tzinfo=UTC))
    await app.queue.drain()
    assert reminders_sent(anna) == []
    clock.advance(minutes=1)
    await app.queue.drain()
    [delivered] = reminders_sent(anna)
    assert "call Ivan <about the contract>" in delivered.text
    assert "Late" not in delivered.text
    assert delivered.buttons == [["✅ Done"], ["+15 min", "+1 hour", "Tomorrow 9:00"]]
    clock.advance(hours=1)
    await app.queue.drain()
    assert len(reminders_sent(anna)) == 1
    [r] = await reminders_of(app, 201)
    assert r.sent_at == datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


async def test_a_reminder_due_while_the_bot_was_down_comes_once_and_says_late(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    await anna.send("/remind через 2 часа отправить КП")
    clock.advance(hours=5)  # the bot was off
    await app.queue.drain()
    [delivered] = reminders_sent(anna)
    assert "отправить КП" in delivered.text
    assert "Late: it was due Tue, 10 Mar, 12:00" in delivered.text
    # the job is retried after the send (a lease expired, another instance took it): nothing more
    async with app.session_factory() as s, s.begin():
        await s.execute(update(Job).where(Job.kind == "reminder").values(status=JobStatus.pending))
    await app.queue.drain()
    assert len(reminders_sent(anna)) == 1
    async with app.session_factory() as s:
        assert (await s.scalars(select(Job.outcome).where(Job.kind == "reminder"))).all() == ["skipped"]


async def test_snooze_done_and_buttons_pressed_twice(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    await anna.send("/remind in 10 minutes check the invoice")
    clock.advance(minutes=10)
    await app.queue.drain()
    first = reminders_sent(anna)[-1]

    snoozed = await anna.press("+15 min", message=first)
    assert snoozed.callback_answer.text == "Moved to Tue, 10 Mar, 10:25."
    assert "Moved to Tue, 10 Mar, 10:25" in first.text and first.buttons == []
    again = await anna.press_data(
        ReminderCb(action="s60", reminder_id=(await reminders_of(app, 201))[0].id, version=1).pack(),
        message=first,
    )
    assert again.callback_answer.text == "Already moved to Tue, 10 Mar, 10:25."

    clock.advance(minutes=15)
    await app.queue.drain()
    second = reminders_sent(anna)[-1]
    assert second is not first and "check the invoice" in second.text

    await anna.press("+1 hour", message=second)
    clock.advance(hours=1)
    await app.queue.drain()
    third = reminders_sent(anna)[-1]
    tomorrow = await anna.press("Tomorrow 9:00", message=third)
    assert tomorrow.callback_answer.text == "Moved to Wed, 11 Mar, 09:00."
    [r] = await reminders_of(app, 201)
    assert r.due_at == datetime(2026, 3, 11, 6, 0, tzinfo=UTC) and r.version == 4 and r.sent_at is None

    clock.set(datetime(2026, 3, 11, 6, 0, tzinfo=UTC))
    await app.queue.drain()
    fourth = reminders_sent(anna)[-1]
    done = await anna.press("✅ Done", message=fourth)
    assert done.callback_answer.text == "Done."
    assert "✅ Done." in fourth.text
    twice = await anna.press_data(
        ReminderCb(action="done", reminder_id=r.id, version=4).pack(), message=fourth
    )
    assert twice.callback_answer.text == "Already done."
    late_snooze = await anna.press_data(
        ReminderCb(action="s15", reminder_id=r.id, version=4).pack(), message=fourth
    )
    assert late_snooze.callback_answer.text == "Already done."
    [r] = await reminders_of(app, 201)
    assert r.status == ReminderStatus.done
    clock.advance(days=2)
    await app.queue.drain()
    assert len(reminders_sent(anna)) == 4  # each version delivered once, nothing after Done


async def test_cancel_right_after_creating(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    created = await anna.send("/remind friday 3pm demo")
    assert "Fri, 13 Mar, 15:00" in created.last.text
    cancelled = await anna.press("✖ Cancel it")
    assert cancelled.callback_answer.text == "Cancelled."
    assert "✖ Cancelled." in created.last.text
    clock.advance(days=4)
    await app.queue.drain()
    assert [m.text for m in reminders_sent(anna)] == ["⏰ Reminder\ndemo\n✖ Cancelled."]  # the edited one


async def test_bad_input_on_every_step(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    assert "When should I remind you?" in (await anna.send("/remind")).last.text
    assert "couldn't understand the time" in (await anna.send("whenever")).last.text
    assert "already passed" in (await anna.send("today 8am")).last.text
    assert "Please send the time as text" in (await anna.send_sticker()).last.text
    assert "Please send the time as text" in (await anna.send_photo()).last.text
    asked = await anna.send("in 2 hours")
    assert "Tue, 10 Mar, 12:00. What should I remind you about?" in asked.last.text
    assert "Please send the reminder text" in (await anna.send_voice()).last.text
    long = await anna.send("x" * 1001)
    assert "1001 characters, at most 1000" in long.last.text
    done = await anna.send("y" * 1000)
    assert "I'll remind you on Tue, 10 Mar, 12:00" in done.last.text
    [r] = await reminders_of(app, 201)
    assert r.text == "y" * 1000
    # a one-liner with nonsense keeps asking for the time
    assert "couldn't understand" in (await anna.send("/remind someday call")).last.text
    assert "What should I remind you about?" in (await anna.send("tomorrow")).last.text
    assert "Cancelled" in (await anna.send("/cancel")).last.text
    assert len(await reminders_of(app, 201)) == 1


async def test_the_time_passing_while_typing_asks_again_and_keeps_the_text(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    await anna.send("/remind in 5 minutes")
    clock.advance(minutes=6)
    assert "already passed" in (await anna.send("call back")).last.text
    assert "I'll remind you" in (await anna.send("in 1 hour")).last.text
    [r] = await reminders_of(app, 201)
    assert r.text == "call back"


async def test_from_the_card_with_the_client_and_its_button(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    boris = await manager(app, tg, 202, "Boris", lang="en", language="en")
    mine = await client_record(app, 201, "Tom & <Co>")
    theirs = await client_record(app, 202, "Secret client")

    asked = await anna.press_data(
        ClientCb(action="remind", client_id=mine, version=1).pack(), message=anna.last
    )
    assert "A reminder about Tom & <Co>. When?" in asked.last.text
    assert "What should I remind you about?" in (await anna.send("tomorrow")).last.text
    created = await anna.send("call him")
    assert "Client: Tom & <Co>" in created.last.text
    [r] = await reminders_of(app, 201)
    assert r.client_id == mine

    clock.set(datetime(2026, 3, 11, 6, 0, tzinfo=UTC))
    await app.queue.drain()
    delivered = reminders_sent(anna)[-1]
    assert "Client: Tom & <Co>" in delivered.text
    assert delivered.buttons[-1] == ["👤 Open client"]
    assert (
        delivered.button("👤 Open client")["callback_data"]
        == ClientCb(action="open", client_id=mine, version=1).pack()
    )

    forged = await anna.press_data(ClientCb(action="remind", client_id=theirs).pack(), message=anna.last)
    assert "Not found" in forged.callback_answer.text and forged.callback_answer.show_alert
    forged_reminder = await boris.press_data(
        ReminderCb(action="done", reminder_id=r.id, version=1).pack(), message=boris.last
    )
    assert "Not found" in forged_reminder.callback_answer.text
    [r] = await reminders_of(app, 201)
    assert r.status == ReminderStatus.pending


async def test_customers_cannot_remind(app, tg):
    eve = tg.user(300, "Eve", language_code="en")
    assert "Not allowed" in (await eve.send("/remind tomorrow call")).last.text
    assert "Not allowed" in (await eve.send("/today")).last.text


async def test_today_groups_in_the_managers_time_zone(app, tg, clock):
    # 07:00 UTC is 17:00 in Vladivostok (UTC+10)
    vera = await manager(app, tg, 203, "Vera", tz="Asia/Vladivostok", lang="en", language="en")
    client = await client_record(app, 203, "<b>Tom</b> & Co")
    await add_reminder(app, 203, "overdue one", datetime(2026, 3, 10, 6, 0, tzinfo=UTC), client)
    await add_reminder(app, 203, "tonight", datetime(2026, 3, 10, 10, 0, tzinfo=UTC))  # 20:00 local
    await add_reminder(app, 203, "late tonight", datetime(2026, 3, 10, 13, 30, tzinfo=UTC))  # 23:30 local
    await add_reminder(app, 203, "tomorrow morning", datetime(2026, 3, 10, 23, 0, tzinfo=UTC))  # 09:00
    await add_reminder(app, 203, "too far", datetime(2026, 3, 11, 14, 30, tzinfo=UTC))  # 00:30 on the 12th
    other = await manager(app, tg, 204, "Other", lang="en", language="en")
    await add_reminder(app, 204, "not Vera's", datetime(2026, 3, 10, 10, 0, tzinfo=UTC))

    text = (await vera.send("/today")).last.text
    assert text.split("\n") == [
        "📋 My reminders — Tuesday, 10 March",
        "",
        "⚠️ Overdue (1)",
        "• 10 Mar, 16:00 — overdue one · 👤 <b>Tom</b> & Co",
        "",
        "📅 Today (2)",
        "• 20:00 — tonight",
        "• 23:30 — late tonight",
        "",
        "🗓 Tomorrow (1)",
        "• 09:00 — tomorrow morning",
    ]
    empty = (await other.send("/today")).last.text
    assert "• 13:00 — not Vera's" in empty  # the other manager's own list, in Moscow time
    async with app.session_factory() as s, s.begin():
        await s.execute(update(Reminder).where(Reminder.owner_id == 204).values(status=ReminderStatus.done))
    assert "Nothing overdue" in (await other.send("/today")).last.text


async def test_today_with_too_many_fits_one_message(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    async with app.session_factory() as s, s.begin():
        for i in range(300):
            await reminders_service.create(
                s,
                201,
                f"reminder number {i} " + "ж" * 80,
                clock.now() - timedelta(minutes=i + 1),
                clock.now(),
            )
    reply = (await anna.send("/today")).last
    assert visible_length(reply.html) <= 4096
    assert "⚠️ Overdue (300)" in reply.text
    assert reply.text.rstrip().endswith("more.")


async def test_overdue_is_for_admins_grouped_by_manager(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    await manager(app, tg, 202, "Boris <the best>", lang="en", language="en")
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    now = clock.now()
    await add_reminder(app, 201, "anna old", now - timedelta(hours=30))
    await add_reminder(app, 201, "anna recent", now - timedelta(hours=2))  # not yet "overdue" for admins
    await add_reminder(app, 202, "boris old 1", now - timedelta(days=3))
    await add_reminder(app, 202, "boris old 2", now - timedelta(days=2))

    assert "Not allowed" in (await anna.send("/overdue")).last.text
    text = (await admin.send("/overdue")).last.text
    assert text.split("\n") == [
        "⏰ Overdue by more than 24 h: 3",
        "",
        "👤 Boris <the best> — 2",
        "• 7 Mar, 10:00 — boris old 1",
        "• 8 Mar, 10:00 — boris old 2",
        "",
        "👤 Anna — 1",
        "• 9 Mar, 04:00 — anna old",
    ]
    async with app.session_factory() as s, s.begin():
        await s.execute(update(Reminder).values(status=ReminderStatus.done))
    assert "No reminders overdue by more than 24 h" in (await admin.send("/overdue")).last.text


async def test_russian_texts(app, tg, clock):
    ivan = await manager(app, tg, 205, "Иван", lang="ru", language="ru")
    created = await ivan.send("/remind в пятницу 15:00 позвонить")
    assert "Напомню пт, 13 мар., 15:00" in created.last.text
    assert "Не понял время" in (await ivan.send("/remind когда-нибудь")).last.text
    clock.set(datetime(2026, 3, 13, 12, 0, tzinfo=UTC))
    await app.queue.drain()
    assert ivan.last.text.startswith("⏰ Напоминание")
    assert ivan.last.buttons[1] == ["+15 мин", "+1 час", "Завтра 9:00"]
