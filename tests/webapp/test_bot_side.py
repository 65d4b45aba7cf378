"""The Mini App's entry points in the chat: /board, the Board button on /deals and the chat's menu
button — and without WEBAPP_URL, /board says how to enable it and no button is shown."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.config import SettingsError, load_settings
from bot.views.deals import money
from bot.webapp.render import whole_money
from tests.conftest import app_settings, running_app
from tests.support.people import manager
from tests.support.webapp import WEBAPP_URL

ANNA = 200


async def test_board_and_deals_offer_the_mini_app_and_staff_get_the_menu_button(app, tg):
    anna = await manager(app, tg, ANNA, "Anna")
    answer = (await anna.send("/board")).last
    assert "Доска сделок" in answer.text
    assert answer.button("📋 Доска") == {"text": "📋 Доска", "web_app": {"url": WEBAPP_URL + "/"}}
    assert (await anna.send("/deals")).last.labels[-1] == "📋 Доска"
    await app.startup(start_scheduler=False)  # menus again, now that Anna has opened the chat
    menu = tg.api.menu_buttons.get(ANNA)
    assert menu == {"type": "web_app", "text": "📋 Доска", "web_app": {"url": WEBAPP_URL + "/"}}


async def test_without_webapp_url_board_says_how_to_enable_it(tg, db_url, engine, clock):
    async with running_app(app_settings(tg, db_url), clock, engine) as app:
        await tg.wait_for_bot()
        anna = await manager(app, tg, ANNA, "Anna")
        answer = (await anna.send("/board")).last
        assert "WEBAPP_URL" in answer.text and answer.labels == []
        assert "📋 Доска" not in (await anna.send("/deals")).last.labels
        assert ANNA not in tg.api.menu_buttons


def test_webapp_url_must_be_https():
    with pytest.raises(SettingsError, match="WEBAPP_URL"):
        load_settings(_env_file=None, webapp_url="http://crm.example.com/app")
    assert load_settings(_env_file=None, webapp_url="https://crm.example.com/app/").webapp_url == (
        "https://crm.example.com/app"
    )
    assert load_settings(_env_file=None, webapp_url="").webapp_url is None


@pytest.mark.parametrize("locale", ["ru", "en"])
@pytest.mark.parametrize("currency", ["RUB", "USD", "EUR", "KZT"])
def test_amounts_read_as_in_the_bot(locale, currency):
    for value in ("0", "7", "999", "1000", "150000", "1234567.00", "12.50", "999999999999.99"):
        assert whole_money(Decimal(value), currency, locale) == money(Decimal(value), currency, locale)


async def test_webhook_mode_serves_the_mini_app_beside_the_webhook(tg, db_url, engine, clock):
    from aiohttp.test_utils import TestClient, TestServer

    from bot.app import create_app
    from bot.webhook import build_web_app

    settings = app_settings(
        tg, db_url, webhook_url="https://crm.test/tg", webhook_secret="s3cret", webapp_url=WEBAPP_URL
    )
    app = create_app(settings, clock=clock, engine=engine)
    http = TestClient(TestServer(build_web_app(app)))
    await http.start_server()
    try:
        page = await http.get("/app/")
        assert page.status == 200 and "Content-Security-Policy" in page.headers
        assert (await http.get("/app/f/board")).status == 401
        assert await (await http.get("/healthz")).text() == "ok"
        assert (await http.post("/tg", json={})).status == 401  # the webhook still wants its secret
    finally:
        await http.close()
        await app.shutdown()
    with pytest.raises(SettingsError, match="WEBAPP_URL: needs a path"):
        app_settings(
            tg, db_url, webhook_url="https://crm.test/tg", webhook_secret="s", webapp_url="https://crm.test"
        )
