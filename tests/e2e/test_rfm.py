"""End to end: /rfm as admins, managers and customers see it — no run yet, "Recompute now" through
the queue (pressed twice: one run) with the done message, the distribution with ABC and the Pareto
check, a segment's clients page by page, a client's card with its segment and the VIP badge, an
admin's VIP button (audited, version-guarded), VIP marks in /clients, the movement after a second run,
and the nightly job planned exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from bot.callbacks import CardAction, ClientCb, RfmAction, RfmCb
from models.analytics import RfmRun
from models.audit import AuditEvent
from models.clients import Client
from models.jobs import Job
from models.loyalty import Purchase
from scheduler.analytics import NIGHTLY
from scheduler.recurring import plan_rfm_nightly
from tests.conftest import ADMIN_ID
from tests.support.people import client_record, manager

ANNA, BORIS, IVAN = 200, 201, 300


async def buys(app, client_id: int, owner: int, *amounts_days: tuple[str, float]) -> None:
    now = app.clock.now()
    async with app.session_factory() as s, s.begin():
        n = await s.scalar(select(func.count()).select_from(Purchase))
        for i, (amount, days) in enumerate(amounts_days):
            v = Decimal(amount)
            s.add(
                Purchase(
                    client_id=client_id,
                    manager_id=owner,
                    amount=v,
                    currency="RUB",
                    tier="Base",
                    discount_percent=Decimal(0),
                    discounted=v,
                    points_redeemed=0,
                    paid=v,
                    points_earned=0,
                    idempotency_key=f"e2e{n + i}",
                    created_at=now - timedelta(days=days),
                )
            )


async def base(app) -> dict[str, int]:
    """Twelve clients of Anna and Boris; the big spender Ivan Big is Anna's."""
    ids = {}
    for i in range(12):
        owner = ANNA if i % 2 == 0 else BORIS
        name = "Ivan Big" if i == 0 else f"Client {i:02d}"
        ids[name] = await client_record(app, owner, name)
        if i < 10:  # two clients never buy
            await buys(
                app, ids[name], owner, *[(str(100 + i * 10), 3 + i * 20 + k) for k in range(1 + i % 3)]
            )
    await buys(app, ids["Ivan Big"], ANNA, ("90000", 2), ("5000", 30), ("7000", 60), ("100", 90))
    return ids


def flat(message) -> list[str]:
    return [label for row in message.buttons for label in row]


async def recompute(app, admin):
    replies = await admin.press("🔄 Recompute now")
    return replies.callback_answer


async def test_admin_and_manager_see_rfm_and_vip(app, tg):
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    anna = await manager(app, tg, ANNA, "Anna", lang="en")
    await manager(app, tg, BORIS, "Boris", lang="en")
    ivan = tg.user(IVAN, "Ivan", language_code="en")
    ids = await base(app)

    # no run yet: said plainly; the admin is offered the button, the manager isn't
    first = (await admin.send("/rfm")).last
    assert "No run yet" in first.text and "🔄 Recompute now" in flat(first)
    seen = (await anna.send("/rfm")).last
    assert "No run yet" in seen.text and not seen.buttons
    assert "Not allowed" in (await ivan.send("/rfm")).last.text

    # Recompute now: queued once however often it's pressed; the admin hears when it's done
    answer = await recompute(app, admin)
    assert answer.show_alert and "I'll send a message when it's done" in answer.text
    again = await admin.press("🔄 Recompute now", message=first)
    assert "already under way" in again.callback_answer.text
    async with app.session_factory() as s:
        assert await s.scalar(select(func.count()).where(Job.kind == "rfm_manual")) == 1
    await app.queue.drain()
    assert admin.last.text == "✅ RFM and ABC recomputed: 10 clients scored. Send /rfm to see them."
    async with app.session_factory() as s:
        run = await s.scalar(select(RfmRun))
        assert run.finished_at is not None and run.started_by == ADMIN_ID and run.population == 10

    overview = (await admin.send("/rfm")).last
    text = overview.text
    assert "Clients: 12, with purchases: 10" in text
    assert "No recent purchases: 2" in text
    assert "ABC classes: A: 1 · B: " in text  # Ivan Big alone brings over 80 %
    assert "Pareto check: the top 20 % of clients bring" in text
    assert "Movement: shown from the second run on." in text
    labels = flat(overview)
    assert "🔄 Recompute now" in labels
    champions = next(b for b in labels if b.startswith("Champions ("))

    # a segment's clients, each opening the card with the segment, scores and VIP badge
    listed = (await admin.press(champions, message=overview)).last
    assert "<b>Champions</b>" in listed.html
    big = next(b for b in flat(listed) if "Ivan Big" in b)
    assert big.startswith("👤 ⭐ Ivan Big")
    card = (await admin.press(big, message=listed)).last
    assert "Ivan Big</b> ⭐ VIP" in card.html
    assert "📊 Champions · R5 F5 M5 · class A" in card.text

    # the manager sees only their own clients
    mine = (await anna.send("/rfm")).last
    assert "RFM segments</b> (your clients)" in mine.html
    assert "Clients: 6, with purchases: 5" in mine.text
    assert "🔄 Recompute now" not in flat(mine)
    idle = next(b for b in flat(mine) if b.startswith("No recent purchases ("))
    assert idle == "No recent purchases (1)"
    idle_list = (await anna.press(idle, message=mine)).last
    assert [b for b in flat(idle_list) if b.startswith("👤")] == ["👤 Client 10"]
    forged = await anna.press_data(RfmCb(action=RfmAction.run).pack(), message=mine)
    assert "Not allowed" in (forged.callback_answer.text or anna.last.text)
    bad = await anna.press_data(RfmCb(action=RfmAction.seg, arg=99).pack(), message=mine)
    assert "no longer valid" in bad.callback_answer.text

    # the admin marks a client without class A as VIP on the card: badge, audit, /clients mark
    other = ids["Client 05"]
    async with app.session_factory() as s:
        version = (await s.get(Client, other)).version
    opened = await admin.press_data(
        ClientCb(action=CardAction.open, client_id=other, version=version).pack(), message=admin.last
    )
    assert "⭐ VIP" not in opened.last.html
    marked = await admin.press("⭐ Mark VIP", message=opened.last)
    assert marked.callback_answer.text == "Marked as VIP."
    assert "Client 05</b> ⭐ VIP" in admin.last.html and "☆ Clear VIP" in flat(admin.last)
    # the old button (an older version of the card) is refused
    stale = await admin.press_data(
        ClientCb(action=CardAction.vip, client_id=other, version=version).pack(), message=admin.last
    )
    assert "changed" in stale.callback_answer.text.lower()
    async with app.session_factory() as s:
        assert (await s.get(Client, other)).vip is True
        event = await s.scalar(select(AuditEvent).where(AuditEvent.action == "client.vip"))
        assert event.actor_id == ADMIN_ID and event.target == f"client:{other}"
        assert event.details == {"old": False, "new": True}
    listing = (await admin.send("/clients")).last
    marks = [b for b in flat(listing) if b.startswith("👤 ⭐")]
    assert [b for b in marks if "Client" in b] == [
        "👤 ⭐ Client 05"
    ]  # newest first: Ivan Big (class A) is on page 2
    # a manager can't press an admin's VIP button
    forged_vip = await anna.press_data(
        ClientCb(action=CardAction.vip, client_id=ids["Ivan Big"], version=1).pack(), message=anna.last
    )
    assert "Not allowed" in (forged_vip.callback_answer.text or anna.last.text)

    # a second run a week later shows the movement since the first
    app.clock.advance(days=7)
    await buys(app, ids["Client 10"], ANNA, ("500", 1))
    await recompute(app, admin)
    await app.queue.drain()
    moved = (await admin.send("/rfm")).last.text
    assert "Since the last run:" in moved and "No recent purchases →" in moved


async def test_nightly_run_is_planned_once_and_runs(app, tg):
    await manager(app, tg, ANNA, "Anna", lang="en")
    await manager(app, tg, BORIS, "Boris", lang="en")
    assert await base(app)
    for _ in range(3):  # the planner runs at start and every 10 minutes, on any number of instances
        async with app.session_factory() as s, s.begin():
            await plan_rfm_nightly(s, app.clock.now(), "Europe/Moscow")
        await app.scheduler.plan()
    async with app.session_factory() as s:
        jobs = list((await s.scalars(select(Job).where(Job.kind == NIGHTLY))).all())
    assert len(jobs) == 1
    # 04:00 in Moscow on the next local night (the clock: 10 March 07:00 UTC = 10:00 in Moscow)
    assert jobs[0].due_at == datetime(2026, 3, 11, 1, 0, tzinfo=UTC)
    await app.queue.drain()  # other recurring work may be due; the RFM run isn't yet
    async with app.session_factory() as s:
        assert (await s.get(Job, jobs[0].id)).status == "pending"
        assert await s.scalar(select(func.count()).select_from(RfmRun)) == 0
    app.clock.set(datetime(2026, 3, 11, 1, 0, tzinfo=UTC))
    await app.queue.drain()
    async with app.session_factory() as s:
        run = await s.scalar(select(RfmRun))
        assert run is not None and run.finished_at is not None and run.as_of.isoformat() == "2026-03-11"
        assert run.started_by is None and run.population == 10
        done = await s.get(Job, jobs[0].id)
        assert done.status == "done"
    # the next night's run is planned once too
    app.clock.advance(minutes=10)
    await app.scheduler.plan()
    await app.scheduler.plan()
    async with app.session_factory() as s:
        dues = sorted((await s.scalars(select(Job.due_at).where(Job.kind == NIGHTLY))).all())
    assert dues == [datetime(2026, 3, 11, 1, 0, tzinfo=UTC), datetime(2026, 3, 12, 1, 0, tzinfo=UTC)]
