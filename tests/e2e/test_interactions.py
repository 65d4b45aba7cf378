"""End to end: logging a contact from the card or /log, with a voice note and a next step; history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.callbacks import ChoiceCb, ClientCb
from models.clients import Client
from models.deals import Deal
from models.interactions import Interaction, InteractionKind, InteractionOutcome
from models.reminders import Reminder
from tests.conftest import ADMIN_ID
from tests.support.people import client_record, manager
from tests.support.workspace import reminders_of, reminders_sent

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)  # the conftest clock: 10:00 in Moscow


async def open_log(person, client_id: int):
    return await person.press_data(
        ClientCb(action="log", client_id=client_id, version=1).pack(), message=person.last
    )


async def entries(app, client_id: int) -> list[Interaction]:
    async with app.session_factory() as s:
        rows = await s.scalars(
            select(Interaction).where(Interaction.client_id == client_id).order_by(Interaction.id)
        )
        return list(rows.all())


async def client_row(app, client_id: int) -> Client:
    async with app.session_factory() as s:
        return await s.get(Client, client_id)


async def test_log_from_the_card_with_a_voice_note_and_a_next_step(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    cid = await client_record(app, 201, "Tom <Hanks>")
    async with app.session_factory() as s, s.begin():
        s.add(
            Deal(
                client_id=cid, owner_id=201, title="Big", stage="new", currency="RUB",
                last_activity_at=NOW - timedelta(days=30), nudged_at=NOW - timedelta(days=1),
            )
        )  # fmt: skip

    asked = await open_log(anna, cid)
    assert asked.last.text == "📝 A contact with Tom <Hanks>. What was it?"
    assert asked.last.buttons == [
        ["📞 Call", "🤝 Meeting", "💬 Message"],
        ["✉️ Email", "📝 Other"],
        ["✖ Cancel"],
    ]
    outcome = await anna.press("📞 Call")
    assert "How did it go?" in outcome.last.text
    note = await anna.press("✅ Reached")
    assert "Add a note" in note.last.text
    nxt = await anna.send_voice(duration=7)
    assert "A next step?" in nxt.last.text
    done = await anna.send("friday 15:00 send the <offer>")
    assert done.last.text.split("\n") == [
        "✅ Logged: 📞 Call · ✅ Reached with Tom <Hanks>.",
        "🎤 Voice note kept.",
        "📌 Next step Fri, 13 Mar, 15:00: send the <offer>",
    ]
    assert done.last.buttons == [["📜 History", "👤 Open client"]]
    assert (
        done.last.button("👤 Open client")["callback_data"]
        == ClientCb(action="open", client_id=cid, version=2).pack()
    )

    [entry] = await entries(app, cid)
    assert (entry.kind, entry.outcome, entry.author_id) == (
        InteractionKind.call,
        InteractionOutcome.reached,
        201,
    )
    assert entry.voice_file_id and entry.note is None
    client = await client_row(app, cid)
    assert client.last_contact_at == NOW and client.version == 2
    async with app.session_factory() as s:
        deal = (await s.scalars(select(Deal))).one()
        assert deal.last_activity_at == NOW and deal.nudged_at is None
    [reminder] = await reminders_of(app, 201)
    assert (reminder.text, reminder.client_id) == ("send the <offer>", cid)
    assert reminder.due_at == datetime(2026, 3, 13, 12, 0, tzinfo=UTC)

    # the next step arrives at its time, about the client
    clock.set(reminder.due_at)
    await app.queue.drain()
    assert "Client: Tom <Hanks>" in reminders_sent(anna)[-1].text

    # the history shows the entry and plays the voice note back
    hist = await anna.press("📜 History", message=done.last)
    assert hist.last.text.split("\n") == [
        "📜 History: Tom <Hanks> — 1",
        "",
        "10 Mar 2026, 10:00 · 📞 Call · ✅ Reached · Anna",
        "🎤 voice note: ▶ below",
    ]
    played = await anna.press("▶ Voice note, 10 Mar, 10:00")
    assert played.last.data.get("voice", {}).get("file_id") == entry.voice_file_id
    assert played.last.text == "🎤 Tom <Hanks>, 10 Mar 2026, 10:00"


async def test_log_command_search_text_note_and_skip(app, tg, clock):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    await manager(app, tg, 202, "Boris", lang="en", language="en")
    tom = await client_record(app, 201, "Tom Sawyer", company="Raft & Co")
    await client_record(app, 201, "Huck Finn")
    await client_record(app, 202, "Tom Thumb")  # Boris's: Anna never sees it

    assert "Whom did you contact?" in (await anna.send("/log")).last.text
    assert "No clients found" in (await anna.send("Becky")).last.text
    assert "Whom did you contact?" in (await anna.send_sticker()).last.text
    found = await anna.send("tom")
    assert found.last.text == "Choose the client:"
    assert found.last.buttons == [["Tom Sawyer · Raft & Co"]]
    await anna.press("Tom Sawyer · Raft & Co")
    await anna.press("🤝 Meeting")
    await anna.press("👍 Agreed")
    assert "too long" in (await anna.send("n" * 1001)).last.text
    assert "as text or a voice message" in (await anna.send_photo()).last.text
    await anna.send("They <agreed> & signed")
    assert "next step as text" in (await anna.send_sticker()).last.text
    assert "couldn't understand the time" in (await anna.send("someday maybe")).last.text
    assert "already passed" in (await anna.send("today 8am call")).last.text
    saved = await anna.press("Skip »")
    assert "✅ Logged: 🤝 Meeting · 👍 Agreed with Tom Sawyer." in saved.last.text
    assert "They <agreed> & signed" in saved.last.text
    [entry] = await entries(app, tom)
    assert entry.note == "They <agreed> & signed" and entry.voice_file_id is None
    assert await reminders_of(app, 201) == []

    # an admin finds everyone's clients
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    everyone = await admin.send("/log tom")
    assert sorted(everyone.last.labels) == ["Tom Sawyer · Raft & Co", "Tom Thumb"]


async def test_next_step_time_then_text(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    cid = await client_record(app, 201, "Ivan")
    await open_log(anna, cid)
    await anna.press("💬 Message")
    await anna.press("📵 No answer")
    await anna.press("Skip »")
    asked = await anna.send("tomorrow 10am")
    assert "Wed, 11 Mar, 10:00. What is the next step?" in asked.last.text
    assert "Please send the next step" in (await anna.send_voice()).last.text
    saved = await anna.send("write again")
    assert "📌 Next step Wed, 11 Mar, 10:00: write again" in saved.last.text
    [r] = await reminders_of(app, 201)
    assert r.client_id == cid and r.text == "write again"


async def test_buttons_twice_cancel_and_forged_callbacks(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    boris = await manager(app, tg, 202, "Boris", lang="en", language="en")
    mine = await client_record(app, 201, "Mine")
    theirs = await client_record(app, 202, "Theirs")

    kinds = (await open_log(anna, mine)).last
    await anna.press("📞 Call", message=kinds)
    twice = await anna.press_data(ChoiceCb(step="lk", value="email").pack(), message=kinds)
    assert "This step is over" in twice.callback_answer.text
    bad = await anna.press_data(ChoiceCb(step="lo", value="exploded").pack(), message=kinds)
    assert "no longer valid" in bad.callback_answer.text
    cancelled = await anna.press("✖ Cancel")
    assert "Cancelled. Nothing was saved." in cancelled.last.text
    assert await entries(app, mine) == []

    for action in ("log", "history"):
        forged = await anna.press_data(ClientCb(action=action, client_id=theirs).pack(), message=anna.last)
        assert "Not found" in forged.callback_answer.text and forged.callback_answer.show_alert
    # Boris logs a voice note on his client; Anna can't play it, even naming its id
    await open_log(boris, theirs)
    await boris.press("📞 Call")
    await boris.press("• Other")
    await boris.send_voice()
    await boris.press("Skip »")
    [entry] = await entries(app, theirs)
    forged = await anna.press_data(
        ClientCb(action="voice", client_id=theirs, arg=entry.id).pack(), message=anna.last
    )
    assert "Not found" in forged.callback_answer.text
    forged = await anna.press_data(
        ClientCb(action="voice", client_id=mine, arg=entry.id).pack(), message=anna.last
    )
    assert "Not found" in forged.callback_answer.text

    eve = tg.user(300, "Eve", language_code="en")
    assert "Not allowed" in (await eve.send("/log")).last.text
    assert (
        "Not allowed"
        in (
            await eve.press_data(ClientCb(action="log", client_id=mine).pack(), message=eve.last)
        ).callback_answer.text
    )


async def test_history_is_newest_first_and_paged(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    cid = await client_record(app, 201, "Paged")
    async with app.session_factory() as s, s.begin():
        for i in range(7):
            s.add(
                Interaction(
                    client_id=cid, author_id=201, kind=InteractionKind.call,
                    outcome=InteractionOutcome.reached, note=f"note {i} <x>" + "ж" * 990,
                    occurred_at=NOW - timedelta(days=7 - i), created_at=NOW,
                )
            )  # fmt: skip
    first = await anna.press_data(ClientCb(action="history", client_id=cid).pack(), message=anna.last)
    text = first.last.text
    assert text.startswith("📜 History: Paged — 7")
    assert text.index("note 6 <x>") < text.index("note 5 <x>") < text.index("note 2 <x>")
    assert "note 1 <x>" not in text
    assert first.last.buttons[-3:] == [["Older ▶"], ["🕓 Changes"], ["📝 Log a contact", "« Client"]]
    older = await anna.press("Older ▶")
    assert "note 1 <x>" in older.last.text and "note 0 <x>" in older.last.text
    assert "note 2 <x>" not in older.last.text
    assert older.last.buttons[0] == ["◀ Newer"]
    # a page past the end (a stale button) shows the last page: here, unchanged
    stale = await anna.press_data(
        ClientCb(action="history", client_id=cid, page=9).pack(), message=older.last
    )
    assert stale.callback_answer is not None and "note 0 <x>" in older.last.text
    empty = await client_record(app, 201, "Nobody")
    none = await anna.press_data(ClientCb(action="history", client_id=empty).pack(), message=anna.last)
    assert "No contacts logged yet" in none.last.text


async def test_the_reminder_from_the_log_is_the_client_owners(app, tg):
    """An admin logging a manager's client: the next step goes to the client's owner."""
    await manager(app, tg, 201, "Anna", lang="en", language="en")
    cid = await client_record(app, 201, "Anna's client")
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    await open_log(admin, cid)
    await admin.press("📞 Call")
    await admin.press("✅ Reached")
    await admin.send("call went well")
    await admin.send("tomorrow 11:00 follow up")
    async with app.session_factory() as s:
        r = (await s.scalars(select(Reminder))).one()
    assert (r.owner_id, r.created_by, r.client_id) == (201, ADMIN_ID, cid)
