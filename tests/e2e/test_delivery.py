"""End to end: proactive messages through the queue and the one sender, against Telegram's limits."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bot.sender import Delivery, RateLimiter
from bot.text import visible_length
from models.jobs import Job, JobStatus
from models.users import User
from scheduler.recurring import plan_admin_digests
from services import notify
from tests.conftest import ADMIN_ID, app_settings, running_app
from tests.fakebot import FakeTelegram
from tests.support.people import add_user


async def queue_notice(app, user_id: int, n: int = 1, notice: str = "member_promoted") -> None:
    async with app.session_factory() as s, s.begin():
        for i in range(n):
            await notify.notify(
                s, user_id, notice, app.clock.now(), key=f"t:{user_id}:{i}", admin=f"Olga {i}"
            )


async def outcomes(app) -> list[str | None]:
    async with app.session_factory() as s:
        return list((await s.scalars(select(Job.outcome).where(Job.kind == "notify").order_by(Job.id))).all())


async def test_notice_is_rendered_in_the_recipients_language(app, tg):
    ru, en = tg.user(10, "Ivan", language_code="ru"), tg.user(11, "John", language_code="en")
    await ru.send("/start")
    await en.send("/start")
    await queue_notice(app, 10)
    await queue_notice(app, 11)
    await app.queue.drain()
    assert ru.last.text == "👑 Olga 0 назначил(а) вас администратором. Новые команды: /invite, /team."
    assert en.last.text.startswith("👑 Olga 0 made you an admin.")


async def test_403_marks_the_user_blocked_and_stops_sending(app, tg):
    p = tg.user(12, "Pat", language_code="en")
    await p.send("/start")
    tg.block(12)  # blocked without us hearing about it (no my_chat_member)
    await queue_notice(app, 12)
    await app.queue.drain()
    assert await outcomes(app) == ["blocked"]
    async with app.session_factory() as s:
        assert (await s.get(User, 12)).blocked_at is not None
    before = len(tg.calls_of("sendMessage"))
    async with app.session_factory() as s, s.begin():
        await notify.notify(s, 12, "member_promoted", app.clock.now(), admin="again")
    await app.queue.drain()
    assert len(tg.calls_of("sendMessage")) == before  # no further attempt while blocked
    tg.unblock(12)
    await p.send("/start")  # writing again proves they unblocked
    async with app.session_factory() as s:
        assert (await s.get(User, 12)).blocked_at is None


async def test_chat_not_found_marks_unreachable(app, tg):
    async with app.session_factory() as s, s.begin():
        await add_user(s, 555, "Ghost")
    await queue_notice(app, 555)
    await app.queue.drain()
    assert await outcomes(app) == ["unreachable"]
    async with app.session_factory() as s:
        assert (await s.get(User, 555)).unreachable_at is not None


async def test_429_is_retried_after_retry_after(app, tg):
    p = tg.user(13, "Pat", language_code="en")
    await p.send("/start")
    tg.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    await queue_notice(app, 13)
    await app.queue.drain()
    assert time.monotonic() - started >= 1.0
    assert await outcomes(app) == ["sent"]
    assert sum("made you an admin" in (m.text or "") for m in p.messages) == 1


async def test_long_text_is_split_at_line_boundaries(app, tg):
    p = tg.user(14, "Pat", language_code="en")
    await p.send("/start")
    before = len(p.messages)
    text = "\n".join(f"<b>{i:04}</b> " + "ж" * 95 for i in range(90))
    assert await app.sender.send(14, text) is Delivery.sent
    parts = p.messages[before:]
    assert len(parts) == 3
    assert all(visible_length(m.html) <= 4096 for m in parts)
    assert "\n".join(m.html for m in parts) == text


async def test_sender_keeps_under_the_global_rate(db_url, engine, clock):
    """40 notices to 40 people at SEND_RATE=20: no 429 from a server that allows 30/s with almost no
    burst, and paced."""
    tg = FakeTelegram(global_rate=30, global_burst=2)
    await tg.start()
    try:
        await _paced_run(tg, db_url, engine, clock)
    finally:
        await tg.stop()


async def _paced_run(tg, db_url, engine, clock):
    async with running_app(app_settings(tg, db_url, send_rate=20), clock, engine) as app:
        await tg.wait_for_bot()
        people = [tg.user(1000 + i, f"P{i}", language_code="en", started=True) for i in range(40)]
        async with app.session_factory() as s, s.begin():
            for p in people:
                await add_user(s, p.id, p.first_name, tg_language="en")
        for p in people:
            await queue_notice(app, p.id)
        started = time.monotonic()
        await app.queue.drain()
        elapsed = time.monotonic() - started
    assert tg.stats["429"] == 0
    assert elapsed >= 39 / 20 * 0.95
    assert all(
        [m.text for m in p.messages] == ["👑 Olga 0 made you an admin. New commands: /invite, /team."]
        for p in people
    )


async def test_restart_mid_batch_through_the_real_sender_sends_each_once(tg, db_url, engine, clock):
    people = [tg.user(2000 + i, f"P{i}", language_code="en") for i in range(15)]
    async with running_app(app_settings(tg, db_url, send_rate=10), clock, engine) as app:
        await tg.wait_for_bot()
        for p in people:
            await p.send("/start")
        for p in people:
            await queue_notice(app, p.id)
        drain = asyncio.create_task(app.queue.drain())
        await asyncio.sleep(0.5)  # a few are out at 10/s
        drain.cancel()
        with pytest.raises(asyncio.CancelledError):
            await drain
    sent_before_restart = sum(bool(p.messages[1:]) for p in people)
    assert 0 < sent_before_restart < 15
    async with running_app(app_settings(tg, db_url, send_rate=30), clock, None) as app2:
        await app2.queue.drain()
        async with app2.session_factory() as s:
            statuses = set((await s.scalars(select(Job.status).where(Job.kind == "notify"))).all())
    assert statuses == {JobStatus.done}
    assert [len(p.messages) for p in people] == [2] * 15  # greeting + exactly one notice each


async def test_admin_daily_digest_arrives_in_the_admins_language(app, tg, admin):
    await admin.send("/start")
    async with app.session_factory() as s, s.begin():
        await plan_admin_digests(s, app.clock.now(), 9, "Europe/Moscow")
    await app.queue.drain()
    assert "Сводка за день" not in (admin.last.text or "")  # not before 09:00 local
    app.clock.advance(hours=24)
    await app.queue.drain()
    assert "Сводка за день" in admin.last.text
    assert "Команда: администраторов — 1, менеджеров — 0" in admin.last.text


async def test_rate_limiter_paces_overall_and_per_chat():
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(rate=25, per_chat_interval=1.0, monotonic=lambda: now[0], sleep=fake_sleep)
    for chat in range(50):
        await limiter.wait(chat)
    assert now[0] == pytest.approx(49 / 25)
    now[0] = 100.0
    for _ in range(3):
        await limiter.wait(1)
    assert now[0] == pytest.approx(102.0)  # one per second in one chat
    limiter.hold_chat(1, 5)
    await limiter.wait(1)
    assert now[0] == pytest.approx(107.0)


async def test_my_chat_member_block_then_notice_is_skipped(app, tg):
    p = tg.user(15, "Pat", language_code="en")
    await p.send("/start")
    await tg.process_my_chat_member(p, "kicked")
    before = len(tg.calls_of("sendMessage"))
    await queue_notice(app, 15)
    await app.queue.drain()
    assert await outcomes(app) == ["blocked"]
    assert len(tg.calls_of("sendMessage")) == before


async def test_admins_from_settings_exist_before_they_write(app):
    async with app.session_factory() as s:
        assert (await s.get(User, ADMIN_ID)).role.value == "admin"


async def test_post_returns_the_message_id_and_its_429_holds_every_chat(app, tg):
    """A broadcast's message (Sender.post): Telegram's id of it comes back, and a 429 on it holds the
    whole bot for retry_after, so a send to another chat meanwhile waits too."""
    a, b = tg.user(15, "Ann", language_code="en"), tg.user(16, "Bob", language_code="en")
    await a.send("/start")
    await b.send("/start")
    tg.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()

    async def other_chat() -> float:
        await asyncio.sleep(0.2)  # the 429 has come by now
        assert await app.sender.send(16, "two") is Delivery.sent
        return time.monotonic()

    posted, other_done = await asyncio.gather(app.sender.post(15, "one"), other_chat())
    assert posted.delivery is Delivery.sent and posted.message_id == a.last.message_id
    assert a.last.text == "one" and b.last.text == "two"
    assert other_done - started >= 1.0
