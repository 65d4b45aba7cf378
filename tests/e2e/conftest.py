"""Fixtures the crash tests share (tests/e2e/test_crash*.py): the fork server that starts the real bot
as a separate process, and a session factory on the test database beside it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.db import create_session_factory
from tests.fakebot.process import ColdStarter, ForkServer
from tests.support.crash_support import fork_server


@pytest.fixture(scope="module")
def forks() -> Iterator[ForkServer | ColdStarter]:
    server = fork_server()
    yield server
    server.close()


@pytest.fixture
def db(engine: AsyncEngine) -> async_sessionmaker:
    return create_session_factory(engine)
