"""End to end: drip sequences through the fake Bot API. An admin builds one with buttons (the name, the
steps' delays from buttons and typed, texts per language with their placeholders checked, the trigger,
Activate), refused politely at every bad input (a sticker, too long, an unknown placeholder, a bad
delay, a button pressed late or twice, a forged one); customers linking their account are enrolled and
get step 1 then, two days later, step 2, each exactly once and in their language. A drip stops by the
customer's reply and by a purchase; a manager enrols and stops one from the card (the next step shown
in the viewer's time zone); the weekly limit is shared with broadcasts (a capped step waits, counted);
a send a crash interrupted becomes "unknown" and is never sent again; managers and customers can't
reach /sequences. A step may be a photo or a document with its caption (the caption limit checked) and
carry link buttons as broadcasts do; its texts are replaced, the sequence renamed, and a step deleted
while customers are in it: each gets the remaining steps once, none skipped or repeated."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from bot.callbacks import CardAction, ClientCb, SequenceAction, SequenceCb
from models.campaigns import Campaign, CampaignDelivery, CampaignSettings, CampaignStatus, DeliveryStatus
from models.clients import Client
from models.consent import ClientConsent, Purpose
from models.jobs import Job, JobStatus
from models.sequences import (
    Enrolment,
    EnrolmentStatus,
    Sequence,
    SequenceDelivery,
    SequenceStep,
    StepStatus,
    Trigger,
)
from models.users import Role, User
from services.errors import DomainError
from services.loyalty.purchases import record_purchase
from services.sequences import build, hooks, sending
from tests.conftest import ADMIN_ID
from tests.support.checks import answered, no_apology
from tests.support.people import linked_customer, manager

IVAN, JOHN, PETR, MARIA, ANNA = 401, 402, 403, 404, 410
DAY = timedelta(days=1)
CUSTOMER_INVITE = re.compile(r"https://t\.me/crm_test_bot\?start=(c_[A-Za-z0-9_-]+)")


async def agree(app, *client_ids: int) -> None:
    async with app.session_factory() as s, s.begin():
        for client_id in client_ids:
            s.add(
                ClientConsent(
                    client_id=client_id, purpose=Purpose.marketing, granted=True, updated_at=app.clock.now()
                )
            )


def got(person, contains: str) -> list[str]:
    return [m.text or "" for m in person.messages if contains in (m.text or "")]


async def make_sequence(
    app, name: str, steps: list[tuple[int, dict[str, str]]], trigger: Trigger = Trigger.manual, arg=None
) -> int:
    """An active sequence written straight into the database (the builder has its own test)."""
    async with app.session_factory() as s, s.begin():
        seq = Sequence(
            name=name,
            created_by=ADMIN_ID,
            default_language="ru",
            trigger=trigger,
            trigger_arg=arg,
            active=True,
            activated_at=app.clock.now(),
            created_at=app.clock.now(),
        )
        s.add(seq)
        await s.flush()
        for n, (delay, texts) in enumerate(steps, start=1):
            s.add(
                SequenceStep(
                    sequence_id=seq.id, position=n, delay_minutes=delay, texts=texts, interested=False
                )
            )
        return seq.id


async def enrol(app, sequence_id: int, client_id: int) -> int:
    async with app.session_factory() as s, s.begin():
        seq = await s.get(Sequence, sequence_id)
        enrolment = await hooks.enrol(s, seq, client_id, "manual", app.clock.now())
        assert enrolment is not None
        return enrolment.id


async def enrolment_of(app, client_id: int) -> Enrolment:
    async with app.session_factory() as s:
        return await s.scalar(
            select(Enrolment).where(Enrolment.client_id == client_id).order_by(Enrolment.id.desc())
        )


async def linked_by_invite(admin, tg, uid: int, name: str, language: str) -> object:
    """The admin adds the client and presses 📲 Invite to bot on its card; the customer opens the link."""
    await admin.send(f"/add {name}")
    await admin.send(f"/find {name.split()[0]}")
    text = (await admin.press("📲 Invite to bot")).last.text
    match = CUSTOMER_INVITE.search(text)
    assert match, text
    payload = match.group(1)
    person = tg.user(uid, name.split()[0], language_code=language)
    await person.send(f"/start {payload}")
    return person


async def client_id_of(app, uid: int) -> int:
    async with app.session_factory() as s:
        return await s.scalar(select(Client.id).where(Client.telegram_id == uid))


async def test_an_admin_builds_a_sequence_and_linked_customers_get_each_step_once_in_their_language(
    app, tg, clock
):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    listing = (await admin.send("/sequences")).last
    assert "None yet" in listing.text
    await admin.press("➕ New sequence", message=listing)
    assert "Please type text" in (await admin.send_sticker()).last.text
    assert "too long: at most 60" in (await admin.send("W" * 61)).last.text
    screen = (await admin.send("Welcome")).last
    assert "Welcome" in screen.text and "inactive" in screen.text and "No steps yet" in screen.text
    assert "Add at least one step" in (await admin.press("▶️ Activate", message=screen)).callback_answer.text

    # step 1: at once, two languages
    delay_prompt = (await admin.press("➕ Add step", message=screen)).last
    assert "after enrolment" in delay_prompt.text
    assert "didn't understand the delay" in (await admin.send("soon")).last.text
    assert "at most 90 days" in (await admin.send("100d")).last.text
    prompt = (await admin.press("at once", message=delay_prompt)).last
    assert "Type the message in" in prompt.text and "{first_name}" in prompt.text
    again = await admin.press("at once", message=delay_prompt)  # pressed twice: the dialog moved on
    assert "dialog is over" in again.callback_answer.text
    refused = (await admin.send("Hi {name}")).last
    assert "Unknown placeholder {name}" in refused.text
    assert "Too long" in (await admin.send("x" * 4050 + " {first_name}")).last.text
    assert "Please type text" in (await admin.send_sticker()).last.text
    other = (await admin.send("Привет, {first_name}! Шаг 1.")).last
    assert "Skip" in other.labels
    added = (await admin.send("Hi {first_name}! Step 1.")).last
    assert "Step 1 added" in added.text and "first, at once after enrolment" in added.text

    # step 2: typed delay, the other language skipped
    delay_prompt = (await admin.press("➕ Add step", message=added)).last
    assert "after the previous message" in delay_prompt.text
    assert "Delay: 2 d" in (await admin.send("2d")).last.text
    other = (await admin.send("Шаг 2, {first_name}.")).last
    screen = (await admin.press("Skip", message=other)).last
    assert "Step 2 added" in screen.text and "2 d after the previous one" in screen.text
    late = await admin.press("Skip", message=other)
    assert "dialog is over" in late.callback_answer.text

    # the trigger, then Activate (twice)
    menu = (await admin.press("🎯 Trigger", message=screen)).last
    screen = (await admin.press("📲 Account linked", message=menu)).last
    assert "links their account" in screen.text
    activate = screen.button("▶️ Activate")["callback_data"]
    on = await admin.press_data(activate, message=screen)
    assert "Active" in on.callback_answer.text and "🟢 active" in on.last.text
    twice = await admin.press_data(activate, message=screen)
    assert "already active" in twice.callback_answer.text
    assert (
        "Deactivate the sequence first"
        in (await admin.press("🎯 Trigger", message=on.last)).callback_answer.text
    )
    forged = await admin.press_data(SequenceCb(action=SequenceAction.open, id=9999).pack())
    assert "Not found" in forged.callback_answer.text

    # two customers link their accounts: each is enrolled once
    ivan = await linked_by_invite(admin, tg, IVAN, "Ivan Petrov", "ru")
    john = await linked_by_invite(admin, tg, JOHN, "John Smith", "en")
    ivan_id, john_id = await client_id_of(app, IVAN), await client_id_of(app, JOHN)
    await agree(app, ivan_id, john_id)
    await app.queue.drain()
    [first_ru] = [m for m in ivan.messages if "Шаг 1" in (m.text or "")]
    assert first_ru.text == "Привет, Ivan! Шаг 1."
    assert first_ru.buttons == [["🔕 Отписаться"]]
    assert got(john, "Hi John! Step 1.") and not got(john, "Шаг 1")
    await app.queue.drain()
    await app.scheduler.plan()
    await app.queue.drain()
    assert len(got(ivan, "Шаг 1")) == 1 and len(got(john, "Step 1")) == 1

    clock.advance(2 * DAY - timedelta(minutes=1))
    await app.queue.drain()
    assert not got(ivan, "Шаг 2")
    clock.advance(minutes=1)
    await app.queue.drain()
    await app.scheduler.plan()
    await app.queue.drain()
    assert got(ivan, "Шаг 2, Ivan.") == ["Шаг 2, Ivan."]
    assert got(john, "Шаг 2, John.") == ["Шаг 2, John."]  # no English text: the default one
    for client_id in (ivan_id, john_id):
        e = await enrolment_of(app, client_id)
        assert e.status == EnrolmentStatus.done
    async with app.session_factory() as s:
        rows = (await s.scalars(select(SequenceDelivery))).all()
        assert len(rows) == 4 and {r.status for r in rows} == {StepStatus.sent}

    figures = (await admin.send("/sequences")).last
    report = (await admin.press("🟢 Welcome", message=figures)).last
    assert report.text.count("Sent: 2") == 2 and "finished: 2" in report.text


async def test_a_reply_from_the_customer_stops_the_drip(app, tg, clock):
    client_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Ivan")
    await agree(app, client_id)
    seq = await make_sequence(app, "Reply", [(0, {"ru": "Первое"}), (60, {"ru": "Второе"})])
    await enrol(app, seq, client_id)
    await app.queue.drain()
    assert got(ivan, "Первое") == ["Первое"]
    await ivan.send("Спасибо, позвоните мне")
    e = await enrolment_of(app, client_id)
    assert e.status == EnrolmentStatus.stopped and e.stop_reason == "replied"
    clock.advance(hours=2)
    await app.scheduler.plan()
    await app.queue.drain()
    assert not got(ivan, "Второе")
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    report = (await admin.press("🟢 Reply", message=(await admin.send("/sequences")).last)).last
    assert "Stopped after it: 1" in report.text and "stopped: 1" in report.text


async def test_a_purchase_stops_the_drip(app, tg, clock):
    client_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Ivan")
    await agree(app, client_id)
    seq = await make_sequence(
        app, "Buy", [(0, {"ru": "Купите"}), (DAY.seconds // 60 + 1440, {"ru": "Ну купите"})]
    )
    await enrol(app, seq, client_id)
    await app.queue.drain()
    assert got(ivan, "Купите") == ["Купите"]
    async with app.session_factory() as s, s.begin():
        admin_user = await s.get(User, ADMIN_ID)
        if admin_user is None:
            admin_user = User(id=ADMIN_ID, first_name="Olga", role=Role.admin)
            s.add(admin_user)
            await s.flush()
        await record_purchase(s, admin_user, client_id, "seq-buy-1", Decimal(500), "RUB", 0, app.clock.now())
    e = await enrolment_of(app, client_id)
    assert e.status == EnrolmentStatus.stopped and e.stop_reason == "purchase"
    clock.advance(days=2)
    await app.scheduler.plan()
    await app.queue.drain()
    assert not got(ivan, "Ну купите")


async def test_double_taps_in_one_batch_write_once_and_answer_both(app, tg, clock):
    """Both presses of Enrol, Stop, Activate and a step's Delete reach the bot in one getUpdates
    batch: one enrolment, one stop, one activation, one deletion; every press answered, no apology."""
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    client_id, _ivan = await linked_customer(app, tg, ANNA, IVAN, "Ivan Batch")
    await agree(app, client_id)
    await make_sequence(app, "Twice", [(30, {"ru": "Раз"}), (60, {"ru": "Два"})])
    card = (await anna.press_data(ClientCb(action=CardAction.open, client_id=client_id).pack())).last
    panel = (await anna.press("📨 Drip sequences", message=card)).last
    enrol_data = panel.button("➕ Enrol in «Twice»")["callback_data"]
    first, second = await tg.send_batch(
        anna.press_data(enrol_data, message=panel), anna.press_data(enrol_data, message=panel)
    )
    assert "Enrolled in «Twice»" in first.callback_answer.text
    assert "already in this sequence" in second.callback_answer.text
    answered(tg, first, second)
    no_apology(tg, anna, first, second)
    async with app.session_factory() as s:
        enrolments = (await s.scalars(select(Enrolment).where(Enrolment.client_id == client_id))).all()
        jobs = (await s.scalars(select(Job).where(Job.kind == hooks.SEND_JOB))).all()
    assert len(enrolments) == 1 and len(jobs) == 1

    panel = anna.last  # the panel, edited: now with Stop
    stop_data = panel.button("⏹ Stop «Twice»")["callback_data"]
    first, second = await tg.send_batch(
        anna.press_data(stop_data, message=panel), anna.press_data(stop_data, message=panel)
    )
    assert "stopped for this client" in first.callback_answer.text
    assert "already stopped" in second.callback_answer.text
    answered(tg, first, second)
    no_apology(tg, anna, first, second)
    assert (await enrolment_of(app, client_id)).stop_reason == "manager"

    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    async with app.session_factory() as s, s.begin():
        await s.execute(update(Sequence).where(Sequence.name == "Twice").values(active=False))
    screen = (await admin.press("⚪️ Twice", message=(await admin.send("/sequences")).last)).last
    activate = screen.button("▶️ Activate")["callback_data"]
    first, second = await tg.send_batch(
        admin.press_data(activate, message=screen), admin.press_data(activate, message=screen)
    )
    assert "already active" in second.callback_answer.text
    answered(tg, first, second)
    no_apology(tg, admin, first, second)

    step = (await admin.press("✏️ Step 1", message=screen)).last
    confirm = (await admin.press("🗑 Delete step 1", message=step)).last
    sure = confirm.button("🗑 Yes, delete step 1")["callback_data"]
    first, second = await tg.send_batch(
        admin.press_data(sure, message=confirm), admin.press_data(sure, message=confirm)
    )
    assert "Not found" in second.callback_answer.text
    answered(tg, first, second)
    no_apology(tg, admin, first, second)
    async with app.session_factory() as s:
        positions = sorted((await s.scalars(select(SequenceStep.position))).all())
    assert len([p for p in positions if p > 0]) == 1 and len([p for p in positions if p < 0]) == 1


async def test_a_manager_enrols_from_the_card_and_stops_it_there(app, tg, clock):
    anna = await manager(app, tg, ANNA, "Anna", lang="en", tz="Asia/Tokyo")
    client_id, ivan = await linked_customer(app, tg, ANNA, IVAN, "Ivan Card")
    await agree(app, client_id)
    await make_sequence(app, "Nurture", [(30, {"ru": "Раз"}), (DAY.seconds // 60 + 1440, {"ru": "Два"})])
    card = (await anna.press_data(ClientCb(action=CardAction.open, client_id=client_id).pack())).last
    panel = (await anna.press("📨 Drip sequences", message=card)).last
    assert "Not in any sequence now" in panel.text
    enrol_data = panel.button("➕ Enrol in «Nurture»")["callback_data"]
    enrolled = await anna.press_data(enrol_data, message=panel)
    assert "Enrolled in «Nurture»" in enrolled.callback_answer.text
    # 07:30 UTC is 16:30 in Tokyo, the viewer's time zone
    assert "«Nurture»: step 1 of 2 next, at 10 Mar 2026, 16:30" in enrolled.last.text
    twice = await anna.press_data(enrol_data, message=panel)
    assert "already in this sequence" in twice.callback_answer.text
    clock.advance(minutes=30)
    await app.queue.drain()
    assert got(ivan, "Раз") == ["Раз"]
    card = (await anna.press("« Card", message=card)).last
    assert "📨 Drip sequences: 1 · next step 11 Mar 2026, 16:30" in card.text  # Tokyo time
    panel = (await anna.press("📨 Drip sequences", message=card)).last
    assert "step 2 of 2 next, at 11 Mar 2026, 16:30" in panel.text
    stop_data = panel.button("⏹ Stop «Nurture»")["callback_data"]
    stopped = await anna.press_data(stop_data, message=panel)
    assert "stopped for this client" in stopped.callback_answer.text
    assert "Not in any sequence now" in stopped.last.text
    again = await anna.press_data(stop_data, message=panel)
    assert "already stopped" in again.callback_answer.text
    e = await enrolment_of(app, client_id)
    assert e.stop_reason == "manager"
    # another manager forging the buttons of Anna's client, and a customer: refused
    boris = await manager(app, tg, ANNA + 1, "Boris", lang="en")
    forged = await boris.press_data(SequenceCb(action=SequenceAction.stop, id=e.id).pack())
    assert "Not found" in forged.callback_answer.text
    seq_id = e.sequence_id
    forged = await boris.press_data(SequenceCb(action=SequenceAction.enrol, id=seq_id, arg=client_id).pack())
    assert "Not found" in forged.callback_answer.text
    denied = await ivan.press_data(SequenceCb(action=SequenceAction.enrol, id=seq_id, arg=client_id).pack())
    assert "Нет доступа" in denied.callback_answer.text
    clock.advance(days=2)
    await app.scheduler.plan()
    await app.queue.drain()
    assert not got(ivan, "Два")
    # /sequences is the admins'
    assert "Sequences" not in (await boris.send("/sequences")).last.text
    assert "Drip sequences" not in (await ivan.send("/sequences")).last.text


async def test_the_weekly_limit_is_shared_with_broadcasts(app, tg, clock):
    maria_id, maria = await linked_customer(app, tg, ADMIN_ID, MARIA, "Maria")
    petr_id, petr = await linked_customer(app, tg, ADMIN_ID, PETR, "Petr")
    await agree(app, maria_id, petr_id)
    async with app.session_factory() as s, s.begin():  # Maria: two offers in the last days (the limit: 2)
        for days in (1, 3):
            old = Campaign(
                created_by=ADMIN_ID, texts={"ru": "old"}, default_language="ru", status=CampaignStatus.done
            )
            s.add(old)
            await s.flush()
            s.add(
                CampaignDelivery(
                    campaign_id=old.id,
                    client_id=maria_id,
                    status=DeliveryStatus.sent,
                    send_after=app.clock.now(),
                    at=app.clock.now() - timedelta(days=days),
                )
            )
    seq = await make_sequence(app, "Cap", [(0, {"ru": "Капля один"}), (60, {"ru": "Капля два"})])
    await enrol(app, seq, maria_id)
    await enrol(app, seq, petr_id)
    await app.queue.drain()
    assert not got(maria, "Капля один")  # over the limit: waits, counted
    assert got(petr, "Капля один") == ["Капля один"]
    async with app.session_factory() as s:
        row = await s.scalar(select(SequenceDelivery).where(SequenceDelivery.client_id == maria_id))
        assert row.status == StepStatus.capped and row.capped == 1
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    report = (await admin.press("🟢 Cap", message=(await admin.send("/sequences")).last)).last
    assert "Waiting for the weekly limit: 1" in report.text

    clock.advance(hours=1)
    await app.queue.drain()
    assert got(petr, "Капля два") == ["Капля два"]  # Petr: two drip messages this week

    # a broadcast now: Petr is over the limit because of the drips
    chooser = (await admin.send("/broadcast")).last
    await admin.press("👥 All customers", message=chooser)
    await admin.send("Акция!")
    preview = (await admin.send("Sale!")).last
    await admin.press("🚀 Send now", message=preview)
    await app.queue.drain()
    assert not got(petr, "Акция")
    async with app.session_factory() as s:
        capped = await s.scalar(
            select(CampaignDelivery.status).where(
                CampaignDelivery.client_id == petr_id, CampaignDelivery.campaign_id > 2
            )
        )
        assert capped == DeliveryStatus.capped

    # Maria's step re-checks every 6 hours (counted each time); once her old offers are a week old it goes
    clock.advance(hours=6)
    await app.queue.drain()
    assert not got(maria, "Капля один")
    async with app.session_factory() as s:
        row = await s.scalar(select(SequenceDelivery).where(SequenceDelivery.client_id == maria_id))
        assert row.status == StepStatus.capped and row.capped == 2
    clock.advance(days=6)
    await app.scheduler.plan()
    await app.queue.drain()
    assert got(maria, "Капля один") == ["Капля один"]
    async with app.session_factory() as s:
        row = await s.scalar(
            select(SequenceDelivery)
            .where(SequenceDelivery.client_id == maria_id)
            .order_by(SequenceDelivery.id)
        )
        assert row.status == StepStatus.sent and row.capped >= 2


async def test_a_send_interrupted_by_a_crash_becomes_unknown_and_is_not_resent(app, tg, clock):
    client_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Ivan")
    await agree(app, client_id)
    seq = await make_sequence(app, "Crash", [(0, {"ru": "Раз"}), (60, {"ru": "Два"})])
    enrolment_id = await enrol(app, seq, client_id)
    # a process claimed step 1 ("sending", committed) and died before the send's result
    async with app.session_factory() as s, s.begin():
        prepared = await sending.prepare(s, enrolment_id, 999_999, app.clock.now(), "Europe/Moscow")
        assert prepared.outgoing is not None
    async with app.session_factory() as s:
        row = await s.scalar(select(SequenceDelivery))
        assert row.status == StepStatus.sending
    await app.scheduler.plan()  # after the restart: not running any more, so "unknown"
    async with app.session_factory() as s:
        row = await s.scalar(select(SequenceDelivery))
        assert row.status == StepStatus.unknown
    await app.queue.drain()
    assert not got(ivan, "Раз")  # never resent
    e = await enrolment_of(app, client_id)
    assert e.position == 2 and e.status == EnrolmentStatus.active
    clock.advance(hours=1)
    await app.queue.drain()
    assert got(ivan, "Два") == ["Два"]
    async with app.session_factory() as s:
        statuses = sorted(r.status for r in (await s.scalars(select(SequenceDelivery))).all())
        assert statuses == [StepStatus.sent, StepStatus.unknown]

    # the step's own job claimed it and died: its next run (the lease expired) finds it "sending"
    petr_id, petr = await linked_customer(app, tg, ADMIN_ID, PETR, "Petr")
    await agree(app, petr_id)
    enrolment_id = await enrol(app, seq, petr_id)
    async with app.session_factory() as s, s.begin():
        job = await s.scalar(select(Job).where(Job.kind == hooks.SEND_JOB, Job.status == JobStatus.pending))
        prepared = await sending.prepare(s, enrolment_id, job.id, app.clock.now(), "Europe/Moscow")
        assert prepared.outgoing is not None
    await app.queue.drain()
    assert not got(petr, "Раз")
    async with app.session_factory() as s:
        row = await s.scalar(select(SequenceDelivery).where(SequenceDelivery.client_id == petr_id))
        assert row.status == StepStatus.unknown
    assert (await enrolment_of(app, petr_id)).position == 2


async def test_a_blocked_bot_and_withdrawn_consent_stop_the_drip(app, tg, clock):
    client_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Ivan")
    petr_id, petr = await linked_customer(app, tg, ADMIN_ID, PETR, "Petr")
    await agree(app, client_id, petr_id)
    seq = await make_sequence(app, "Stops", [(0, {"ru": "Раз"}), (60, {"ru": "Два"})])
    await enrol(app, seq, client_id)
    await enrol(app, seq, petr_id)
    await app.queue.drain()
    [to_petr] = [m for m in petr.messages if m.text == "Раз"]
    await petr.press("🔕 Отписаться", message=to_petr)  # Unsubscribe under the step
    assert (await enrolment_of(app, petr_id)).stop_reason == "consent"
    await ivan.block_bot()
    clock.advance(hours=1)
    await app.queue.drain()
    e = await enrolment_of(app, client_id)
    assert e.status == EnrolmentStatus.stopped and e.stop_reason == "blocked"
    assert not got(petr, "Два")


async def build_one(admin, name: str, text: str):
    """An admin builds a one-step sequence ("at once", the other language skipped); its screen."""
    listing = (await admin.send("/sequences")).last
    await admin.press("➕ New sequence", message=listing)
    screen = (await admin.send(name)).last
    delay = (await admin.press("➕ Add step", message=screen)).last
    await admin.press("at once", message=delay)
    other = (await admin.send(text)).last
    return (await admin.press("Skip", message=other)).last


async def test_tag_stage_and_segment_triggers_and_a_won_deal_stops_it(app, tg, clock):
    from datetime import date

    from models.clients import ClientStatus
    from models.deals import Deal
    from models.segments import SavedSegment
    from services.clients.edit import set_field
    from services.deals.changes import Draft, change_stage
    from services.deals.changes import create as create_deal

    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    ivan_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Ivan", status=ClientStatus.prospect)
    petr_id, petr = await linked_customer(app, tg, ADMIN_ID, PETR, "Petr", status=ClientStatus.active)
    await agree(app, ivan_id, petr_id)
    async with app.session_factory() as s, s.begin():
        s.add(
            SavedSegment(
                name="Active ones",
                name_key="active ones",
                created_by=ADMIN_ID,
                conditions={"v": 1, "conditions": [{"field": "status", "values": ["active"]}]},
            )
        )
        deal = Deal(client_id=ivan_id, owner_id=ADMIN_ID, title="Big one", stage="new", created_by=ADMIN_ID)
        s.add(deal)
        s.add(CampaignSettings(id=1, weekly_cap=10))  # several drips in a row here
    # the tag trigger: one tag typed
    screen = await build_one(admin, "Tagged", "Тег добавлен")
    menu = (await admin.press("🎯 Trigger", message=screen)).last
    await admin.press("🏷 Tag added", message=menu)
    assert "Type one tag" in (await admin.send("vip gold")).last.text
    screen = (await admin.send("VIP")).last
    assert "the tag #vip is added" in screen.text
    await admin.press("▶️ Activate", message=screen)
    # the stage trigger: from the pipeline's buttons
    screen = await build_one(admin, "Proposal", "Предложение отправлено")
    menu = (await admin.press("🎯 Trigger", message=screen)).last
    stages = (await admin.press("💼 Deal enters a stage", message=menu)).last
    screen = (await admin.press(stages.buttons[2][0], message=stages)).last
    assert "a deal enters the stage" in screen.text
    await admin.press("▶️ Activate", message=screen)
    # the segment trigger: Petr is in the segment already at the activation, so only newcomers count
    screen = await build_one(admin, "Segment", "Добро пожаловать в активные")
    menu = (await admin.press("🎯 Trigger", message=screen)).last
    segments = (await admin.press("🎯 Enters a segment", message=menu)).last
    screen = (await admin.press("🎯 Active ones", message=segments)).last
    assert "the client enters the segment «Active ones»" in screen.text
    await admin.press("▶️ Activate", message=screen)

    async with app.session_factory() as s, s.begin():
        actor = await s.get(User, ADMIN_ID)
        client = await s.get(Client, ivan_id)
        await set_field(
            s,
            actor,
            client,
            client.version,
            "tags",
            "vip",
            app.clock.now(),
            region="RU",
            today=date(2026, 3, 10),
        )
    async with app.session_factory() as s, s.begin():
        actor = await s.get(User, ADMIN_ID)
        deal = await s.scalar(select(Deal))
        await change_stage(
            s, actor, deal.id, deal.version, "proposal", app.settings.deal_stages, app.clock.now()
        )
    await app.scheduler.plan()
    await app.queue.drain()
    assert got(ivan, "Тег добавлен") == ["Тег добавлен"]
    assert got(ivan, "Предложение отправлено") == ["Предложение отправлено"]
    assert not got(petr, "Добро пожаловать") and not got(ivan, "Добро пожаловать")
    # a new deal created right at that stage enrols its client too
    async with app.session_factory() as s, s.begin():
        actor = await s.get(User, ADMIN_ID)
        await create_deal(
            s, actor, petr_id, Draft("Petr's", "proposal"), app.settings.deal_stages, app.clock.now()
        )
    await app.queue.drain()
    assert got(petr, "Предложение отправлено") == ["Предложение отправлено"]

    async with app.session_factory() as s, s.begin():
        await s.execute(update(Client).where(Client.id == ivan_id).values(status=ClientStatus.active))
    await app.scheduler.plan()
    await app.queue.drain()
    assert got(ivan, "Добро пожаловать в активные") == ["Добро пожаловать в активные"]
    assert not got(petr, "Добро пожаловать")
    await app.scheduler.plan()  # checked again: nobody new
    await app.queue.drain()
    assert len(got(ivan, "Добро пожаловать")) == 1

    # a won deal stops what is running: enrol Ivan by hand in a two-step one, then win the deal
    seq = await make_sequence(app, "Long", [(60, {"ru": "Позже"})])
    await enrol(app, seq, ivan_id)
    async with app.session_factory() as s, s.begin():
        actor = await s.get(User, ADMIN_ID)
        deal = await s.scalar(select(Deal))
        await change_stage(s, actor, deal.id, deal.version, "won", app.settings.deal_stages, app.clock.now())
    assert (await enrolment_of(app, ivan_id)).stop_reason == "deal_closed"
    clock.advance(hours=2)
    await app.queue.drain()
    assert not got(ivan, "Позже")


async def test_quiet_hours_the_interested_button_and_deactivation(app, tg, clock):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    night_id, night = await linked_customer(
        app, tg, ADMIN_ID, 405, "Nina Night", timezone="America/Los_Angeles"
    )
    ivan_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Ivan")
    petr_id, petr = await linked_customer(app, tg, ADMIN_ID, PETR, "Petr")
    await agree(app, night_id, ivan_id, petr_id)
    screen = await build_one(admin, "Offer", "Скидка, {first_name}!")
    screen = (await admin.press('🙋 Step 1: add "I\'m interested"', message=screen)).last
    assert "🙋 Step 1: remove the button" in screen.labels
    screen = (await admin.press("▶️ Activate", message=screen)).last
    async with app.session_factory() as s:
        seq_id = await s.scalar(select(Sequence.id).where(Sequence.name == "Offer"))
    for client_id in (night_id, ivan_id, petr_id):
        await enrol(app, seq_id, client_id)
    await app.queue.drain()
    assert not got(night, "Скидка")  # 00:00 in Los Angeles
    [to_ivan] = [m for m in ivan.messages if m.text == "Скидка, Ivan!"]
    assert to_ivan.buttons == [["🙋 Мне интересно"], ["🔕 Отписаться"]]
    first = await ivan.press("🙋 Мне интересно", message=to_ivan)
    second = await ivan.press("🙋 Мне интересно", message=to_ivan)
    assert first.callback_answer.text != second.callback_answer.text
    forged = await petr.press_data(to_ivan.button("🙋 Мне интересно")["callback_data"])
    assert forged.callback_answer.text == "Это предложение не для этого аккаунта."
    clock.set(clock.now().replace(hour=16, minute=59))  # 09:59 in Los Angeles
    await app.queue.drain()
    assert not got(night, "Скидка")
    clock.set(clock.now().replace(hour=17, minute=0))
    await app.queue.drain()
    assert got(night, "Скидка, Nina!") == ["Скидка, Nina!"]
    report = (await admin.press("🟢 Offer", message=(await admin.send("/sequences")).last)).last
    assert "Sent: 3" in report.text and "Clicked: 1" in report.text and "finished: 3" in report.text

    # deactivated: whoever is in it stops, no new enrolment
    seq2 = await make_sequence(app, "Two", [(0, {"ru": "Один"}), (60, {"ru": "Два"})])
    await enrol(app, seq2, ivan_id)
    await app.queue.drain()
    report = (await admin.press("🟢 Two", message=(await admin.send("/sequences")).last)).last
    off = await admin.press("⏸ Deactivate", message=report)
    assert "Stopped for 1 clients" in off.callback_answer.text and "⚪️ inactive" in off.last.text
    assert (await enrolment_of(app, ivan_id)).stop_reason == "deactivated"
    clock.advance(hours=2)
    await app.queue.drain()
    assert not got(ivan, "Два")


async def test_a_step_with_a_photo_and_its_caption_as_in_broadcasts(app, tg, clock):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    ivan_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Ivan")
    await agree(app, ivan_id)
    async with app.session_factory() as s, s.begin():
        s.add(CampaignSettings(id=1, weekly_cap=10))  # several drips in a row here
    listing = (await admin.send("/sequences")).last
    await admin.press("➕ New sequence", message=listing)
    screen = (await admin.send("Pictures")).last
    delay = (await admin.press("➕ Add step", message=screen)).last
    prompt = (await admin.press("at once", message=delay)).last
    assert "send a photo or a document" in prompt.text
    long = (await admin.send_photo(caption="Sale for {first_name} " + "y" * 1000)).last
    assert "Too long for a caption" in long.text  # the 1024 limit, the longest name counted
    other = (await admin.send_photo(caption="Скидка для {first_name}")).last
    assert "Skip" in other.labels
    assert "Please type text" in (await admin.send_photo(caption="again")).last.text
    assert "Too long for a caption" in (await admin.send("Sale " + "z" * 1020)).last.text
    screen = (await admin.send("Sale for {first_name}")).last
    assert "Step 1 added" in screen.text and "🖼" in screen.text
    await admin.press("▶️ Activate", message=screen)
    async with app.session_factory() as s:
        step = await s.scalar(select(SequenceStep))
        assert step.media_kind == "photo" and step.media_file_id
        seq_id = step.sequence_id
    await enrol(app, seq_id, ivan_id)
    await app.queue.drain()
    step_screen = (await admin.press("✏️ Step 1", message=screen)).last
    [sample_ru, sample_en] = await admin.press("👁 As a customer gets it", message=step_screen)
    assert sample_ru.photo and sample_ru.text == "Скидка для Olga" and sample_en.text == "Sale for Olga"
    screen = (await admin.press("« Back", message=step_screen)).last
    [to_ivan] = [m for m in ivan.messages if m.photo]
    assert to_ivan.text == "Скидка для Ivan" and to_ivan.file_id == step.media_file_id
    assert to_ivan.buttons == [["🔕 Отписаться"]]

    # a document without a caption: the file alone
    delay = (await admin.press("➕ Add step", message=screen)).last
    await admin.press("at once", message=delay)
    other = (await admin.upload("price.pdf", b"%PDF-1.4 price", "application/pdf")).last
    screen = (await admin.press("Skip", message=other)).last
    assert "Step 2 added" in screen.text and "📎" in screen.text
    await enrol(app, seq_id, ivan_id)  # the first run is done: again, both steps
    await app.queue.drain()
    assert len([m for m in ivan.messages if m.photo]) == 2
    [doc] = [m for m in ivan.messages if m.document]
    assert not doc.text and doc.document["file_name"] == "price.pdf"
    assert (await enrolment_of(app, ivan_id)).status == EnrolmentStatus.done


async def add_step_typed(admin, screen, delay: str, text: str):
    """One more step through the builder: the delay typed, the other language skipped; the screen."""
    await admin.press("➕ Add step", message=screen)
    await admin.send(delay)
    other = (await admin.send(text)).last
    return (await admin.press("Skip", message=other)).last


async def test_link_buttons_texts_a_name_and_a_step_deleted_while_a_customer_is_in_it(app, tg, clock):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    ivan_id, ivan = await linked_customer(app, tg, ADMIN_ID, IVAN, "Ivan")
    await agree(app, ivan_id)
    async with app.session_factory() as s, s.begin():
        s.add(CampaignSettings(id=1, weekly_cap=10))
    await build_one(admin, "Other", "Другая")
    screen = await build_one(admin, "Edits", "Раз, {first_name}")
    screen = await add_step_typed(admin, screen, "1h", "Два")
    screen = await add_step_typed(admin, screen, "1h", "Три")

    # link buttons on step 1, as in broadcasts: validated, at most three
    step = (await admin.press("✏️ Step 1", message=screen)).last
    assert "step 1" in step.text and "Раз, {first_name}" in step.text
    link = step.button("🔗 Add a link button")["callback_data"]
    await admin.press_data(link, message=step)
    assert "label, a space and the address" in (await admin.send("no address")).last.text
    assert "at most 40" in (await admin.send("L" * 41 + " https://shop.example.com")).last.text
    step = (await admin.send("Our shop https://shop.example.com")).last
    assert "Saved" in step.text and "🔗 Our shop → https://shop.example.com" in step.text
    for label in ("Two", "Three"):
        await admin.press("🔗 Add a link button", message=step)
        step = (await admin.send(f"{label} https://{label.lower()}.example.com")).last
    assert "🔗 Add a link button" not in step.labels
    [preview] = await admin.press("👁 As a customer gets it", message=step)
    assert preview.text == "Раз, Olga"
    assert preview.buttons == [["Our shop"], ["Two"], ["Three"], ["🔕 Отписаться"]]
    await admin.press_data(link, message=step)  # an old button: the limit still holds
    assert "At most 3 link buttons" in (await admin.send("Four https://four.example.com")).last.text

    # the texts replaced, checked as they were typed
    screen = (await admin.press("« Back", message=step)).last
    step = (await admin.press("✏️ Step 1", message=screen)).last
    await admin.press("✏️ Text in 🇬🇧 English", message=step)
    assert "Please type text" in (await admin.send_sticker()).last.text
    assert "Unknown placeholder {name}" in (await admin.send("Hi {name}")).last.text
    step = (await admin.send("One, {first_name}")).last
    assert "Saved" in step.text and "One, {first_name}" in step.text
    await admin.press("✏️ Text in 🇷🇺 Русский", message=step)
    step = (await admin.send("Первый, {first_name}")).last
    assert "Первый, {first_name}" in step.text and "Раз," not in step.text

    # renamed: checked as a new name is
    screen = (await admin.press("« Back", message=step)).last
    await admin.press("✏️ Rename", message=screen)
    assert "too long: at most 60" in (await admin.send("W" * 61)).last.text
    assert "already a sequence with this name" in (await admin.send("other")).last.text
    screen = (await admin.send("Edited")).last
    assert "Saved" in screen.text and "Edited" in screen.text
    await admin.press("▶️ Activate", message=screen)

    async with app.session_factory() as s:
        seq_id = await s.scalar(select(Sequence.id).where(Sequence.name == "Edited"))
    await enrol(app, seq_id, ivan_id)
    await app.queue.drain()
    [first] = [m for m in ivan.messages if "Первый" in (m.text or "")]
    assert first.text == "Первый, Ivan"
    assert first.buttons == [["Our shop"], ["Two"], ["Three"], ["🔕 Отписаться"]]
    assert first.button("Our shop")["url"] == "https://shop.example.com"

    # step 2, Ivan's next one, deleted: he gets step 3 (now 2) an hour after step 1, once
    screen = (await admin.press("🟢 Edited", message=(await admin.send("/sequences")).last)).last
    step = (await admin.press("✏️ Step 2", message=screen)).last
    old_link = step.button("🔗 Add a link button")["callback_data"]
    confirm = (await admin.press("🗑 Delete step 2", message=step)).last
    sure = confirm.button("🗑 Yes, delete step 2")["callback_data"]
    done = await admin.press_data(sure, message=confirm)
    assert "Step 2 deleted" in done.last.text and "Три" in done.last.text and "Два" not in done.last.text
    again = await admin.press_data(sure, message=confirm)  # pressed twice
    assert "Not found" in again.callback_answer.text
    late = await admin.press_data(old_link, message=confirm)
    assert "Not found" in late.callback_answer.text  # a button of the deleted step
    clock.advance(minutes=59)
    await app.queue.drain()
    assert not got(ivan, "Три")
    clock.advance(minutes=1)
    await app.queue.drain()
    await app.scheduler.plan()
    await app.queue.drain()
    assert got(ivan, "Три") == ["Три"] and not got(ivan, "Два")
    assert (await enrolment_of(app, ivan_id)).status == EnrolmentStatus.done


async def test_deleting_steps_before_at_and_after_where_each_customer_is(app, tg, clock):
    ids = {}
    people = {}
    for uid, name in ((IVAN, "Ivan"), (PETR, "Petr"), (MARIA, "Maria")):
        ids[name], people[name] = await linked_customer(app, tg, ADMIN_ID, uid, name)
    await agree(app, *ids.values())
    async with app.session_factory() as s, s.begin():
        s.add(CampaignSettings(id=1, weekly_cap=20))
    steps = [(0, {"ru": "Шаг A"}), (60, {"ru": "Шаг B"}), (60, {"ru": "Шаг C"}), (60, {"ru": "Шаг D"})]
    seq = await make_sequence(app, "Chain", steps)
    await enrol(app, seq, ids["Petr"])
    await app.queue.drain()
    clock.advance(hours=1)
    await app.queue.drain()
    assert got(people["Petr"], "Шаг B") == ["Шаг B"]  # Petr's next: C
    await enrol(app, seq, ids["Ivan"])
    await app.queue.drain()  # Ivan's next: B
    async with app.session_factory() as s:
        by_text = {st.texts["ru"]: st.id for st in (await s.scalars(select(SequenceStep))).all()}

    async def delete(step: str) -> int:
        async with app.session_factory() as s, s.begin():
            sequence = await s.get(Sequence, seq)
            return await build.delete_step(s, sequence, by_text[step], app.clock.now())

    # a step being sent right now can't be deleted (its result moves the drip on)
    maria_enrolment = await enrol(app, seq, ids["Maria"])
    async with app.session_factory() as s, s.begin():
        job = await s.scalar(
            select(Job)
            .where(Job.kind == hooks.SEND_JOB, Job.status == JobStatus.pending)
            .order_by(Job.id.desc())
        )
        assert (await sending.prepare(s, maria_enrolment, job.id, app.clock.now(), "Europe/Moscow")).outgoing
    with pytest.raises(DomainError) as refused:
        await delete("Шаг A")
    assert refused.value.code == "sequence_step_sending"
    await app.queue.drain()  # her job finds its own claim: "unknown", never resent; her next is B
    assert (await enrolment_of(app, ids["Maria"])).position == 2

    assert await delete("Шаг A") == 1  # before everyone: each keeps their next step and its time
    assert (await enrolment_of(app, ids["Petr"])).position == 2  # C, now 2nd
    assert (await enrolment_of(app, ids["Ivan"])).position == 1  # B, now 1st
    assert await delete("Шаг D") == 3  # after everyone
    clock.advance(hours=1)
    await app.queue.drain()
    await app.scheduler.plan()
    await app.queue.drain()
    assert got(people["Petr"], "Шаг C") == ["Шаг C"]
    assert got(people["Ivan"], "Шаг B") == ["Шаг B"] and got(people["Maria"], "Шаг B") == ["Шаг B"]
    assert await delete("Шаг C") == 2  # Ivan's and Maria's next one, the last: they are done
    for name in ("Petr", "Ivan", "Maria"):
        assert (await enrolment_of(app, ids[name])).status == EnrolmentStatus.done
    clock.advance(hours=3)
    await app.scheduler.plan()
    await app.queue.drain()
    for name, texts in {"Petr": "ABC", "Ivan": "AB", "Maria": "B"}.items():
        for letter in "ABCD":
            assert len(got(people[name], f"Шаг {letter}")) == (letter in texts), (name, letter)
    async with (
        app.session_factory() as s
    ):  # the deleted steps' deliveries stay (the weekly limit counts them)
        sent = (
            await s.scalars(select(SequenceDelivery).where(SequenceDelivery.status == StepStatus.sent))
        ).all()
        assert len(sent) == 6
        positions = sorted(st.position for st in (await s.scalars(select(SequenceStep))).all())
        assert positions[-1] == 1 and all(p < 0 for p in positions[:-1])
