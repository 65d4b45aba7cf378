"""Dialog (FSM) state that commits with the update.

`SqlStorage`: in the database, so a restart doesn't drop a half-done dialog (used without Redis).

Inside an update, dialog state is read and written through the update's own session (set by the
session middleware in `CURRENT_SESSION`): the state change commits or rolls back together with
what the handler saved, and on SQLite it never waits on the update's own write lock. aiogram's FSM
middleware runs after the session middleware (bot/app.py), so even its first read of the state is a
statement of the update's session. Outside an update (scripts, tests) it uses a session of its own.

`CommitBoundStorage`: wraps Redis (or any other storage) so that a dialog step's state is written only
after the update's transaction committed (just before its replies leave, bot/outbox.py), and not at
all when it rolled back: a prompt is never shown for a step whose state wasn't saved, and a failed
step leaves the dialog where it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox import OUTBOX
from models.fsm import FsmRecord
from services.clock import Clock, SystemClock

CURRENT_SESSION: ContextVar[AsyncSession | None] = ContextVar("current_session", default=None)


class SqlStorage(BaseStorage):
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        self.clock = clock or SystemClock()

    @asynccontextmanager
    async def _session(self, write: bool) -> AsyncIterator[AsyncSession]:
        current = CURRENT_SESSION.get()
        if current is not None:
            yield current
            await current.flush()
            return
        async with self.session_factory() as session:
            if write:
                async with session.begin():
                    yield session
            else:
                yield session

    async def _load(self, key: StorageKey) -> FsmRecord | None:
        async with self._session(write=False) as session:
            return await session.get(FsmRecord, self.key_builder.build(key))

    async def _save(self, key: StorageKey, **values: Any) -> None:
        db_key = self.key_builder.build(key)
        async with self._session(write=True) as session:
            record = await session.get(FsmRecord, db_key)
            if record is None:
                if not any(values.values()):
                    return  # clearing what isn't there
                record = FsmRecord(key=db_key, state=None, data={}, created_at=self.clock.now())
                session.add(record)
            for name, value in values.items():
                setattr(record, name, value)
            record.updated_at = self.clock.now()
            if record.state is None and not record.data:
                await session.delete(record)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._save(key, state=value)

    async def get_state(self, key: StorageKey) -> str | None:
        record = await self._load(key)
        return record.state if record else None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._save(key, data=dict(data))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        record = await self._load(key)
        return dict(record.data) if record and record.data else {}

    async def close(self) -> None:
        return None


def _held(key: StorageKey) -> dict[str, Any] | None:
    """What this update wrote for `key` and hasn't saved yet (it is saved after the commit)."""
    box = OUTBOX.get()
    return box.pending_state.get(key) if box is not None else None


class CommitBoundStorage(BaseStorage):
    def __init__(self, inner: BaseStorage) -> None:
        self.inner = inner

    def _pending(self, key: StorageKey) -> dict[str, Any] | None:
        box = OUTBOX.get()
        if box is None:
            return None
        entry = box.pending_state.get(key)
        if entry is None:
            entry = box.pending_state[key] = {}

            async def apply() -> None:
                if "state" in entry:
                    await self.inner.set_state(key, entry["state"])
                if "data" in entry:
                    await self.inner.set_data(key, entry["data"])

            box.after_commit.append(apply)
        return entry

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        entry = self._pending(key)
        if entry is None:
            await self.inner.set_state(key, value)
        else:
            entry["state"] = value

    async def get_state(self, key: StorageKey) -> str | None:
        entry = _held(key)
        if entry is not None and "state" in entry:
            return entry["state"]
        return await self.inner.get_state(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        entry = self._pending(key)
        if entry is None:
            await self.inner.set_data(key, data)
        else:
            entry["data"] = dict(data)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        entry = _held(key)
        if entry is not None and "data" in entry:
            return dict(entry["data"])
        return await self.inner.get_data(key)

    async def close(self) -> None:
        await self.inner.close()
