"""The production poller (bot/polling.py) against a fake getUpdates that records every offset: an
update is confirmed to Telegram only once it was handled, chats run side by side, a stop lets the
running update finish and confirms it, and an update delivered again while it runs isn't started
twice."""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram.methods import GetUpdates
from aiogram.types import Update

from bot.polling import Poller


def message(update_id: int, chat_id: int, text: str = "hi") -> Update:
    return Update.model_validate(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "P"},
                "text": text,
            },
        }
    )


class FakeTelegram:
    """getUpdates only: hands out the pending updates not below the offset, records each offset, and
    forgets what an offset confirmed (like Telegram). `redeliver` makes it ignore confirmations."""

    def __init__(self, *updates: Update, redeliver: bool = False) -> None:
        self.pending = list(updates)
        self.offsets: list[int | None] = []
        self.redeliver = redeliver
        self.polled = asyncio.Event()

    async def __call__(self, method: GetUpdates, request_timeout: int | None = None) -> list[Update]:
        assert isinstance(method, GetUpdates)
        self.offsets.append(method.offset)
        if method.offset is not None and not self.redeliver:
            self.pending = [u for u in self.pending if u.update_id >= method.offset]
        self.polled.set()
        await asyncio.sleep(0.005)  # a long poll with nothing new
        return list(self.pending)

    def confirmed(self, update_id: int) -> bool:
        return any(o is not None and o > update_id for o in self.offsets)


class FakeDispatcher:
    """Handles an update by waiting for the test to release it: `started[id]` is set when it starts."""

    def __init__(self) -> None:
        self.started: dict[int, asyncio.Event] = {}
        self.release: dict[int, asyncio.Event] = {}
        self.handled: list[int] = []
        self.starts: list[int] = []

    def gate(self, update_id: int) -> None:
        self.started[update_id] = asyncio.Event()
        self.release[update_id] = asyncio.Event()

    async def feed_update(self, bot: Any, update: Update) -> None:
        uid = update.update_id
        self.starts.append(uid)
        if uid in self.started:
            self.started[uid].set()
            await self.release[uid].wait()
        self.handled.append(uid)


async def until(predicate, seconds: float = 2.0) -> None:
    """Wait until `predicate()` holds: it reads the poller's and the fakes' state, which no event marks."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.002)


async def running(dp: FakeDispatcher, tg: FakeTelegram):
    stop = asyncio.Event()
    poller = Poller(dp, tg, timeout=1)  # type: ignore[arg-type]
    return stop, asyncio.create_task(poller.run(stop))


async def test_the_offset_never_passes_an_update_still_being_handled():
    tg = FakeTelegram(message(10, 1), message(11, 2), message(12, 3))
    dp = FakeDispatcher()
    dp.gate(11)
    stop, task = await running(dp, tg)
    await dp.started[11].wait()
    await until(lambda: dp.handled == [10, 12])
    marker = len(tg.offsets)
    await until(lambda: len(tg.offsets) > marker + 3)  # it kept polling meanwhile
    assert not tg.confirmed(11), tg.offsets
    assert all(o is None or o <= 11 for o in tg.offsets), tg.offsets  # 12, done, waits behind 11
    dp.release[11].set()
    await until(lambda: tg.confirmed(12))
    stop.set()
    await asyncio.wait_for(task, 2)
    assert sorted(dp.handled) == [10, 11, 12]


async def test_updates_of_two_chats_are_handled_at_once():
    tg = FakeTelegram(message(1, 100), message(2, 200))
    dp = FakeDispatcher()
    dp.gate(1)
    dp.gate(2)
    stop, task = await running(dp, tg)
    # both started while neither has finished
    await asyncio.wait_for(asyncio.gather(dp.started[1].wait(), dp.started[2].wait()), 2)
    assert dp.handled == []
    dp.release[1].set()
    dp.release[2].set()
    await until(lambda: tg.confirmed(2))
    stop.set()
    await asyncio.wait_for(task, 2)


async def test_a_stop_lets_the_running_update_finish_and_then_confirms_it():
    tg = FakeTelegram(message(7, 1))
    dp = FakeDispatcher()
    dp.gate(7)
    stop, task = await running(dp, tg)
    await dp.started[7].wait()
    stop.set()
    await asyncio.sleep(0.05)
    assert not task.done(), "the poller stopped while the update still ran"
    assert not tg.confirmed(7)
    dp.release[7].set()
    await asyncio.wait_for(task, 2)
    assert dp.handled == [7]
    assert tg.offsets[-1] == 8, tg.offsets  # confirmed on the way out


async def test_a_redelivered_update_still_running_is_not_started_twice():
    # Telegram hands update 5 out again on every poll (its offset isn't confirmed while it runs)
    tg = FakeTelegram(message(5, 1), redeliver=True)
    dp = FakeDispatcher()
    dp.gate(5)
    stop, task = await running(dp, tg)
    await dp.started[5].wait()
    marker = len(tg.offsets)
    await until(lambda: len(tg.offsets) > marker + 3)  # delivered again several times meanwhile
    assert dp.starts == [5]
    dp.release[5].set()
    await until(lambda: dp.handled == [5])
    marker = len(tg.offsets)
    await until(lambda: len(tg.offsets) > marker + 2)  # and again after it finished
    stop.set()
    await asyncio.wait_for(task, 2)
    assert dp.starts == [5] and dp.handled == [5]
