"""The Mini App over HTTP (aiohttp's test client): initData (valid, forged, expired, missing), roles
and ownership as in the bot, the stage change with its version guard, the client list, the card's
forms and My day, the security headers and escaping."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from models.analytics import RfmRun, RfmScore
from models.clients import Client, ClientStatus
from models.deals import Deal, DealEvent
from models.interactions import Interaction
from models.reminders import Reminder, ReminderStatus
from models.users import Role, User
from services import deals as deals_service
from services.deals import Draft
from tests.conftest import ADMIN_ID
from tests.support.people import client_record, manager, staff
from tests.support.webapp import BASE, auth_header, sign_init_data, webapp_client
from tests.support.workspace import STAGES

ANNA, BORIS, EVE = 200, 201, 300


async def add_deal(app, owner_id: int, client_id: int, title: str, stage: str = "new") -> int:
    async with app.session_factory() as s, s.begin():
        user = await s.get(User, owner_id)
        deal = await deals_service.create(
            s, user, client_id, Draft(title=title, stage=stage), STAGES, app.clock.now()
        )
        return deal.id


def as_user(app, uid: int, **kwargs) -> dict[str, str]:
    return auth_header(sign_init_data(app.settings.bot_token, uid, app.clock.now(), **kwargs))


async def test_the_page_is_served_with_a_strict_policy_and_no_inline_script(app):
    async with webapp_client(app) as http:
        page = await http.get(f"{BASE}/")
        assert page.status == 200
        html = await page.text()
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self' https://telegram.org;" in csp
        assert "frame-ancestors https://web.telegram.org https://*.telegram.org" in csp
        assert "unsafe-inline" not in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []  # every script is a file
        assert 'src="https://telegram.org/js/telegram-web-app.js"' in html
        script = re.search(r'src="(/app/static/app\.js\?v=\w+)"', html).group(1)
        js = await http.get(script)
        assert js.status == 200 and js.content_type == "text/javascript"
        assert "immutable" in js.headers["Cache-Control"]
        assert (await http.get(f"{BASE}/static/../config.py")).status == 404
        assert (await http.get(f"{BASE}/static/secret.txt")).status == 404


async def test_init_data_missing_forged_expired_or_valid(app, tg):
    await manager(app, tg, ANNA, "Anna")
    token, now = app.settings.bot_token, app.clock.now()
    valid = sign_init_data(token, ANNA, now)
    async with webapp_client(app) as http:
        url = f"{BASE}/f/board"
        missing = await http.get(url)
        assert missing.status == 401 and (await missing.json())["error"] == "missing"
        assert (await http.get(url, headers={"Authorization": valid})).status == 401  # no "tma "
        forged = sign_init_data("123:another-bots-token", ANNA, now)
        assert (await (await http.get(url, headers=auth_header(forged))).json())["error"] == "forged"
        tampered = valid.replace(f"%22id%22%3A{ANNA}", f"%22id%22%3A{ADMIN_ID}")
        assert tampered != valid
        assert (await http.get(url, headers=auth_header(tampered))).status == 401
        assert (await http.get(url, headers=auth_header("hash=abc&auth_date=1"))).status == 401
        old = sign_init_data(token, ANNA, now - timedelta(hours=24, minutes=1))
        expired = await http.get(url, headers=auth_header(old))
        assert expired.status == 401 and (await expired.json())["error"] == "expired"
        assert "истекла" in (await expired.json())["message"]
        future = sign_init_data(token, ANNA, now + timedelta(hours=1))
        assert (await http.get(url, headers=auth_header(future))).status == 401
        fresh = sign_init_data(token, ANNA, now - timedelta(hours=23))
        ok = await http.get(url, headers=auth_header(fresh))
        assert ok.status == 200 and "Content-Security-Policy" in ok.headers


async def test_customers_strangers_and_deactivated_managers_are_refused(app, tg):
    await manager(app, tg, ANNA, "Anna")
    await staff(app, tg, EVE, "Eve", role=Role.customer)
    async with webapp_client(app) as http:
        customer = await http.get(f"{BASE}/f/board", headers=as_user(app, EVE))
        assert customer.status == 403
        assert (await customer.json())["message"].startswith("⛔")
        assert (await http.get(f"{BASE}/f/clients", headers=as_user(app, 999))).status == 403  # never here
        assert (await http.get(f"{BASE}/f/board", headers=as_user(app, ANNA))).status == 200
        async with app.session_factory() as s, s.begin():
            (await s.get(User, ANNA)).is_active = False
        for path in ("/f/board", "/f/clients", "/f/today"):
            assert (await http.get(BASE + path, headers=as_user(app, ANNA))).status == 403


async def test_another_managers_client_and_deal_are_not_found(app, tg):
    await manager(app, tg, ANNA, "Anna")
    await manager(app, tg, BORIS, "Boris")
    boris_client = await client_record(app, BORIS, "Борисов Клиент")
    boris_deal = await add_deal(app, BORIS, boris_client, "Сделка Бориса")
    async with webapp_client(app) as http:
        anna = as_user(app, ANNA)
        assert (await http.get(f"{BASE}/f/clients/{boris_client}", headers=anna)).status == 404
        moved = await http.post(
            f"{BASE}/api/deals/{boris_deal}/stage", json={"version": 1, "stage": "proposal"}, headers=anna
        )
        assert moved.status == 404
        logged = await http.post(
            f"{BASE}/api/clients/{boris_client}/log",
            json={"kind": "call", "outcome": "reached"},
            headers=anna,
        )
        assert logged.status == 404
        board = await (await http.get(f"{BASE}/f/board?owner=all", headers=anna)).text()
        assert "Сделка Бориса" not in board  # a manager's board is their own, whatever they ask
        listing = await (await http.get(f"{BASE}/f/clients", headers=anna)).text()
        assert "Борисов" not in listing
        found = await (await http.get(f"{BASE}/f/clients?q=Борисов", headers=anna)).text()
        assert "data-client=" not in found and "Ничего не найдено" in found
        admin = as_user(app, ADMIN_ID)
        assert (await http.get(f"{BASE}/f/clients/{boris_client}", headers=admin)).status == 200
        everyone = await (await http.get(f"{BASE}/f/board?owner=all", headers=admin)).text()
        assert "Сделка Бориса" in everyone
        only_boris = await (await http.get(f"{BASE}/f/board?owner={BORIS}", headers=admin)).text()
        assert "Сделка Бориса" in only_boris
        assert (await http.get(f"{BASE}/f/board?owner=x", headers=admin)).status == 400


async def test_moving_a_card_is_the_bots_stage_change_with_its_version_guard(app, tg):
    await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "Иван Петров")
    deal_id = await add_deal(app, ANNA, client_id, "Станки")
    url = f"{BASE}/api/deals/{deal_id}/stage"
    async with webapp_client(app) as http:
        anna = as_user(app, ANNA)
        board = await (await http.get(f"{BASE}/f/board", headers=anna)).text()
        assert f'data-d="{deal_id}" data-v="1"' in board and "Станки" in board
        moved = await http.post(url, json={"version": 1, "stage": "proposal"}, headers=anna)
        assert moved.status == 200
        assert (await moved.json())["deal"] == {
            "id": deal_id,
            "version": 2,
            "stage": "proposal",
            "stage_name": "предложение",
            "title": "Станки",
        }
        stale = await http.post(url, json={"version": 1, "stage": "negotiation"}, headers=anna)
        assert stale.status == 409
        body = await stale.json()
        assert body["deal"]["version"] == 2 and body["deal"]["stage"] == "proposal"
        assert "изменилась" in body["message"]
        no_reason = await http.post(url, json={"version": 2, "stage": "lost"}, headers=anna)
        assert no_reason.status == 422 and (await no_reason.json())["error"] == "reason_required"
        bad_stage = await http.post(url, json={"version": 2, "stage": "nowhere"}, headers=anna)
        assert bad_stage.status == 422
        for junk in (b"not json", b"[1]", b'{"version": "x", "stage": "won"}', b'{"stage": 5, "version": 2}'):
            assert (await http.post(url, data=junk, headers=anna)).status == 400
        lost = await http.post(url, json={"version": 2, "stage": "lost", "reason": "Дорого"}, headers=anna)
        assert lost.status == 200
    async with app.session_factory() as s:
        deal = await s.get(Deal, deal_id)
        assert (deal.stage, deal.version, deal.lost_reason) == ("lost", 3, "Дорого")
        kinds = [
            (e.kind, e.old_value, e.new_value)
            for e in await s.scalars(select(DealEvent).order_by(DealEvent.id))
        ]
    assert kinds == [
        ("created", None, "Станки"),
        ("stage", "new", "proposal"),
        ("stage", "proposal", "lost"),
        ("lost_reason", None, "Дорого"),
    ]


async def test_the_client_list_searches_filters_and_scrolls(app, tg):
    await manager(app, tg, ANNA, "Anna")
    ids = [await client_record(app, ANNA, f"Клиент Номер{i:02d}") for i in range(35)]
    petrov = await client_record(app, ANNA, "Иван Петров", company="ООО Ромашка", status=ClientStatus.active)
    async with app.session_factory() as s, s.begin():
        run = RfmRun(as_of=app.clock.now().date(), currency="RUB", finished_at=app.clock.now())
        s.add(run)
        await s.flush()
        s.add(
            RfmScore(
                run_id=run.id,
                client_id=petrov,
                owner_id=ANNA,
                last_purchase_at=app.clock.now(),
                recency_days=1,
                frequency=9,
                monetary=1000,
                r=5,
                f=5,
                m=5,
                segment="champions",
                abc_class="A",
            )
        )
    async with webapp_client(app) as http:
        anna = as_user(app, ANNA)
        first = await (await http.get(f"{BASE}/f/clients", headers=anna)).text()
        assert first.count("data-client=") == 30
        more = re.search(r'data-more="([^"]+)"', first).group(1).replace("&amp;", "&")
        assert f"after={ids[6]}" in more  # keyset: the next page starts after the last id shown
        rest = await (await http.get(f"{BASE}/f/clients?{more}", headers=anna)).text()
        assert rest.count("data-client=") == 6 and "data-more" not in rest and "tabs" not in rest
        found = await (await http.get(f"{BASE}/f/clients?q=петр", headers=anna)).text()
        assert found.count("data-client=") == 1 and "Иван Петров" in found and "Чемпионы" in found
        assert (await (await http.get(f"{BASE}/f/clients?q=ромаш", headers=anna)).text()).count(
            "data-client="
        ) == 1
        active = await (await http.get(f"{BASE}/f/clients?status=active", headers=anna)).text()
        assert active.count("data-client=") == 1
        champions = await (await http.get(f"{BASE}/f/clients?segment=champions", headers=anna)).text()
        assert champions.count("data-client=") == 1 and "Иван Петров" in champions
        class_a = await (await http.get(f"{BASE}/f/clients?abc=A&q=иван", headers=anna)).text()
        assert class_a.count("data-client=") == 1
        unscored = await (await http.get(f"{BASE}/f/clients?segment=no_recent", headers=anna)).text()
        assert unscored.count("data-client=") == 30 and "Иван Петров" not in unscored
        stale_none = await (await http.get(f"{BASE}/f/clients?stale=30", headers=anna)).text()
        assert "data-client=" not in stale_none and "Ничего не найдено" in stale_none
        app.clock.advance(timedelta(days=31))
        anna = as_user(app, ANNA)
        stale = await (await http.get(f"{BASE}/f/clients?stale=30", headers=anna)).text()
        assert stale.count("data-client=") == 30
        for bad in ("status=vip", "segment=nobody", "abc=D", "stale=0", "stale=abc", "after=-1"):
            assert (await http.get(f"{BASE}/f/clients?{bad}", headers=anna)).status == 400


async def test_the_card_logs_a_contact_sets_a_reminder_and_my_day_marks_it_done(app, tg):
    await manager(app, tg, ANNA, "Anna")
    client_id = await client_record(app, ANNA, "<img src=x onerror=alert(1)>")
    async with webapp_client(app) as http:
        anna = as_user(app, ANNA)
        card = await (await http.get(f"{BASE}/f/clients/{client_id}", headers=anna)).text()
        assert "&lt;img src=x onerror=alert(1)&gt;" in card and "<img" not in card
        assert f'data-post="clients/{client_id}/log"' in card
        logged = await http.post(
            f"{BASE}/api/clients/{client_id}/log",
            json={
                "kind": "call",
                "outcome": "agreed",
                "note": "Перезвонить <b>",
                "next_text": "КП",
                "next_when": "завтра в 10",
            },
            headers=anna,
        )
        assert logged.status == 200, await logged.text()
        bad = await http.post(
            f"{BASE}/api/clients/{client_id}/log", json={"kind": "fax", "outcome": "agreed"}, headers=anna
        )
        assert bad.status == 422
        past = await http.post(
            f"{BASE}/api/clients/{client_id}/remind", json={"text": "x", "when": "когда-нибудь"}, headers=anna
        )
        assert past.status == 422 and "не понял" in (await past.json())["message"].lower()
        reminded = await http.post(
            f"{BASE}/api/clients/{client_id}/remind",
            json={"text": "Позвонить", "when": "через 2 часа"},
            headers=anna,
        )
        assert reminded.status == 200
        card = await (await http.get(f"{BASE}/f/clients/{client_id}", headers=anna)).text()
        assert "Перезвонить &lt;b&gt;" in card
        today = await (await http.get(f"{BASE}/f/today", headers=anna)).text()
        assert "Позвонить" in today and "КП" in today
        async with app.session_factory() as s:
            call = (await s.scalars(select(Reminder).where(Reminder.text == "Позвонить"))).one()
            step = (await s.scalars(select(Reminder).where(Reminder.text == "КП"))).one()
        assert (await http.post(f"{BASE}/api/reminders/{call.id}/done", headers=anna)).status == 200
        again = await http.post(f"{BASE}/api/reminders/{call.id}/done", headers=anna)
        assert again.status == 422 and "Уже выполнено" in (await again.json())["message"]
        assert (await http.post(f"{BASE}/api/reminders/{step.id}/s60", headers=anna)).status == 200
        assert (await http.post(f"{BASE}/api/reminders/{step.id}/never", headers=anna)).status == 404
    async with app.session_factory() as s:
        entry = (await s.scalars(select(Interaction))).one()
        assert (entry.kind, entry.outcome, entry.note) == ("call", "agreed", "Перезвонить <b>")
        assert (await s.get(Client, client_id)).last_contact_at is not None
        assert (await s.get(Reminder, call.id)).status == ReminderStatus.done
        moved = await s.get(Reminder, step.id)
        assert moved.version == 2
