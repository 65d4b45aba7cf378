"""End to end: /followups as admins, managers and customers see it — the rules, one changed with its
button and a typed number (bad values answered, then saved); the clock moves to the morning, the
planned jobs run, and a manager gets their neglected clients (escaped, most valuable first) with Open,
Log contact and Snooze buttons; Snooze pressed twice is one change; the next morning the same clients
are not listed again; the admin gets the escalation digest (overdue reminders, neglected VIPs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from models.followups import FollowupMark
from models.jobs import Job
from models.reminders import Reminder
from models.users import User
from scheduler.followups import DIGEST, ESCALATION
from tests.conftest import ADMIN_ID
from tests.support.people import client_record, manager

ANNA, BORIS, IVAN = 200, 201, 300
MORNING = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)  # 09:00 in Moscow, DIGEST_HOUR


def digests(person) -> list:
    return [m for m in person.messages if "Clients waiting for your contact" in (m.text or "")]


def escalations(person) -> list:
    return [m for m in person.messages if "Follow-ups: escalation" in (m.text or "")]


async def test_rules_digest_snooze_and_escalation(app, tg, clock):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    await manager(app, tg, BORIS, "Boris", lang="en")
    ivan = tg.user(IVAN, "Ivan", language_code="en")
    now = clock.now()
    big = await client_record(app, ANNA, "Ivan <Big>", created_at=now - timedelta(days=100))
    vera = await client_record(
        app,
        ANNA,
        "Vera",
        vip=True,
        created_at=now - timedelta(days=200),
        last_contact_at=now - timedelta(days=12),
    )
    await client_record(app, ANNA, "Fresh", created_at=now - timedelta(days=200), last_contact_at=now)
    borises = await client_record(app, BORIS, "Boris's client", created_at=now - timedelta(days=100))
    async with app.session_factory() as s, s.begin():
        for i in range(2):
            s.add(Reminder(owner_id=BORIS, text=f"call {i}", due_at=now - timedelta(days=1)))
        (await s.get(User, BORIS)).blocked_at = now  # Boris blocked the bot

    # customers and managers can't open the rules
    assert "Not allowed" in (await ivan.send("/followups")).last.text
    assert "Not allowed" in (await anna.send("/followups")).last.text

    # the admin's rules: the defaults; VIP changed to 10 days with a button and a typed number
    rules = (await admin.send("/followups")).last
    assert "⭐ VIP: <b>14 days</b>" in rules.html and "Others (no class): <b>90 days</b>" in rules.html
    prompt = (await admin.press("✏️ ⭐ VIP: 14 days", message=rules)).last
    assert "Send the number of days" in prompt.text and "(now: 14 days)" in prompt.text
    assert "That isn't a whole number" in (await admin.send("ten")).last.text
    assert "That isn't a whole number" in (await admin.send("-3")).last.text
    assert "From 1 to 365 days, or 0 to turn the rule off" in (await admin.send("400")).last.text
    assert "Send the number of days as text" in (await admin.send_sticker()).last.text
    saved = await admin.send("10")
    assert saved.texts[0] == "✅ Saved: ⭐ VIP — neglected after 10 days without a contact."
    assert "⭐ VIP: <b>10 days</b>" in saved.last.html
    assert "✏️ ⭐ VIP: 10 days" in saved.last.labels
    # the dialog is over: a number now is not taken as a rule
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).select_from(FollowupMark)) == 0

    # the planner runs (twice: one job per person and morning); the clock moves to 09:00 in Moscow
    await app.scheduler.plan()
    await app.scheduler.plan()
    async with app.session_factory() as s:
        kinds = (await s.scalars(select(Job.kind).where(Job.kind.in_([DIGEST, ESCALATION])))).all()
    assert sorted(kinds) == sorted([DIGEST] * 3 + [ESCALATION])  # Olga, Anna, Boris; Olga's escalation
    clock.set(MORNING)
    await app.queue.drain()

    [digest] = digests(anna)
    assert "Clients waiting for your contact</b>: 2" in digest.html
    assert "1. <b>Ivan &lt;Big&gt;</b> — 100 days without a contact" in digest.html
    assert "2. ⭐ <b>Vera</b> — 12 days without a contact" in digest.html
    assert "Fresh" not in digest.text
    assert digest.buttons == [
        ["👤 1. Ivan <Big>", "📝 Log", "💤 7 days"],
        ["👤 2. Vera", "📝 Log", "💤 7 days"],
    ]
    assert not digests(admin)  # no clients of her own: no digest
    async with app.session_factory() as s:  # Boris blocked the bot: nothing shown, nothing marked
        assert await s.get(FollowupMark, borises) is None
        boris_job = await s.scalar(select(Job).where(Job.idempotency_key == f"followups:{BORIS}:2026-03-11"))
        assert boris_job.outcome == "blocked"
    [esc] = escalations(admin)
    assert "Boris: 2 overdue" in esc.text
    assert "Anna: 1 (Vera)" in esc.text

    # Open, Log contact and Snooze from the digest
    card = (await anna.press("👤 2. Vera", message=digest)).last
    assert "Vera" in card.text and card.labels
    asked = (await anna.press("📝 Log", message=digest)).last  # the first row's: Ivan <Big>
    assert "A contact with <b>Ivan &lt;Big&gt;</b>" in asked.html
    await anna.send("/cancel")
    first = await anna.press("💤 7 days", message=digest)
    assert first.callback_answer.show_alert
    assert (
        first.callback_answer.text
        == "💤 Ivan <Big> is snoozed until 18 Mar 2026: not in the digests before then."
    )
    again = await anna.press("💤 7 days", message=digest)
    assert again.callback_answer.text == "💤 Ivan <Big> is already snoozed until 18 Mar 2026."
    async with app.session_factory() as s:
        mark = await s.get(FollowupMark, big)
        assert mark.snoozed_until == MORNING + timedelta(days=7) and mark.nudged_at == MORNING
        assert (await s.get(FollowupMark, vera)).nudged_at == MORNING

    # the next morning: nothing new for Anna (listed yesterday), the escalation again for Olga
    clock.set(MORNING + timedelta(minutes=10))  # the planner's next run plans the next morning
    await app.scheduler.plan()
    clock.set(MORNING + timedelta(days=1))
    await app.queue.drain()
    assert len(digests(anna)) == 1
    assert len(escalations(admin)) == 2
    async with app.session_factory() as s:
        outcomes = (
            await s.scalars(
                select(Job.outcome).where(
                    Job.kind == DIGEST, Job.idempotency_key == f"followups:{ANNA}:2026-03-12"
                )
            )
        ).all()
    assert outcomes == ["nothing"]
    assert not tg.errors


async def test_russian_rules_and_digest(app, tg, clock):
    admin = tg.user(ADMIN_ID, "Olga", language_code="ru")
    await admin.send("/start")
    anna = await manager(app, tg, ANNA, "Анна")
    await client_record(app, ANNA, "Иван", created_at=clock.now() - timedelta(days=100))
    rules = (await admin.send("/followups")).last
    assert "Напоминания о клиентах" in rules.text
    await admin.press("✏️ ⭐ VIP: 14 дн.", message=rules)
    assert "Не целое число" in (await admin.send("abc")).last.text
    assert "выключено" in (await admin.send("0")).last.text
    await app.scheduler.plan()
    clock.set(MORNING)
    await app.queue.drain()
    assert "Клиенты ждут вашего контакта" in anna.last.text
    assert anna.last.buttons[0] == ["👤 1. Иван", "📝 Контакт", "💤 7 дн."]
    assert not tg.errors
