"""End to end: /draws through the fake Bot API — an admin picks a saved segment, types a prize (too
long first; escaped when shown) and a closing time (a past one first), announces (a second press is
refused); the reachable participant is told with the commitment, the others aren't; the clock moves
past closing and the jobs run: the admin gets the seed and the participants file, and the test
recomputes the winner from them with hashlib alone; the winner is told, the owner manager has the
reminder; every job run again (a replay after a crash) changes nothing and sends nothing twice. An
empty segment can't be announced, a draft can be called off, and neither a manager nor a customer can
use /draws."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import func, select

from bot.callbacks import DrawAction, DrawCb
from models.clients import ClientStatus
from models.consent import ClientConsent, Purpose
from models.draws import Draw, DrawStatus
from models.reminders import Reminder
from models.segments import SavedSegment
from services import draws as draws_service
from services.queue import enqueue
from tests.conftest import ADMIN_ID
from tests.support.people import client_record, linked_customer, manager

ANNA, IVAN, PETR = 200, 300, 301


def documents(person) -> list:
    return [m for m in person.messages if m.document]


def download(tg, message) -> bytes:
    stored = tg.files.get(message.file_id)
    assert stored is not None, message
    return stored.content


async def seed(app, tg) -> dict[str, object]:
    """Anna's active clients: Ivan (linked, offers agreed), Petr (linked, no consent), Maria (not
    linked); Oleg is a prospect. The admin's segments: "Active" and "Inactive" (nobody)."""
    ivan, ivan_person = await linked_customer(app, tg, ANNA, IVAN, "Ivan", status=ClientStatus.active)
    petr, petr_person = await linked_customer(app, tg, ANNA, PETR, "Petr", status=ClientStatus.active)
    maria = await client_record(app, ANNA, "Maria", status=ClientStatus.active)
    await client_record(app, ANNA, "Oleg", status=ClientStatus.prospect)
    async with app.session_factory() as s, s.begin():
        now = app.clock.now()
        s.add(ClientConsent(client_id=ivan, purpose=Purpose.marketing, granted=True, updated_at=now))
        for name, status in (("Active", "active"), ("Inactive", "inactive")):
            conditions = {"v": 1, "conditions": [{"field": "status", "values": [status]}]}
            s.add(SavedSegment(name=name, name_key=name.lower(), created_by=ADMIN_ID, conditions=conditions))
    return {
        "ivan": ivan,
        "petr": petr,
        "maria": maria,
        "ivan_person": ivan_person,
        "petr_person": petr_person,
    }


def seed_for(ids: list[int], wanted: int) -> str:
    """A seed whose draw (by the published formula) picks `wanted`, so the test knows who wins."""
    for i in range(1000):
        candidate = f"{i:064x}"
        if ids[int(hashlib.sha256(candidate.encode()).hexdigest(), 16) % len(ids)] == wanted:
            return candidate
    raise AssertionError("no seed found")


async def test_admin_runs_a_draw_and_anyone_can_recompute_the_winner(app, tg, clock, monkeypatch):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    people = await seed(app, tg)
    ids = sorted([people["ivan"], people["petr"], people["maria"]])
    monkeypatch.setattr(draws_service, "new_seed", lambda: seed_for(ids, people["ivan"]))

    listed = (await admin.send("/draws")).last
    assert "No draws yet" in listed.text
    segments = (await admin.press("➕ New draw", message=listed)).last
    assert "🎯 Active" in segments.labels and "🎯 Inactive" in segments.labels
    prompt = (await admin.press("🎯 Active", message=segments)).last
    assert "Type the prize" in prompt.text and "clients now: 3" in prompt.text
    assert "too long" in (await admin.send("x" * 201)).last.text
    asked = (await admin.send("<b>Phone</b> & case")).last
    assert "When does the draw close" in asked.text
    assert "already passed" in (await admin.send("01.03.2026 10:00")).last.text
    assert "couldn't understand" in (await admin.send("someday")).last.text
    draft = (await admin.send("tomorrow 18:00")).last
    assert "&lt;b&gt;Phone&lt;/b&gt; &amp; case" in draft.html
    assert "draft, not announced" in draft.text and "Closes: 11 Mar 2026, 18:00" in draft.text
    announce = draft.button("📣 Announce")["callback_data"]

    shown = (await admin.press_data(announce, message=draft)).last
    assert "Announced among 3 participants: 1 of them are being told now, 2 can't be reached" in shown.text
    again = await admin.press_data(announce, message=draft)
    assert "changed meanwhile" in again.callback_answer.text
    async with app.session_factory() as s:
        draw = await s.scalar(select(Draw))
        assert draw.status == DrawStatus.announced and draw.participants == 3
        commitment = draw.commitment
    assert commitment in shown.text

    await app.queue.drain()
    [told] = [m for m in people["ivan_person"].messages if m.text and commitment in m.text]
    assert "Phone" in told.text
    assert not [m for m in people["petr_person"].messages if m.text and commitment in m.text]

    # staff who aren't admins and customers can't use it
    assert "Not allowed" in (await anna.send("/draws")).last.text
    assert "⛔" in (await people["ivan_person"].send("/draws")).last.text
    forged = await people["ivan_person"].press_data(DrawCb(action=DrawAction.file, id=draw.id).pack())
    assert "⛔" in forged.callback_answer.text

    # closing time: the jobs publish the seed and the file
    clock.set(draw.closes_at + timedelta(seconds=1))
    await app.queue.drain()
    await app.queue.drain()
    [result] = [m for m in admin.messages if m.text and "closed" in m.text and "Seed:" in m.text]
    published_seed = re.search(r"Seed: ([0-9a-f]{64})", result.text).group(1)
    [doc] = documents(admin)
    lines = download(tg, doc).decode().splitlines()
    participants = [int(x) for x in lines]
    assert participants == sorted(participants) and len(participants) == 3

    # recomputed independently: the commitment told to participants, then the formula over the file
    assert hashlib.sha256(published_seed.encode()).hexdigest() == commitment
    winner = participants[int(hashlib.sha256(published_seed.encode()).hexdigest(), 16) % len(participants)]
    assert winner == people["ivan"]
    assert f"client #{winner}" in result.text
    async with app.session_factory() as s:
        draw = await s.get(Draw, draw.id)
        assert draw.status == DrawStatus.closed and draw.winner_client_id == winner

    won = [m for m in people["ivan_person"].messages if "Вы выиграли" in (m.text or "")]
    assert len(won) == 1 and "Phone" in won[0].text  # in Russian, the customer's language
    async with app.session_factory() as s:
        [reminder] = (await s.scalars(select(Reminder).where(Reminder.owner_id == ANNA))).all()
    assert reminder.client_id == winner and "Hand over the prize" in reminder.text
    assert any("Hand over the prize" in (m.text or "") for m in anna.messages)  # delivered, due now

    # every job run again (a crash replayed them): still one winner, one reminder, and no message twice
    replays = [
        (draws_service.CLOSE_JOB, {"draw_id": draw.id}),
        (draws_service.PUBLISH_JOB, {"draw_id": draw.id}),
        (draws_service.WINNER_JOB, {"draw_id": draw.id}),
        (draws_service.TELL_JOB, {"draw_id": draw.id, "client_id": people["ivan"]}),
    ]
    async with app.session_factory() as s, s.begin():
        for n, (kind, payload) in enumerate(replays):
            await enqueue(s, kind, payload, clock.now(), key=f"replay:{n}")
    await app.queue.drain()
    await app.queue.drain()
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(Reminder)) == 1
        assert (await s.get(Draw, draw.id)).winner_client_id == winner
    assert len(documents(admin)) == 1
    assert len([m for m in admin.messages if m.text and "Seed:" in m.text]) == 1
    assert len([m for m in people["ivan_person"].messages if "Вы выиграли" in (m.text or "")]) == 1
    assert len([m for m in people["ivan_person"].messages if commitment in (m.text or "")]) == 1

    # /draws shows the result, and the participants file on request
    listed = (await admin.send("/draws")).last
    opened = (await admin.press(f"🎁 #{draw.id} <b>Phone</b> & case", message=listed)).last
    assert published_seed in opened.text and "Winner: Ivan" in opened.text
    assert "Told about it: 1; not delivered: 0" in opened.text
    await admin.press("📄 Participants", message=opened)
    assert download(tg, documents(admin)[-1]).decode().splitlines() == lines


async def test_empty_segment_is_refused_and_a_draft_can_be_called_off(app, tg):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    await manager(app, tg, ANNA, "Anna", lang="en")
    await seed(app, tg)

    await admin.send("/draws")
    await admin.press("➕ New draw")
    await admin.press("🎯 Inactive")
    await admin.send("Mug")
    draft = (await admin.send("in 2 hours")).last
    refused = await admin.press("📣 Announce", message=draft)
    assert "Nobody is in this segment" in refused.callback_answer.text
    async with app.session_factory() as s:
        draw = await s.scalar(select(Draw))
        assert draw.status == DrawStatus.draft and draw.seed is None

    shown = refused.last if refused else draft
    confirm = (await admin.press("✖ Cancel the draw", message=shown)).last
    assert "Call off the draw" in confirm.text
    drop = confirm.button("✖ Yes, call it off")["callback_data"]
    done = (await admin.press_data(drop, message=confirm)).last
    assert "called off" in done.text and "cancelled" in done.text
    again = await admin.press_data(drop, message=confirm)
    assert "changed meanwhile" in again.callback_answer.text
