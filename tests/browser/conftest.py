"""Browser tests: Debian's Chromium driven by Playwright (Playwright's own browser download isn't
used). Without Chromium they are skipped with the reason; with REQUIRE_BROWSER=1 (.ci/run) they fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import app_settings, running_app
from tests.support.webapp import WEBAPP_URL

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def missing_browser() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)"
    return None


@pytest.fixture
async def browser():
    reason = missing_browser()
    if reason:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here (REQUIRE_BROWSER=1): {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def app(tg, db_url, engine, clock):
    async with running_app(app_settings(tg, db_url, webapp_url=WEBAPP_URL), clock, engine) as running:
        await tg.wait_for_bot()
        yield running
