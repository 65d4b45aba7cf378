"""FSM storage in the database, so a restart doesn't drop a half-done dialog (used without Redis)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder, KeyBuilder, StateType, StorageKey
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.fsm import FsmRecord
from services.clock import Clock, SystemClock


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

    async def _load(self, key: StorageKey) -> FsmRecord | None:
        async with self.session_factory() as session:
            return await session.get(FsmRecord, self.key_builder.build(key))

    async def _save(self, key: StorageKey, **values: Any) -> None:
        db_key = self.key_builder.build(key)
        async with self.session_factory() as session, session.begin():
            record = await session.get(FsmRecord, db_key)
            if record is None:
                record = FsmRecord(key=db_key, state=None, data={}, created_at=self.clock.now())
                session.add(record)
            for name, value in values.items():
                setattr(record, name, value)
            record.updated_at = self.clock.now()
            if record.state is None and not record.data:
                await session.execute(delete(FsmRecord).where(FsmRecord.key == db_key))

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
