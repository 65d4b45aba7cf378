"""End to end, as people: greetings in their language, invites, the team, roles, bad input."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.callbacks import TeamAction, TeamCb
from models.users import Role, User
from tests.conftest import ADMIN_ID
from tests.fakebot import FakeTelegram
from tests.support.people import invite_link, manager_via_invite


def menu(tg: FakeTelegram, scope: dict | None = None, lang: str = "") -> dict[str, str]:
    """The command menu the fake server holds for a scope and language: {command: description}."""
    return {c["command"]: c["description"] for c in tg.commands(scope, lang)}


async def role_of(app, uid: int) -> tuple[Role, bool]:
    async with app.session_factory() as s:
        user = await s.get(User, uid)
        return user.role, user.is_active


async def test_unknown_people_are_greeted_as_customers_in_their_language(app, tg):
    ru = await tg.user(1, "Иван", language_code="ru").send("/start")
    assert "Здравствуйте, Иван!" in ru.last.text
    assert "Это бот компании CRM Test Bot" in ru.last.text
    assert "/invite" not in ru.last.text
    en = await tg.user(2, "John", language_code="en-GB").send("/start")
    assert "Hello, John!" in en.last.text and "bonus points" in en.last.text
    de = await tg.user(3, "Hans", language_code="de").send("/start")
    assert "Здравствуйте" in de.last.text  # DEFAULT_LANGUAGE
    async with app.session_factory() as s:
        roles = (await s.scalars(select(User.role).where(User.id.in_([1, 2, 3])))).all()
    assert set(roles) == {Role.customer}


async def test_names_with_html_and_rtl_are_shown_escaped(app, tg):
    replies = await tg.user(4, "<b>Tom</b> & ‏שלום 😀", language_code="en").send("/start")
    assert "Hello, <b>Tom</b> & ‏שלום 😀!" in replies.last.text


async def test_admin_invites_a_manager_who_joins_and_admin_is_told(app, tg, admin):
    assert "администратор" in (await admin.send("/start")).last.text
    payload = await invite_link(admin)
    assert "действует до 17 мар. 2026" in admin.last.text  # 7 days, in the admin's time zone
    anna = tg.user(200, "Anna", last_name="<Sales>", language_code="en")
    replies = await anna.send(f"/start {payload}")
    assert "You are now a manager" in replies.last.text
    assert await role_of(app, 200) == (Role.manager, True)

    await app.queue.drain()
    assert "Anna <Sales> принял(а) ваше приглашение" in admin.last.text

    # the link is single use
    boris = tg.user(201, "Boris", language_code="en")
    assert "already been used" in (await boris.send(f"/start {payload}")).last.text
    assert await role_of(app, 201) == (Role.customer, True)
    # opening your own used link again
    assert "already on the team" in (await anna.send(f"/start {payload}")).last.text


async def test_expired_and_made_up_invites_are_refused(app, tg, admin, clock):
    payload = await invite_link(admin)
    clock.advance(days=7, minutes=1)
    late = tg.user(202, "Late", language_code="en")
    assert "expired" in (await late.send(f"/start {payload}")).last.text
    assert "not valid" in (await late.send("/start m_" + "A" * 43)).last.text
    assert "not valid" in (await late.send("/start hello")).last.text
    assert await role_of(app, 202) == (Role.customer, True)


async def test_customers_get_not_allowed_for_staff_commands_and_forged_callbacks(app, tg, admin):
    eve = tg.user(300, "Eve", language_code="en")
    await eve.send("/start")
    for command in ("/invite", "/team"):
        assert "Not allowed" in (await eve.send(command)).last.text
    deactivate_admin = TeamCb(action=TeamAction.deactivate, user_id=ADMIN_ID).pack()
    forged = await eve.press_data(deactivate_admin, message=eve.last)
    assert "Not allowed" in forged.callback_answer.text and forged.callback_answer.show_alert
    promote = TeamCb(action=TeamAction.promote, user_id=300).pack()
    promote_self = await eve.press_data(promote, message=eve.last)
    assert "Not allowed" in promote_self.callback_answer.text
    assert await role_of(app, ADMIN_ID) == (Role.admin, True)
    assert await role_of(app, 300) == (Role.customer, True)


async def test_team_deactivate_reactivate_promote_demote(app, tg, admin):
    anna = await manager_via_invite(app, tg, admin, 200, "Anna")
    team = await admin.send("/team")
    assert "активных 2 из 2" in team.last.text
    card = await admin.press("👤 Anna")
    assert "Роль: менеджер" in card.last.text and "Статус: активен" in card.last.text

    done = await admin.press("🚫 Отключить доступ")
    assert done.callback_answer.text == "Готово."
    assert "Статус: отключён" in admin.last.text
    assert await role_of(app, 200) == (Role.manager, False)
    # the manager loses access on the very next update and is told
    assert "/invite" not in (await anna.send("/help")).last.text
    await app.queue.drain()
    assert "Olga Admin отключил(а) вам доступ сотрудника" in anna.last.text

    again = await admin.press("✅ Включить доступ")
    assert "Статус: активен" in again.last.text
    promoted = await admin.press("👑 Сделать администратором")
    assert "Роль: администратор" in promoted.last.text
    assert await role_of(app, 200) == (Role.admin, True)
    assert "/team" in (await anna.send("/help")).last.text
    demoted = await admin.press("⬇ Сделать менеджером")
    assert "Роль: менеджер" in demoted.last.text
    back = await admin.press("« Команда")
    assert "Команда" in back.last.text


async def test_a_button_pressed_twice_or_late_says_so(app, tg, admin):
    await manager_via_invite(app, tg, admin, 200, "Anna")
    await admin.send("/team")
    card = (await admin.press("👤 Anna")).last
    await admin.press("🚫 Отключить доступ", message=card)
    # the old card is still on screen somewhere else: press its button again
    stale = await admin.press_data(TeamCb(action=TeamAction.deactivate, user_id=200).pack(), message=card)
    assert stale.callback_answer.text == "Уже отключён."
    assert await role_of(app, 200) == (Role.manager, False)


async def test_the_last_admin_cannot_remove_themselves(app, tg, admin):
    await admin.send("/team")
    await admin.press("👑 Olga Admin")
    refused = await admin.press("🚫 Отключить доступ")
    assert "последний активный администратор" in refused.callback_answer.text
    refused = await admin.press("⬇ Сделать менеджером")
    assert "последний активный администратор" in refused.callback_answer.text
    assert await role_of(app, ADMIN_ID) == (Role.admin, True)


async def test_refusing_the_last_admin_leaves_the_card_as_it_is_without_an_edit(app, tg, admin):
    """The card drawn again after a refusal shows exactly what it showed: no edit is made (Telegram
    would refuse it as "message is not modified")."""
    await admin.send("/team")
    card = (await admin.press("👑 Olga Admin")).last
    shown = (card.text, card.buttons)
    tg.clear_calls()
    for label in ("🚫 Отключить доступ", "⬇ Сделать менеджером"):
        refused = await admin.press(label, message=card)
        assert "последний активный администратор" in refused.callback_answer.text
    assert tg.calls_of("editMessageText") == []
    assert tg.calls_of("sendMessage") == []
    assert not tg.errors, tg.errors
    assert (card.text, card.buttons) == shown


async def test_team_actions_on_unknown_people_say_not_found(app, tg, admin):
    await admin.send("/start")
    unknown = TeamCb(action=TeamAction.open, user_id=999999999999).pack()
    replies = await admin.press_data(unknown, message=admin.last)
    assert "Не найдено" in replies.callback_answer.text


async def test_language_switch_changes_replies_and_menu(app, tg, admin):
    ivan = tg.user(5, "Ivan", language_code="ru")
    await ivan.send("/language")
    chosen = await ivan.press("🇬🇧 English")
    assert "Language: English" in chosen.last.text
    assert "Hello, Ivan!" in (await ivan.send("/start")).last.text
    await app.queue.drain()
    assert menu(tg, {"type": "chat", "chat_id": 5})["language"] == "Change the language"
    assert (await ivan.press("🇷🇺 Русский", message=chosen.last)).last.text.startswith("Язык: русский")


async def test_command_menus_per_role_and_language(app, tg, admin):
    customer = ["start", "help", "language", "balance", "gifts", "referral", "consent", "stop", "forget"]
    assert list(menu(tg, None, "ru")) == customer
    assert menu(tg, None, "ru")["language"] == "Сменить язык"
    assert menu(tg, None, "ru")["balance"] == "Мои баллы и уровень"
    assert menu(tg, None, "en")["language"] == "Change the language"
    assert list(menu(tg, None, "")) == customer  # other languages: DEFAULT_LANGUAGE
    admin_menu = menu(tg, {"type": "chat", "chat_id": ADMIN_ID})
    assert {"invite", "team", "cancel", "loyalty", "surveys"} <= set(admin_menu)
    assert not {"balance", "forget"} & set(admin_menu)
    assert admin_menu["invite"] == "Пригласить менеджера"


async def test_every_kind_of_input_gets_an_answer(app, tg):
    p = tg.user(7, "Pat", language_code="en")
    assert "can't use this kind of message" in (await p.send_sticker()).last.text
    assert "can't use this kind of message" in (await p.send_photo()).last.text
    assert "can't use this kind of message" in (await p.send_voice()).last.text
    assert "can't use this kind of message" in (await p.upload("a.txt", b"hi", "text/plain")).last.text
    # a customer sharing someone else's contact is asked for their own (handlers/customers.py)
    assert (
        "share your own number" in (await p.share_contact(phone="+79991234567", first_name="Ivan")).last.text
    )
    assert "didn't understand" in (await p.send("hello there")).last.text
    assert "don't know that command" in (await p.send("/nosuchcommand")).last.text
    assert "didn't understand" in (await p.send("я" * 4096)).last.text
    # deliberately forged callback data, which no CallbackData class can produce: a prefix no schema has,
    # and a TeamCb whose user id is not a number
    stale = await p.press_data("garbage:1:2", message=p.last)
    assert "no longer valid" in stale.callback_answer.text
    bad_type = await p.press_data("team:open:notanumber:0", message=p.last)
    assert "no longer valid" in bad_type.callback_answer.text
    assert await p.inline_query("anything") == []
    assert "Nothing to cancel" in (await p.send("/cancel")).last.text


async def test_a_crash_in_a_handler_apologises_with_a_reference_and_the_bot_goes_on(
    app, tg, monkeypatch, caplog
):
    from handlers import start

    def boom(user):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(start, "help_text", boom)
    p = tg.user(8, "Pat", language_code="en")
    replies = await p.send("/help")
    match = re.search(r"Reference: ([0-9A-F]{8})", replies.last.text)
    assert match, replies.last.text
    assert "kaboom" not in replies.last.text
    assert any(match.group(1) in r.getMessage() and r.exc_info for r in caplog.records)
    monkeypatch.undo()
    assert "Hello" in (await p.send("/start")).last.text


async def test_blocking_and_unblocking_the_bot(app, tg):
    p = tg.user(9, "Pat", language_code="en")
    await p.send("/start")
    await tg.process_my_chat_member(p, "kicked")
    async with app.session_factory() as s:
        assert (await s.get(User, 9)).blocked_at is not None
    await tg.process_my_chat_member(p, "member")
    async with app.session_factory() as s:
        assert (await s.get(User, 9)).blocked_at is None
