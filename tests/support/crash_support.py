"""The real bot as a separate process (``python main.py run``) against the fake Telegram, for crash
tests: start it, drive people, SIGKILL it the moment a chosen call is accepted, start it again against
the same fake (which delivers the unconfirmed updates again, as Telegram does), look at the database.

    bot = CrashBot(forks, tg, db_url, tmp_path)       # forks: a ForkServer that preloaded the app
    await bot.start()
    await bot.step(olga.send("/add"), "Шаг 1 из 5")   # the bot confirms updates before handling
    hook = await bot.crash_at(olga.send("Иван"), chat_id=olga.id, text_contains="Шаг 2")
    await bot.restart()
    await bot.settle(olga)                            # the redelivered update is handled (or skipped)
    assert tg.sent_count(...) == 1
    await bot.stop()

The bot polls with ``handle_as_tasks=True`` (what main.py runs), so an update is confirmed before it
is handled: ``step`` waits for the reply the test expects instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeTelegram, FakeUser, KillHook, Replies
from tests.fakebot.process import BotProcess, ColdStarter, ForkServer

ROOT = Path(__file__).resolve().parents[2]
# What `python main.py run` imports before it polls; forked children start with these loaded.
PRELOAD = ["bot.app", "bot.migrate", "bot.webhook", "alembic.command", "aiogram.fsm.storage.redis"]
START_TIMEOUT = 20.0


def fork_server() -> ForkServer | ColdStarter:
    """What starts the bot processes: a fork server with the app preloaded (fast), or, with
    CRASH_TESTS_COLD=1 in the environment, a plain `python main.py run` every time (seconds each)."""
    forks: ForkServer | ColdStarter
    if os.environ.get("CRASH_TESTS_COLD", "") not in ("", "0"):
        forks = ColdStarter(root=ROOT)
    else:
        forks = ForkServer(PRELOAD, root=ROOT)
    forks.start()
    return forks


def bot_env(tg: FakeTelegram, db_url: str, **overrides: str) -> dict[str, str]:
    """The environment of `python main.py run` against the fake: no setting comes from the caller's
    environment (nor from a .env: the bot runs in an empty directory)."""
    settings = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in settings}
    env.update(
        BOT_TOKEN=tg.token,
        TELEGRAM_API_URL=tg.base_url,
        DATABASE_URL=db_url,
        ADMIN_IDS=str(ADMIN_ID),
        DEFAULT_LANGUAGE="ru",
        DEFAULT_TIMEZONE="Europe/Moscow",
        SEND_RATE="30",
        LOG_LEVEL="INFO",
        # The admins' daily digest half a day away, so it never lands in the middle of a test.
        DIGEST_HOUR=str((datetime.now(ZoneInfo("Europe/Moscow")).hour + 12) % 24),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class CrashBot:
    """One bot at a time, started and restarted against the same fake and database."""

    def __init__(
        self, forks: ForkServer | ColdStarter, tg: FakeTelegram, db_url: str, workdir: Path, **env: str
    ) -> None:
        self.forks = forks
        self.tg = tg
        self.env = bot_env(tg, db_url, **env)
        self.workdir = workdir / "bot"
        self.workdir.mkdir(exist_ok=True)
        self.runs: list[BotProcess] = []

    @property
    def process(self) -> BotProcess:
        assert self.runs, "CrashBot.start() first"
        return self.runs[-1]

    @property
    def pid(self) -> int:
        return self.process.pid

    async def start(self) -> BotProcess:
        """A new `python main.py run`; returns once it polls for updates."""
        assert not self.runs or not self.process.alive, "the bot is still running"
        polls = self.tg.updates.polls
        log = self.workdir / f"run{len(self.runs) + 1}.log"
        process = self.forks.spawn(["main.py", "run"], env=self.env, cwd=self.workdir, log=log)
        self.runs.append(process)
        waiting = asyncio.ensure_future(self.tg.wait_for_bot(polls_before=polls, within=START_TIMEOUT))
        while not waiting.done():
            if not process.alive:
                waiting.cancel()
                raise AssertionError(f"the bot exited before polling; its log:\n{process.log()}")
            await asyncio.wait({waiting}, timeout=0.02)
        try:
            waiting.result()
        except AssertionError as e:
            raise AssertionError(f"{e}; the bot's log:\n{process.log()}") from None
        return process

    async def restart(self) -> BotProcess:
        """Start again after a crash (the killed process must be gone)."""
        await self.process.wait_dead()
        return await self.start()

    async def stop(self) -> None:
        for run in self.runs:
            await run.kill()

    async def step(self, action: Awaitable[Replies], expect: str | None, person: FakeUser) -> Any:
        """Do ``action`` and wait until ``person`` got a message containing ``expect`` (any, if None)."""
        since = len(self.tg.chat(person.id).events)
        replies = await action
        try:
            await self.tg.wait_for_message(person, expect, since=since)
        except AssertionError as e:
            raise AssertionError(f"{e}\nthe bot's log:\n{self.process.log()}") from None
        return replies

    async def crash_at(
        self,
        action: Awaitable[Replies],
        *,
        chat_id: int,
        text_contains: str,
        method: str | None = None,
    ) -> tuple[KillHook, asyncio.Future[Replies]]:
        """Do ``action``; SIGKILL the bot right after it made the matching call (it took effect: the
        person sees it). Returns the hook and the action, which completes once a bot confirms the
        update (after the restart: it comes again)."""
        hook = self.tg.kill_on(self.pid, method=method, chat_id=chat_id, text_contains=text_contains)
        pending = asyncio.ensure_future(action)
        try:
            await hook.wait()
        except AssertionError as e:
            hook.disarm()
            pending.cancel()
            raise AssertionError(f"{e}\nthe bot's log:\n{self.process.log()}") from None
        await self.process.wait_dead()
        return hook, pending

    async def settle(
        self,
        person: FakeUser,
        pending: asyncio.Future[Replies] | None = None,
        probe: Awaitable[Replies] | None = None,
        expect: str | None = None,
    ) -> None:
        """After a restart: the redelivered update was confirmed, and ``person``'s chat is quiet again.

        A probe (default: /help; ``expect`` what it answers) goes to the same chat after the
        redelivered update; updates of one chat are handled one at a time, in order, so once the probe
        is answered, whatever the redelivered update did has been done. A short quiet pause follows,
        for a bot that (wrongly) handles them concurrently."""
        if pending is not None:
            await asyncio.wait_for(pending, self.tg.update_timeout)
        await self.step(probe if probe is not None else person.send("/help"), expect, person)
        await self.tg.wait_quiet()


def sent_texts(tg: FakeTelegram, chat_id: int, contains: str) -> list[str]:
    """Texts of every accepted sendMessage to ``chat_id`` containing ``contains`` (deleted ones too)."""
    failed = {id(error.params) for error in tg.errors}
    return [
        p["text"]
        for p in tg.calls_of("sendMessage")
        if id(p) not in failed and p.get("chat_id") == chat_id and contains in p["text"]
    ]


def shown_texts(tg: FakeTelegram, chat_id: int, contains: str) -> list[str]:
    """What the person sees now: messages in the chat whose text contains ``contains``."""
    return [m.text or "" for m in tg.chat(chat_id).visible_bot_messages() if contains in (m.text or "")]


def callback_answers(tg: FakeTelegram, contains: str) -> list[str]:
    """Accepted callback answers whose text contains ``contains``."""
    failed = {id(error.params) for error in tg.errors}
    return [
        p.get("text") or ""
        for p in tg.calls_of("answerCallbackQuery")
        if id(p) not in failed and contains in (p.get("text") or "")
    ]
