"""A manager works the Mini App in a real browser (Chromium through Playwright), the Telegram side
stubbed with initData signed by the test's token: the board, a move by the stage menu, a lost deal
with its reason, a drag on a wide screen, search, the card, a logged contact through the MainButton;
then the bot, through the fake Bot API, shows the same. Screenshots of the board in the light and
dark theme are kept in tests/artifacts/."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from models.deals import Deal
from models.users import User
from services import deals as deals_service
from services.deals import Draft
from tests.support.people import client_record, manager
from tests.support.webapp import BASE, sign_init_data, webapp_client
from tests.support.workspace import STAGES

ANNA = 200
STUB = (Path(__file__).parent / "stub.js").read_text()
LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "button_color": "#2481cc", "hint_color": "#999999"}
DARK = {
    "bg_color": "#17212b",
    "text_color": "#f5f5f5",
    "hint_color": "#708499",
    "button_color": "#5288c1",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#232e3c",
}
XSS = "<img src=x onerror=alert(1)>"


async def add_deal(app, client_id: int, title: str, stage: str = "new", **draft) -> int:
    async with app.session_factory() as s, s.begin():
        user = await s.get(User, ANNA)
        now = app.clock.now()
        step = draft.pop("step", None)
        deal = await deals_service.create(
            s, user, client_id, Draft(title=title, stage=stage, **draft), STAGES, now, step=step
        )
        return deal.id


async def open_page(browser, app, url: str, *, scheme: str, theme: dict, width: int = 390):
    """A fresh page with the Telegram stub; every request off this machine is refused."""
    context = await browser.new_context(viewport={"width": width, "height": 800}, device_scale_factor=1)
    init_data = sign_init_data(app.settings.bot_token, ANNA, app.clock.now())
    script = STUB.replace(
        "__CONFIG__", json.dumps({"initData": init_data, "colorScheme": scheme, "themeParams": theme})
    )
    problems: list[str] = []

    async def route(route):
        if route.request.url.startswith("https://telegram.org/"):
            await route.fulfill(body=script, content_type="text/javascript")
        elif route.request.url.startswith("http://127.0.0.1"):
            await route.continue_()
        else:
            problems.append(f"external request: {route.request.url}")
            await route.abort()

    await context.route("**/*", route)
    page = await context.new_page()
    page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    await page.goto(url)
    await page.wait_for_selector("section.col")
    return context, page, problems


def column(page, stage: str):
    return page.locator(f'section.col[data-stage="{stage}"]')


async def test_a_manager_works_the_board_in_a_browser(browser, artifacts, app, tg, db_url):
    from playwright.async_api import expect  # here: without Playwright the fixture skips first

    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    anna = await manager(app, tg, ANNA, "Anna")
    petrov = await client_record(app, ANNA, "Иван Петров", company="ООО Ромашка")
    hacker = await client_record(app, ANNA, XSS)
    due = app.clock.now() - timedelta(hours=2)
    machines = await add_deal(app, petrov, "Станки", amount=Decimal(150000), step=("Отправить КП", due))
    risky = await add_deal(app, hacker, "Скрипт <b>жирный</b>", amount=Decimal(5000))
    dragged = await add_deal(app, petrov, "Монтаж", stage="qualification", amount=Decimal(20000))
    for i in range(6):
        await add_deal(app, petrov, f"Поставка {i}", stage=STAGES[i % 4], amount=Decimal(1000 * (i + 1)))

    async with webapp_client(app) as http:
        url = str(http.make_url(f"{BASE}/"))
        context, page, problems = await open_page(browser, app, url, scheme="light", theme=LIGHT)
        await page.screenshot(path=str(artifacts / f"board-light-{backend}.png"), full_page=True)

        # the board: a column per stage, totals, the overdue next step, user data shown literally
        assert await page.locator("section.col").count() == len(STAGES)
        card = page.locator(f'li[data-d="{machines}"]')
        assert "Иван Петров" in await card.inner_text() and "Станки" in await card.inner_text()
        assert await card.locator("small.od").inner_text() == "Отправить КП · 10 мар., 08:00"
        assert await page.locator(f'li[data-d="{risky}"] b').inner_text() == XSS
        assert await page.locator(f'li[data-d="{risky}"] span').inner_text() == "Скрипт <b>жирный</b>"
        assert await page.locator("img").count() == 0
        assert await page.evaluate("window.__tg.ready") is True

        # a move from the stage menu (the phone's way)
        await card.click()
        await page.locator('#stage-menu [data-stage-to="proposal"]').click()
        await column(page, "proposal").locator(f'li[data-d="{machines}"]').wait_for()
        assert await page.locator("#toast").inner_text() == "Перенесено."

        # lost asks for a reason first
        await page.locator(f'li[data-d="{risky}"]').click()
        await page.locator('#stage-menu [data-stage-to="lost"]').click()
        await page.locator("#stage-menu textarea").fill("Дорого")
        await page.locator("#stage-menu [data-lost-ok]").click()
        await column(page, "lost").locator(f'li[data-d="{risky}"]').wait_for()

        # the clients tab: the same search as /find; the card; a contact logged with the MainButton
        await page.locator('[data-go="clients"]').click()
        await page.locator("input[name=q]").fill("петр")
        await expect(page.locator(".list li[data-client]")).to_have_count(1)
        await page.locator(".list li[data-client]").click()
        await page.locator(".tgtext").wait_for()
        assert "Иван Петров" in await page.locator(".tgtext").inner_text()
        assert await page.evaluate("window.__tg.back") is True
        assert await page.evaluate("window.__tg.mainText") == "📞 Записать контакт"
        await page.locator("#log-form select[name=kind]").select_option("meeting")
        await page.locator("#log-form select[name=outcome]").select_option("agreed")
        await page.locator("#log-form textarea[name=note]").fill("Обсудили КП <script>")
        await page.evaluate("window.__tg.main()")
        await page.locator(".log li", has_text="Обсудили КП <script>").wait_for()
        await page.evaluate("window.__tg.backHandler()")  # Telegram's BackButton: back to the list
        await page.locator(".list li[data-client]").first.wait_for()
        await context.close()

        # a wide screen: drag a card to another column
        context, page, more_problems = await open_page(
            browser, app, url, scheme="light", theme=LIGHT, width=1280
        )
        await page.locator(f'li[data-d="{dragged}"]').drag_to(column(page, "negotiation"))
        await column(page, "negotiation").locator(f'li[data-d="{dragged}"]').wait_for()
        await context.close()

        # the dark theme, from Telegram's themeParams
        context, page, dark_problems = await open_page(browser, app, url, scheme="dark", theme=DARK)
        background = await page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(23, 33, 43)"
        await page.screenshot(path=str(artifacts / f"board-dark-{backend}.png"), full_page=True)
        await context.close()
    assert problems + more_problems + dark_problems == []
    print(f"screenshots: {artifacts}/board-light-{backend}.png, board-dark-{backend}.png")

    # the bot shows the same: the deals in their new stages, the lost reason, the logged contact
    async with app.session_factory() as s:
        stages = dict((await s.execute(select(Deal.id, Deal.stage))).all())
        assert (stages[machines], stages[risky], stages[dragged]) == ("proposal", "lost", "negotiation")
        assert (await s.get(Deal, risky)).lost_reason == "Дорого"
    overview = (await anna.send("/deals")).last
    assert "предложение: 2" in overview.text and "проиграна: 1" in overview.text
    assert "📋 Доска" in overview.labels
    stage = await anna.press("переговоры · 2")
    assert "Монтаж" in " ".join(stage.last.labels)
    found = await anna.send("/find Петров")
    assert "Последний контакт: 10 мар." in found.last.text or "Иван Петров" in found.last.text
    history = await anna.press("📜 История", message=found.last)
    assert "Обсудили КП &lt;script&gt;" in history.last.html or "Обсудили КП <script>" in history.last.text
