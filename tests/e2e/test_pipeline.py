"""The update pipeline, end to end: what a person is told leaves only after it is committed; a failed
commit gives the apology; group chats get no CRM work; a flood from one person costs nobody else; a
reply meeting 429 is retried and one to a person who blocked the bot marks them blocked; a callback
query is answered exactly once; an edit to what a message already shows isn't made; an update
delivered again is skipped."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import LanguageCb
from models.reminders import Reminder
from models.updates import ProcessedUpdate
from models.users import User
from tests.conftest import app_settings, running_app
from tests.support.people import manager

CONFIRMED = "I'll remind you on"


async def count(app, model) -> int:
    async with app.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model))


async def test_the_confirmation_leaves_after_the_commit(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    seen_at_commit: list[list[str | None]] = []

    def on_commit(session) -> None:
        seen_at_commit.append([m.text for m in anna.messages])

    event.listen(AsyncSession.sync_session_class, "after_commit", on_commit)
    try:
        replies = await anna.send("/remind tomorrow 10am call Ivan")
    finally:
        event.remove(AsyncSession.sync_session_class, "after_commit", on_commit)
    assert CONFIRMED in replies.last.text
    assert seen_at_commit, "the update committed"
    assert not any(CONFIRMED in (t or "") for t in seen_at_commit[0]), "told before the commit"
    assert await count(app, Reminder) == 1


def fail_next_commit(monkeypatch) -> list[int]:
    """The next commit of an update's transaction fails as SQLite does when it stays locked."""
    real_commit = AsyncSession.commit
    failures: list[int] = []

    async def commit(self: AsyncSession) -> None:
        if not failures:
            failures.append(1)
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        await real_commit(self)

    monkeypatch.setattr(AsyncSession, "commit", commit)
    return failures


async def test_a_failed_commit_gives_the_apology_never_the_success_text(app, tg, monkeypatch):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    failures = fail_next_commit(monkeypatch)
    replies = await anna.send("/remind tomorrow 10am call Ivan")
    assert failures == [1]
    assert all(CONFIRMED not in (t or "") for t in replies.texts)
    assert "Reference:" in replies.last.text
    assert await count(app, Reminder) == 0
    # the next try works
    assert CONFIRMED in (await anna.send("/remind tomorrow 10am call Ivan")).last.text
    assert await count(app, Reminder) == 1


async def test_a_failed_commit_after_the_button_was_answered_answers_it_once(app, tg, monkeypatch):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    menu = (await anna.send("/language")).last
    tg.clear_calls()
    fail_next_commit(monkeypatch)
    replies = await anna.press_data(LanguageCb(code="ru").pack(), message=menu)
    assert len(tg.calls_of("answerCallbackQuery")) == 1
    assert "Reference:" in (replies.callback_answer.text or "")
    assert tg.calls_of("editMessageText") == [], "the new language was not shown: it wasn't saved"
    assert not tg.errors, tg.errors
    async with app.session_factory() as s:
        assert (await s.get(User, 201)).language == "en"


async def test_a_handler_that_does_not_answer_the_button_still_stops_its_spinner(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    menu = (await anna.send("/language")).last
    tg.clear_calls()
    await anna.press_data(LanguageCb(code="en").pack(), message=menu)
    assert len(tg.calls_of("answerCallbackQuery")) == 1


async def test_pressing_the_language_already_chosen_edits_nothing(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    menu = (await anna.send("/language")).last
    shown = (await anna.press_data(LanguageCb(code="en").pack(), message=menu)).last
    tg.clear_calls()
    await anna.press_data(LanguageCb(code="en").pack(), message=shown)
    assert tg.calls_of("editMessageText") == []
    assert not tg.errors, tg.errors


async def test_a_redelivered_update_is_skipped(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    await anna.send("/remind tomorrow 10am call Ivan")
    async with app.session_factory() as s:
        last = await s.scalar(select(func.max(ProcessedUpdate.update_id)))
    message = {
        "message_id": 999,
        "date": int(time.time()),
        "chat": {"id": 201, "type": "private"},
        "from": {"id": 201, "is_bot": False, "first_name": "Anna", "language_code": "en"},
        "text": "/remind tomorrow 11am call Ivan again",
    }
    from aiogram.types import Update

    before = len(anna.messages)
    await app.dp.feed_update(app.bot, Update.model_validate({"update_id": last, "message": message}))
    assert await count(app, Reminder) == 1, "the write was not repeated"
    assert len(anna.messages) == before, "nothing was sent again"


async def test_a_reply_meeting_429_is_retried_after_retry_after(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    tg.fail_next("sendMessage", 429, retry_after=1)
    started = time.monotonic()
    replies = await anna.send("/remind tomorrow 10am call Ivan")
    assert CONFIRMED in replies.last.text
    assert time.monotonic() - started >= 0.9  # waited out retry_after, then sent
    assert tg.stats["429"] == 1


async def test_a_reply_to_someone_who_blocked_the_bot_marks_them_blocked(app, tg):
    anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
    tg.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await anna.send("/help")
    async with app.session_factory() as s:
        user = await s.get(User, 201)
        assert user is not None and user.blocked_at is not None


async def test_in_a_group_the_bot_does_no_crm_work_and_says_so_once_when_added(app, tg, admin):
    await admin.send("/start")
    group = {"id": -100777, "type": "supergroup", "title": "Sales team"}
    bot_user = tg.bot_user
    added = {
        "chat": group,
        "from": admin.to_user(),
        "date": int(time.time()),
        "old_chat_member": {"status": "left", "user": bot_user},
        "new_chat_member": {"status": "member", "user": bot_user},
    }
    tg.clear_calls()
    await tg.submit(admin, "my_chat_member", added)
    for text in ("/find Ivan", "/add Ivan Petrov +7 999 123-45-67", "/clients"):
        await tg.submit(admin, "message", {**admin.new_message(text=text), "chat": group})
    sends = [c for c in tg.calls if c.method == "sendMessage"]
    assert [c.params["chat_id"] for c in sends] == [-100777], sends  # the one notice, nothing else
    assert "личном чате" in sends[0].params["text"]  # the admin writes Russian
    from models.clients import Client

    assert await count(app, Client) == 0


async def test_one_persons_flood_costs_nobody_else(tg, db_url, engine, clock):
    settings = app_settings(tg, db_url, flood_rate=2, flood_burst=12, flood_cooldown_seconds=60)
    async with running_app(settings, clock, engine) as app:
        await tg.wait_for_bot()
        anna = await manager(app, tg, 201, "Anna", lang="en", language="en")
        stranger = tg.user(666, "Flood", language_code="en")
        pending = [tg.submit(stranger, "message", stranger.new_message(text=f"spam {i}")) for i in range(300)]
        replies = await anna.send("/help")
        assert "/remind" in replies.last.text
        await asyncio.gather(*(p.wait() for p in pending))
        texts = [m.text or "" for m in stranger.messages]
        assert sum("Too many messages" in t for t in texts) == 1
        assert len(texts) <= 12 + 1  # the burst, then the one notice, then silence
        assert tg.stats["429"] == 0
