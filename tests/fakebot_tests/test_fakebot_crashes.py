"""Tests of the fake's batches, kill hooks and the fork server (tests/fakebot), without the CRM app."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from tests.fakebot import FakeTelegram
from tests.fakebot.process import ForkServer
from tests.fakebot_tests.test_fakebot import make_bot

ALICE, BOB = 1001, 1002


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegram) -> AsyncIterator[Bot]:
    bot = make_bot(server)
    yield bot
    await bot.session.close()


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A process for kill hooks to kill."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


async def polling(dp: Dispatcher, bot: Bot, server: FakeTelegram, *, as_tasks: bool) -> asyncio.Task[None]:
    task = asyncio.create_task(
        dp.start_polling(
            bot, handle_as_tasks=as_tasks, polling_timeout=1, handle_signals=False, close_bot_session=False
        )
    )
    await server.wait_for_bot()
    return task


def recording_dispatcher(seen: list[tuple[int, str]]) -> Dispatcher:
    dp = Dispatcher()

    @dp.message(F.text == "/menu")
    async def menu(message: Message) -> None:
        button = InlineKeyboardButton(text="OK", callback_data="ok")
        await message.answer("Menu", reply_markup=InlineKeyboardMarkup(inline_keyboard=[[button]]))

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        seen.append((message.chat.id, message.text or ""))
        await message.answer(f"echo: {message.text}")

    @dp.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        seen.append((query.from_user.id, f"pressed {query.data}"))
        await query.answer(f"answer {len(seen)}")

    return dp


# --- batches ---


async def test_a_batch_arrives_in_one_get_updates_response(server: FakeTelegram, bot: Bot) -> None:
    alice, bob = server.user(ALICE, "Alice"), server.user(BOB, "Bob")
    seen: list[tuple[int, str]] = []
    dp = recording_dispatcher(seen)
    sizes: list[int] = []
    get_updates = server.api.handlers["getUpdates"]

    async def counting(params: dict[str, Any]) -> Any:
        updates = await get_updates(params)
        if updates:
            sizes.append(len(updates))
        return updates

    server.api.handlers["getUpdates"] = counting
    task = await polling(dp, bot, server, as_tasks=False)
    await alice.send("/menu")
    replies = await server.send_batch(
        alice.send("one"), bob.send("two"), alice.press("OK"), alice.press("OK")
    )
    await dp.stop_polling()
    await task
    assert sizes == [1, 4]
    assert seen == [(ALICE, "one"), (BOB, "two"), (ALICE, "pressed ok"), (ALICE, "pressed ok")]
    assert [r.update_id for r in replies] == [2, 3, 4, 5]
    assert replies[0].texts == ["echo: one"] and replies[1].texts == ["echo: two"]  # per chat
    assert [r.callback_answer.text for r in replies[2:] if r.callback_answer] == ["answer 3", "answer 4"]


async def test_settle_waits_for_a_bot_that_handles_updates_as_tasks(server: FakeTelegram, bot: Bot) -> None:
    seen: list[tuple[int, str]] = []
    dp = Dispatcher()

    @dp.message()
    async def slow(message: Message) -> None:
        await asyncio.sleep(0.2)  # the update was confirmed long ago
        seen.append((message.chat.id, message.text or ""))
        await message.answer("done")

    async def handlers_done() -> None:
        while tasks := set(dp._handle_update_tasks):
            await asyncio.wait(tasks)

    server.settle = handlers_done
    task = await polling(dp, bot, server, as_tasks=True)
    replies = await server.user(ALICE, "Alice").send("hi")
    await dp.stop_polling()
    await task
    assert replies.texts == ["done"] and seen == [(ALICE, "hi")]


async def test_a_batch_needs_person_actions(server: FakeTelegram) -> None:
    async def nothing() -> Any:
        return None

    with pytest.raises(AssertionError, match="2 actions submitted 0 updates"):
        await server.send_batch(nothing(), nothing())


async def test_wait_for_message(server: FakeTelegram, bot: Bot) -> None:
    alice = server.user(ALICE, "Alice", started=True)
    since = len(server.chat(ALICE).events)
    later = asyncio.ensure_future(server.wait_for_message(alice, "second", since=since))
    await bot.send_message(ALICE, "first")
    await bot.send_message(ALICE, "the second one")
    assert (await later).text == "the second one"
    with pytest.raises(AssertionError, match="no message containing 'third' reached Alice"):
        await server.wait_for_message(alice, "third", within=0.05)


# --- kill hooks ---


async def test_kill_hook_kills_after_the_call_took_effect(
    server: FakeTelegram, bot: Bot, sleeper: subprocess.Popen[bytes]
) -> None:
    alice = server.user(ALICE, "Alice", started=True)
    hook = server.kill_on(sleeper.pid, method="sendMessage", chat_id=ALICE, text_contains="Saved")
    await bot.send_message(ALICE, "Not yet")
    assert sleeper.poll() is None and not hook.fired
    await bot.send_message(ALICE, "<b>Saved</b>, thanks", parse_mode="HTML")
    call = await hook.wait()
    assert call.method == "sendMessage" and hook.fired and not hook.armed
    assert await asyncio.to_thread(sleeper.wait, 5) == -9
    assert [m.text for m in alice.messages] == ["Not yet", "Saved, thanks"]  # she saw it
    await bot.send_message(ALICE, "Saved again")  # fires once
    assert hook.call is call


async def test_kill_hook_on_a_callback_answer_matches_the_chat_of_who_pressed(
    server: FakeTelegram, bot: Bot, sleeper: subprocess.Popen[bytes]
) -> None:
    seen: list[tuple[int, str]] = []
    dp = recording_dispatcher(seen)
    task = await polling(dp, bot, server, as_tasks=False)
    alice, bob = server.user(ALICE, "Alice"), server.user(BOB, "Bob")
    await alice.send("/menu")
    await bob.send("/menu")
    hook = server.kill_on(sleeper.pid, method="answerCallbackQuery", chat_id=ALICE, hold_offset=False)
    await bob.press("OK")
    assert not hook.fired
    await alice.press("OK")
    await hook.wait()
    await dp.stop_polling()
    await task


async def test_an_armed_hook_holds_the_confirmation_and_drops_it_when_it_fires(
    server: FakeTelegram, bot: Bot, sleeper: subprocess.Popen[bytes]
) -> None:
    alice = server.user(ALICE, "Alice", started=True)
    server.submit(alice, "message", alice.new_message(text="a"))
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [1]
    server.kill_on(sleeper.pid, text_contains="boom")
    confirming = asyncio.ensure_future(bot.get_updates(offset=2, timeout=0))
    await asyncio.sleep(0.05)
    assert not confirming.done() and server.updates.pending_count == 1  # in flight
    await bot.send_message(ALICE, "boom")
    assert await confirming == []  # the confirmation never arrived: the update comes again
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [1]
    hook2 = server.kill_on(sleeper.pid, text_contains="never")
    confirming = asyncio.ensure_future(bot.get_updates(offset=2, timeout=0))
    await asyncio.sleep(0.05)
    hook2.disarm()  # disarmed without firing: the confirmation goes through
    assert await confirming == [] and server.updates.pending_count == 0


async def test_a_hook_that_never_fires_says_so(
    server: FakeTelegram, sleeper: subprocess.Popen[bytes]
) -> None:
    hook = server.kill_on(sleeper.pid, method="sendMessage", text_contains="x")
    with pytest.raises(AssertionError, match=r"never made the call kill_on\(method='sendMessage'"):
        await hook.wait(within=0.05)


# --- the fork server ---


@pytest.fixture(scope="module")
def forks() -> Iterator[ForkServer]:
    server = ForkServer(["json"], root=Path(__file__).resolve().parents[2])
    server.start()
    yield server
    server.close()


async def test_fork_server_runs_a_script_as_main_in_a_new_process(forks: ForkServer, tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(
        "import os, sys\n"
        "print(__name__, sys.argv[1:], os.environ['GREETING'], os.getcwd(), os.getppid() != 0)\n"
        "raise SystemExit(3)\n"
    )
    child = forks.spawn([str(script), "a", "b"], env={"GREETING": "hi"}, cwd=tmp_path, log=tmp_path / "log")
    await child.wait_dead()
    assert f"__main__ ['a', 'b'] hi {tmp_path} True" in child.log()
    assert "[process exited with code 3]" in child.log()


async def test_fork_server_children_are_killed(forks: ForkServer, tmp_path: Path) -> None:
    script = tmp_path / "sleep.py"
    script.write_text("import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    first = forks.spawn([str(script)], env={}, cwd=tmp_path, log=tmp_path / "1.log")
    second = forks.spawn([str(script)], env={}, cwd=tmp_path, log=tmp_path / "2.log")
    assert first.pid != second.pid and first.alive and second.alive
    await first.kill()
    assert not first.alive and second.alive
    await second.terminate(grace=2)
    assert not second.alive
