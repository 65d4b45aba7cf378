from __future__ import annotations

import pytest

from tests.conftest import app_settings, running_app
from tests.support.webapp import WEBAPP_URL


@pytest.fixture
async def app(tg, db_url, engine, clock):
    """The real app with the Mini App configured (WEBAPP_URL), polling the fake Bot API."""
    async with running_app(app_settings(tg, db_url, webapp_url=WEBAPP_URL), clock, engine) as running:
        await tg.wait_for_bot()
        yield running
