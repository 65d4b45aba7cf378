"""End to end, as people: a manager invites a customer from the card, customers link by invite or by
their own phone, leads reach the admins, /forget. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import func, select

from bot.callbacks import ClientCb, CustomerCb
from models.audit import AuditEvent
from models.clients import Client, ClientPhone, ClientStatus
from models.consent import ConsentEvent, ConsentSource, Purpose
from models.customers import CustomerLead, ForgetRequest
from models.invites import Invite, InviteKind
from models.users import Role, User
from services import consent
from services import customers as customers_service
from services import leads as leads_service
from services.errors import DomainError
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeUser
from tests.support.people import add_client_row, add_user, manager, staff

ANNA, BORIS = 200, 201
IVAN, PETR, EVE = 500, 501, 502
INVITE_RE = re.compile(r"https://t\.me/crm_test_bot\?start=(c_[A-Za-z0-9_-]+)")
SHARE = "📱 Поделиться номером"


async def get_client(app, client_id: int) -> Client:
    async with app.session_factory() as s:
        return await s.get(Client, client_id)


async def client_named(app, name: str) -> Client:
    async with app.session_factory() as s:
        return await s.scalar(select(Client).where(Client.name == name, Client.merged_into_id.is_(None)))


async def count(app, model, *where) -> int:
    async with app.session_factory() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def invite_payload(manager: FakeUser, client_name: str) -> str:
    """Anna opens the card by /find and presses 📲 Invite to bot; the payload of the link."""
    await manager.send(f"/find {client_name}")
    replies = await manager.press("📲 Пригласить в бот")
    text = replies.last.text
    match = INVITE_RE.search(text)
    assert match, text
    payload = match.group(1)
    assert len(payload) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", payload)
    assert "работает один раз" in text
    assert "📤 Переслать приглашение" in replies.last.labels
    return payload


async def setup_anna_with_client(app, tg) -> tuple[FakeUser, Client]:
    anna = await manager(app, tg, ANNA, "Anna")
    card = (await anna.send("/add Иван Петров +7 999 123-45-67")).last
    assert card.text.startswith("✅ Клиент добавлен.")
    return anna, await client_named(app, "Иван Петров")


# --- the invite ---


async def test_a_customer_opens_the_invite_and_is_linked(app, tg, admin):
    anna, client = await setup_anna_with_client(app, tg)
    payload = await invite_payload(anna, "Иван")
    ivan = tg.user(IVAN, "Иван", language_code="ru")
    replies = await ivan.send(f"/start {payload}")
    text = replies.last.text
    assert "Готово, Иван! Ваш аккаунт Telegram привязан к вашей карточке клиента." in text
    assert "/balance" in text and "/consent" in text and "/forget" in text
    assert "/add" not in text
    stored = await get_client(app, client.id)
    assert stored.telegram_id == IVAN and stored.version == client.version + 1
    async with app.session_factory() as s:
        invite = await s.scalar(select(Invite).where(Invite.kind == InviteKind.customer))
        assert invite.client_id == client.id and invite.used_by == IVAN
        assert (invite.expires_at - invite.created_at).days == 14
        audit = await s.scalar(select(AuditEvent).where(AuditEvent.action == "customer.link"))
        assert audit.actor_id == IVAN and audit.details == {"via": "invite"}
    await app.queue.drain()
    notice = anna.last
    assert "<b>Иван</b> открыл ваше приглашение и теперь привязан к вашему клиенту <b>Иван Петров</b>" in (
        notice.html
    )
    assert notice.labels == ["👤 Открыть карточку"]
    # the card no longer offers an invite
    card = (await anna.press("👤 Открыть карточку")).last
    assert "📲 Пригласить в бот" not in card.labels
    # the same link again: the same person is told they are linked; anyone else that it was used
    again = await ivan.send(f"/start {payload}")
    assert "уже привязан к вашей карточке клиента" in again.last.text
    petr = tg.user(PETR, "Пётр", language_code="ru")
    used = await petr.send(f"/start {payload}")
    assert "Эта ссылка уже использована" in used.last.text
    assert (await get_client(app, client.id)).telegram_id == IVAN
    assert await count(app, Client, Client.telegram_id == PETR) == 0


async def test_the_invite_button_on_a_linked_or_foreign_card_and_a_double_tap(app, tg, admin):
    anna, client = await setup_anna_with_client(app, tg)
    boris = await manager(app, tg, BORIS, "Boris")
    # Boris forges the invite button of Anna's client: "not found", no invite made
    forged = await boris.press_data(ClientCb(action="invite", client_id=client.id, version=1).pack())
    assert "Не найдено" in forged.callback_answer.text
    # a customer forges it: the role gate
    eve = tg.user(EVE, "Eve", language_code="ru")
    await eve.send("/start")
    denied = await eve.press_data(ClientCb(action="invite", client_id=client.id, version=1).pack())
    assert "Нет доступа" in denied.callback_answer.text
    assert await count(app, Invite, Invite.kind == InviteKind.customer) == 0
    # the customer taps the link twice quickly: linked once, the second says so
    payload = await invite_payload(anna, "Иван")
    ivan = tg.user(IVAN, "Иван", language_code="ru")
    first, second = await ivan.send(f"/start {payload}"), await ivan.send(f"/start {payload}")
    assert "Готово, Иван!" in first.last.text
    assert "уже привязан к вашей карточке клиента" in second.last.text
    await app.queue.drain()
    assert sum("открыл ваше приглашение" in (m.text or "") for m in anna.messages) == 1
    # the card's invite button pressed on the old card
    old = next(m for m in anna.messages if "📲 Пригласить в бот" in m.labels)
    replies = await anna.press("📲 Пригласить в бот", message=old)
    assert "уже привязан: приглашение не нужно" in replies.callback_answer.text
    assert await count(app, Invite, Invite.kind == InviteKind.customer) == 1


async def test_the_invite_button_of_a_stale_card_says_the_card_changed_and_shows_it_again(app, tg, admin):
    anna, client = await setup_anna_with_client(app, tg)
    await anna.send("/find Иван")
    old = anna.last
    async with app.session_factory() as s, s.begin():  # the card changes meanwhile (another device)
        row = await s.get(Client, client.id)
        row.version += 1
        row.company = "ООО Ромашка"
    replies = await anna.press("📲 Пригласить в бот", message=old)
    assert "Карточка тем временем изменилась" in replies.callback_answer.text
    assert "ООО Ромашка" in replies.last.text and "📲 Пригласить в бот" in replies.last.labels
    assert await count(app, Invite, Invite.kind == InviteKind.customer) == 0
    # the card shown again works
    again = await anna.press("📲 Пригласить в бот", message=replies.last)
    assert INVITE_RE.search(again.last.text)


async def test_expired_unknown_and_refused_invites(app, tg, admin, clock):
    anna, client = await setup_anna_with_client(app, tg)
    ivan = tg.user(IVAN, "Иван", language_code="ru")
    for bad in ("c_nosuchtoken", "c_", "c_" + "x" * 62, "zz_what"):
        replies = await ivan.send(f"/start {bad}")
        assert "недействительна" in replies.last.text, bad
        assert ivan.reply_keyboard == [[SHARE]]
    payload = await invite_payload(anna, "Иван")
    clock.advance(days=15)
    expired = await ivan.send(f"/start {payload}")
    assert "Срок действия ссылки истёк" in expired.last.text
    assert (await get_client(app, client.id)).telegram_id is None
    # a staff member opening a customer invite is refused politely; the invite stays usable
    payload = await invite_payload(anna, "Иван")
    boris = await manager(app, tg, BORIS, "Boris")
    staff = await boris.send(f"/start {payload}")
    assert "Вы в команде" in staff.last.text
    assert (await get_client(app, client.id)).telegram_id is None
    # this account is already linked to another client: refused, invite still unused
    await anna.send("/add Мария Кюри +7 916 111-22-33")
    other = await client_named(app, "Мария Кюри")
    async with app.session_factory() as s, s.begin():
        (await s.get(Client, other.id)).telegram_id = IVAN
    refused = await ivan.send(f"/start {payload}")
    assert "уже привязан к другой карточке клиента" in refused.last.text
    assert (await get_client(app, client.id)).telegram_id is None
    # the client was linked to another account meanwhile: refused
    petr = tg.user(PETR, "Пётр", language_code="ru")
    async with app.session_factory() as s, s.begin():
        (await s.get(Client, client.id)).telegram_id = EVE
    taken = await petr.send(f"/start {payload}")
    assert "уже привязана к другому аккаунту Telegram" in taken.last.text
    async with app.session_factory() as s:
        invite = await s.scalar(select(Invite).where(Invite.token == payload[2:]))
        assert invite.used_at is None


async def test_two_people_open_the_same_invite_at_once(session_factory, clock):
    """The invite claim is a conditional UPDATE: exactly one of two simultaneous openings wins."""
    now = clock.now()
    async with session_factory() as s, s.begin():
        await add_user(s, ANNA, "Anna", role=Role.manager)
        await add_user(s, IVAN, "Ivan")
        await add_user(s, PETR, "Petr")
        client = await add_client_row(s, ANNA, "Иван", created_at=now, updated_at=now)
        invite = await customers_service.create_invite(s, await s.get(User, ANNA), client, now)
        payload, client_id = customers_service.invite_payload(invite), client.id

    async def open_as(uid: int) -> str:
        async with session_factory() as s:
            try:
                await customers_service.redeem_invite(s, await s.get(User, uid), payload, now)
                await s.commit()
                return "linked"
            except DomainError as e:
                await s.rollback()
                return e.code

    results = sorted(await asyncio.gather(open_as(IVAN), open_as(PETR)))
    assert results == ["customer_invite_used", "linked"]
    async with session_factory() as s:
        assert (await s.get(Client, client_id)).telegram_id in (IVAN, PETR)


async def test_two_admins_taking_one_waiting_lead_at_once_make_one_client(session_factory, clock):
    """Taking a lead is a conditional UPDATE: of two simultaneous presses exactly one wins, and the
    loser's new client record is rolled back with its savepoint."""
    now = clock.now()
    async with session_factory() as s, s.begin():
        await add_user(s, ADMIN_ID, "Olga", role=Role.admin)
        await add_user(s, 101, "Sergey", role=Role.admin)
        await add_user(s, EVE, "Ева")
        lead = CustomerLead(user_id=EVE, client_id=None, phone="+79165554433", created_at=now)
        s.add(lead)
        await s.flush()
        lead_id = lead.id

    async def take_as(uid: int) -> str:
        async with session_factory() as s:
            try:
                await leads_service.take(s, await s.get(User, uid), lead_id, now)
                await s.commit()
                return "taken"
            except DomainError as e:
                await s.rollback()
                return e.code

    results = sorted(await asyncio.gather(take_as(ADMIN_ID), take_as(101)))
    assert results == ["lead_taken", "taken"]
    async with session_factory() as s:
        [client] = (await s.scalars(select(Client))).all()
        assert (await s.get(CustomerLead, lead_id)).client_id == client.id
        assert client.owner_id in (ADMIN_ID, 101) and client.name == "Ева"


# --- the customer's own phone ---


async def test_unlinked_customers_are_offered_the_share_phone_button(app, tg):
    eve = tg.user(EVE, "Eve", language_code="ru")
    start = await eve.send("/start")
    assert "Здравствуйте, Eve!" in start.last.text and "Поделиться номером" in start.last.text
    assert eve.reply_keyboard == [[SHARE]]
    assert start.last.markup["keyboard"][0][0]["request_contact"] is True
    for command in ("/consent", "/stop"):
        replies = await eve.send(command)
        assert "ещё не привязан к вашей карточке клиента" in replies.last.text
        assert "Ссылка от вашего менеджера тоже подойдёт" in replies.last.text
        assert eve.reply_keyboard == [[SHARE]]
    assert "забывать нечего" in (await eve.send("/forget")).last.text
    # a sticker instead of the contact: a clear answer, nothing changes
    assert "Такое сообщение здесь не подходит" in (await eve.send_sticker()).last.text
    # a referral link with an unknown code: said so, then the usual greeting
    referral = await eve.send("/start r_nosuchcode")
    assert "Ссылка недействительна или устарела" in referral.last.text
    assert "Здравствуйте, Eve!" in referral.last.text and eve.reply_keyboard == [[SHARE]]
    # manager commands
    for command in ("/add Иван +79991234567", "/find Иван", "/clients", "/today", "/invite"):
        assert "Нет доступа" in (await eve.send(command)).last.text, command
    assert await count(app, Client) == 0


async def test_sharing_the_own_phone_links_to_the_matching_client(app, tg, admin):
    anna, client = await setup_anna_with_client(app, tg)
    ivan = tg.user(IVAN, "Иван", language_code="ru", phone_number="79991234567")
    # someone else's contact (no user_id, or another's): asked for their own, nothing changes
    other = await ivan.share_contact(phone="+79991234567", first_name="Иван")
    assert "отправить свой номер, а не чужой контакт" in other.last.text
    assert ivan.reply_keyboard == [[SHARE]]
    other = await ivan.share_contact(phone="+79991234567", first_name="Иван", user_id=PETR)
    assert "а не чужой контакт" in other.last.text
    assert (await get_client(app, client.id)).telegram_id is None
    linked = await ivan.share_contact(own=True)
    assert "Готово, Иван!" in linked.last.text and "/balance" in linked.last.text
    assert ivan.reply_keyboard is None  # the share keyboard is removed
    assert (await get_client(app, client.id)).telegram_id == IVAN
    await app.queue.drain()
    assert "поделился номером и теперь привязан к вашему клиенту <b>Иван Петров</b>" in anna.last.html
    # sharing again once linked
    again = await ivan.share_contact(own=True)
    assert "уже привязан к вашей карточке клиента" in again.last.text
    assert await count(app, Client) == 1 and await count(app, CustomerLead) == 0
    # a linked customer's /start has no share keyboard
    start = await ivan.send("/start")
    assert "Поделиться номером" not in start.last.text and ivan.reply_keyboard is None


async def test_an_unknown_phone_becomes_one_lead_for_the_admins(app, tg, admin):
    await admin.send("/start")
    second_admin = await staff(app, tg, 101, "Sergey", role=Role.admin, lang="en")
    eve = tg.user(
        EVE, "Ева", last_name="<Новая>", username="eve_x", language_code="ru", phone_number="+7 916 555-44-33"
    )
    replies = await eve.share_contact(own=True)
    assert "с вами скоро свяжутся" in replies.last.text
    lead = await client_named(app, "Ева <Новая>")
    assert lead.status == ClientStatus.prospect and lead.source == "Telegram bot"
    assert lead.owner_id == ADMIN_ID and lead.telegram_id is None
    async with app.session_factory() as s:
        assert (await s.scalars(select(ClientPhone.e164).where(ClientPhone.client_id == lead.id))).all() == [
            "+79165554433"
        ]
    await app.queue.drain()
    notice = admin.last
    assert "Новый лид из бота: Ева &lt;Новая&gt; (@eve_x), +7 916 555-44-33" in notice.html
    card = (await admin.press("👤 Открыть карточку", message=notice)).last
    assert "Ева <Новая>" in card.text
    assert "New lead from the bot" in second_admin.last.text
    # a second share: no second record, no second notice
    seen = len(admin.messages)
    again = await eve.share_contact(own=True)
    assert "Ваш номер у нас уже есть" in again.last.text
    await app.queue.drain()
    assert await count(app, Client) == 1 and await count(app, CustomerLead) == 1
    assert len(admin.messages) == seen
    # the customer isn't linked by the lead
    assert "ещё не привязан" in (await eve.send("/consent")).last.text


async def set_active(app, uid: int, active: bool) -> None:
    async with app.session_factory() as s, s.begin():
        (await s.get(User, uid)).is_active = active


async def test_a_lead_while_no_admin_is_active_waits_for_an_admin_to_take_it(app, tg, admin):
    anna = await manager(app, tg, ANNA, "Anna")
    await set_active(app, ADMIN_ID, False)  # the only admin is deactivated: nobody could own a lead
    eve = tg.user(
        EVE, "Ева", last_name="<Новая>", username="eve_x", language_code="ru", phone_number="+7 916 555-44-33"
    )
    replies = await eve.share_contact(own=True)
    assert "с вами скоро свяжутся" in replies.last.text
    # nobody owns it yet: no client record, the lead waits
    assert await count(app, Client) == 0
    assert await count(app, CustomerLead, CustomerLead.client_id.is_(None)) == 1
    # a manager neither sees it on /today nor may list it
    assert "Лиды ждут владельца" not in (await anna.send("/today")).last.text
    assert "Нет доступа" in (await anna.send("/leads")).last.text
    # an admin is active again: /today points to /leads, which lists it with a Take button
    await set_active(app, ADMIN_ID, True)
    await admin.send("/start")
    assert "📥 Лиды ждут владельца: 1. Смотрите /leads" in (await admin.send("/today")).last.text
    listing = (await admin.send("/leads")).last
    assert "Ева &lt;Новая&gt; (@eve_x), +7 916 555-44-33" in listing.html
    assert listing.labels == ["✋ Взять 1"]
    # a second admin has the same list open
    sergey = await staff(app, tg, 101, "Sergey", role=Role.admin, lang="en", start=False)
    other = (await sergey.send("/leads")).last
    taken = await admin.press("✋ Взять 1", message=listing)
    assert "Вы взяли лида Ева <Новая>: теперь это ваш клиент" in taken.callback_answer.text
    lead = await client_named(app, "Ева <Новая>")
    assert lead.owner_id == ADMIN_ID and lead.source == "Telegram bot" and lead.telegram_id is None
    async with app.session_factory() as s:
        assert (await s.scalar(select(CustomerLead))).client_id == lead.id
    assert "Ева <Новая>" in admin.last.text  # the new card
    assert "Лидов, ждущих владельца, нет" in admin.messages[-2].text  # the list, now empty
    # the second admin is too late: told who took it, nothing new is made
    late = await sergey.press("✋ Take 1", message=other)
    assert "already taken by Olga" in late.callback_answer.text
    assert await count(app, Client) == 1
    assert "Лиды ждут владельца" not in (await admin.send("/today")).last.text
    # a forged Take of an unknown lead
    forged = await admin.press_data(CustomerCb(action="take", id=999).pack())
    assert "Не найдено" in forged.callback_answer.text


async def test_a_phone_of_a_client_linked_to_someone_else_only_tells_the_admins(app, tg, admin):
    await admin.send("/start")
    _anna, client = await setup_anna_with_client(app, tg)
    async with app.session_factory() as s, s.begin():
        (await s.get(Client, client.id)).telegram_id = PETR
    ivan = tg.user(IVAN, "Иван", language_code="ru", phone_number="+79991234567")
    replies = await ivan.share_contact(own=True)
    assert "с вами скоро свяжутся" in replies.last.text
    assert await count(app, Client) == 1
    assert (await get_client(app, client.id)).telegram_id == PETR
    await app.queue.drain()
    assert "уже привязанному к другому аккаунту Telegram" in admin.last.text
    assert admin.last.labels == ["👤 Открыть карточку"]


# --- /forget ---


async def test_forget_unlinks_at_once_and_an_admin_marks_it_handled(app, tg, admin, clock):
    await admin.send("/start")
    anna, client = await setup_anna_with_client(app, tg)
    boris = await manager(app, tg, BORIS, "Boris")
    ivan = tg.user(IVAN, "Иван", language_code="ru")
    await ivan.send(f"/start {await invite_payload(anna, 'Иван')}")
    async with app.session_factory() as s, s.begin():
        await consent.set(
            s, client.id, Purpose.marketing, True, ConsentSource.button, IVAN, "2026-12", clock.now()
        )
    ask = await ivan.send("/forget")
    assert "Отвязать ваш аккаунт Telegram" in ask.last.text
    assert ask.last.labels == ["Да, забудьте меня", "Отмена"]
    kept = await ivan.press("Отмена")
    assert "аккаунт остаётся привязанным" in kept.last.text
    assert (await get_client(app, client.id)).telegram_id == IVAN
    ask = (await ivan.send("/forget")).last
    # a forged confirmation for another client: refused
    forged = await ivan.press_data(CustomerCb(action="forget", id=client.id + 99).pack(), message=ask)
    assert "Не найдено" in forged.callback_answer.text
    assert (await get_client(app, client.id)).telegram_id == IVAN
    clock.advance(minutes=1)
    done = await ivan.press("Да, забудьте меня", message=ask)
    assert "больше не привязан" in done.last.text
    twice = await ivan.press_data(CustomerCb(action="forget", id=client.id).pack(), message=ask)
    assert "забывать нечего" in twice.callback_answer.text
    stored = await get_client(app, client.id)
    assert stored.telegram_id is None
    async with app.session_factory() as s:
        assert await consent.current(s, client.id) == {
            Purpose.marketing: False,
            Purpose.surveys: False,
            Purpose.service: True,
        }
        last = await s.scalar(select(ConsentEvent).order_by(ConsentEvent.id.desc()).limit(1))
        assert last.source == ConsentSource.system and last.purpose == Purpose.marketing
        requests = (await s.scalars(select(ForgetRequest))).all()
    assert len(requests) == 1 and requests[0].user_id == IVAN and requests[0].handled_at is None
    assert "ещё не привязан" in (await ivan.send("/consent")).last.text
    await app.queue.drain()
    notice = admin.last
    assert "просит забыть его (/forget)" in notice.text and "Иван Петров" in notice.text
    assert notice.labels == ["👤 Открыть карточку", "✅ Обработано"]
    # a manager or a customer can't mark it
    data = notice.button("✅ Обработано")["callback_data"]
    assert "Нет доступа" in (await boris.press_data(data)).callback_answer.text
    assert "Нет доступа" in (await ivan.press_data(data)).callback_answer.text
    handled = await admin.press("✅ Обработано", message=notice)
    assert handled.callback_answer.text == "Готово."
    assert "✅ Обработано: Olga Admin." in admin.last.text
    assert admin.last.labels == ["👤 Открыть карточку"]
    again = await admin.press_data(data, message=notice)
    assert "Уже обработано: Olga Admin." in again.callback_answer.text
    async with app.session_factory() as s:
        request = await s.get(ForgetRequest, requests[0].id)
        assert request.handled_by == ADMIN_ID and request.handled_at == clock.now()
    assert (
        "Не найдено"
        in (await admin.press_data(CustomerCb(action="handled", id=999).pack())).callback_answer.text
    )
    # linked again later by a new invite: works (a new decision)
    await ivan.send(f"/start {await invite_payload(anna, 'Иван')}")
    assert (await get_client(app, client.id)).telegram_id == IVAN
