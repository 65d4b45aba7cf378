"""Tests of the fake Telegram Bot API server (tests/fakebot), driven by a real aiogram Bot."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import TelegramMethod
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.fakebot import FakeTelegram, FakeUser
from tests.fakebot.files import TINY_PNG
from tests.fakebot.formatting import parse_html, utf16_len
from tests.fakebot.spec import ApiSpec

ALICE_ID = 1001


class FastCloseSession(AiohttpSession):
    """AiohttpSession.close() sleeps 250 ms for SSL connections to close; the fake is plain HTTP."""

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_bot(server: FakeTelegram) -> Bot:
    return Bot(server.token, session=FastCloseSession(api=TelegramAPIServer.from_base(server.base_url)))


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegram) -> AsyncIterator[Bot]:
    bot = make_bot(server)
    yield bot
    await bot.session.close()


@pytest.fixture
async def alice(server: FakeTelegram, bot: Bot) -> FakeUser:
    """A user who has opened the chat (the bot may write to her), without a dispatcher running."""
    return server.user(ALICE_ID, "Alice", username="alice", started=True)


def echo_dispatcher(events: list[Any]) -> Dispatcher:
    """A tiny bot: echoes texts with a keyboard, edits on button presses, answers inline queries..."""
    dp = Dispatcher()

    @dp.message(F.text == "/start")
    async def start(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text="Deactivate", callback_data="deactivate:7")],
                [InlineKeyboardButton(text="Site", url="https://example.com")],
            ]
        )
        await message.answer("<b>Menu</b> for <i>you</i>", parse_mode="HTML", reply_markup=keyboard)

    @dp.message(F.text == "/keyboard")
    async def keyboard(message: Message) -> None:
        button = KeyboardButton(text="Share phone", request_contact=True)
        markup = ReplyKeyboardMarkup(keyboard=[[button]], resize_keyboard=True, one_time_keyboard=True)
        await message.answer("Share your phone", reply_markup=markup)

    @dp.message(F.contact)
    async def contact(message: Message) -> None:
        assert message.contact is not None
        own = message.contact.user_id == message.chat.id
        await message.answer(
            f"phone {message.contact.phone_number} own={own}", reply_markup=ReplyKeyboardRemove()
        )

    @dp.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        assert message.document is not None
        content = await bot.download(message.document.file_id)
        assert content is not None
        await message.answer(f"got {message.document.file_name}: {content.read().decode()}")

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        events.append(message)
        await message.answer(f"echo: {message.text}")

    @dp.message()
    async def anything_else(message: Message) -> None:
        events.append(message)  # photos, stickers...: no reply

    @dp.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        events.append(query)
        if query.data == "deactivate:7" and isinstance(query.message, Message):
            await query.message.edit_text("Deactivated")
            await query.answer("Done", show_alert=True)
        else:
            await query.answer("Unknown button")

    @dp.inline_query()
    async def inline(query: InlineQuery) -> None:
        content = InputTextMessageContent(message_text=f"<b>{query.query}</b>", parse_mode="HTML")
        result = InlineQueryResultArticle(id="1", title=query.query, input_message_content=content)
        await query.answer([result], cache_time=0)

    @dp.my_chat_member()
    async def member(update: ChatMemberUpdated) -> None:
        events.append(update.new_chat_member.status)

    return dp


@pytest.fixture
async def events(server: FakeTelegram, bot: Bot) -> AsyncIterator[list[Any]]:
    """Run the echo bot (polling, one update at a time); yields what its handlers saw."""
    seen: list[Any] = []
    dp = echo_dispatcher(seen)
    polling = asyncio.create_task(
        dp.start_polling(
            bot, handle_as_tasks=False, polling_timeout=1, handle_signals=False, close_bot_session=False
        )
    )
    await server.wait_for_bot()
    yield seen
    await dp.stop_polling()
    await polling


async def raw_call(server: FakeTelegram, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    """A form-encoded request, as any HTTP client would send it."""
    data = {key: str(value) for key, value in params.items()}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.base_url}/bot{server.token}/{method}", data=data) as response,
    ):
        return response.status, await response.json()


# --- protocol: methods, required fields, types ---


async def test_get_me(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "crm_test_bot")


async def test_unknown_method_is_404_and_wrong_token_401(server: FakeTelegram) -> None:
    assert await raw_call(server, "sendTelepathy", chat_id=1) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found"},
    )
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.base_url}/bot1:WRONG/getMe") as response,
    ):
        assert response.status == 401


async def test_unknown_method_through_aiogram_raises_not_found(bot: Bot) -> None:
    class SendTelepathy(TelegramMethod[bool]):
        __returning__ = bool
        __api_method__ = "sendTelepathy"

    with pytest.raises(TelegramNotFound):
        await bot(SendTelepathy())


async def test_method_names_are_case_insensitive(server: FakeTelegram) -> None:
    status, body = await raw_call(server, "getme")
    assert status == 200 and body["result"]["username"] == "crm_test_bot"


@pytest.mark.parametrize(
    ("method", "params", "description"),
    [
        ("sendMessage", {"text": "hi"}, "Bad Request: chat_id is empty"),
        ("sendMessage", {"chat_id": ALICE_ID}, "Bad Request: message text is empty"),
        ("deleteMessage", {"chat_id": ALICE_ID}, "Bad Request: message_id is required"),
        ("answerCallbackQuery", {}, "Bad Request: callback_query_id is required"),
        (
            "deleteMessage",
            {"chat_id": ALICE_ID, "message_id": "abc"},
            "Bad Request: message_id must be of type",
        ),
        (
            "sendMessage",
            {"chat_id": ALICE_ID, "text": "x", "disable_notification": "maybe"},
            "must be of type Boolean",
        ),
        (
            "sendMessage",
            {"chat_id": ALICE_ID, "text": "x", "reply_markup": "{oops"},
            "can't parse reply_markup JSON",
        ),
        (
            "sendMessage",
            {
                "chat_id": ALICE_ID,
                "text": "x",
                "reply_markup": '{"inline_keyboard": [[{"callback_data": "a"}]]}',
            },
            "Bad Request: reply_markup.inline_keyboard[0][0].text is required",
        ),
        ("setMyCommands", {"commands": '[{"command": "start"}]'}, "commands[0].description is required"),
        ("getMyCommands", {"scope": '{"type": "nonsense"}'}, "Bad Request: scope.type must be"),
    ],
)
async def test_spec_validation_rejects_bad_calls(
    server: FakeTelegram, alice: FakeUser, method: str, params: dict[str, Any], description: str
) -> None:
    status, body = await raw_call(server, method, **params)
    assert status == 400, body
    assert body["description"].startswith(description) or description in body["description"], body
    assert server.errors[-1].description == body["description"]


async def test_unknown_fields_are_ignored_and_unimplemented_boolean_methods_succeed(
    server: FakeTelegram, alice: FakeUser, bot: Bot
) -> None:
    status, body = await raw_call(server, "sendMessage", chat_id=ALICE_ID, text="hi", no_such_field="x")
    assert (status, body["result"]["text"]) == (200, "hi")
    assert await bot.set_my_description("A CRM") is True
    assert (await bot.get_my_description()).description == "A CRM"
    assert await bot.set_my_default_administrator_rights() is True  # not emulated: validated, then True


async def test_unimplemented_methods_returning_objects_fail_loudly(bot: Bot, alice: FakeUser) -> None:
    with pytest.raises(TelegramServerError, match="does not implement getUserProfilePhotos"):
        await bot.get_user_profile_photos(ALICE_ID)


async def test_json_bodies_and_query_strings_are_accepted(server: FakeTelegram, alice: FakeUser) -> None:
    url = f"{server.base_url}/bot{server.token}"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as session:
        body = {"chat_id": ALICE_ID, "text": "json", "reply_markup": markup}
        async with session.post(f"{url}/sendMessage", json=body) as response:
            assert response.status == 200
        async with session.get(
            f"{url}/sendMessage", params={"chat_id": ALICE_ID, "text": "query"}
        ) as response:
            assert response.status == 200
        async with session.post(f"{url}/sendMessage", json={"chat_id": ALICE_ID}) as response:
            assert response.status == 400
    assert [(m.text, m.buttons) for m in alice.messages] == [("json", [["A"]]), ("query", [])]


async def test_calls_are_recorded_with_typed_params(server: FakeTelegram, bot: Bot, alice: FakeUser) -> None:
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="A", callback_data="a")]])
    await bot.send_message(ALICE_ID, "hi", reply_markup=keyboard, disable_notification=True)
    [params] = server.calls_of("sendMessage")
    assert params["chat_id"] == ALICE_ID
    assert params["disable_notification"] is True
    assert params["reply_markup"] == {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    assert [call.method for call in server.calls] == ["sendMessage"]


# --- text: HTML parse mode and lengths ---


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("2 < 3", 'Unsupported start tag "" at byte offset 2'),
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("<br/>", 'Unsupported start tag "br"'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("Tom & Jerry", "at byte offset 4"),
        ("&nbsp;", "at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("Привет <x>", "at byte offset 13"),  # offsets are in UTF-8 bytes
    ],
)
async def test_bad_html_is_rejected(bot: Bot, alice: FakeUser, text: str, error: str) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities") as raised:
        await bot.send_message(ALICE_ID, text, parse_mode="HTML")
    assert error in raised.value.message


async def test_good_html_is_parsed_into_entities(bot: Bot, alice: FakeUser) -> None:
    html = (
        "<b>b</b><strong>s</strong><i>i</i><u>u</u><s>s</s>"
        '<tg-spoiler>x</tg-spoiler><span class="tg-spoiler">y</span>'
        '<a href="https://example.com/?a=1&amp;b=2">link</a><code>c</code>'
        '<pre><code class="language-python">print()</code></pre><blockquote expandable>q</blockquote>'
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji> &lt;&gt;&amp;&quot;&#39;&#x1F600; > ok'
    )
    message = await bot.send_message(ALICE_ID, html, parse_mode="HTML")
    assert message.text == "bsiusxylinkcprint()q👍 <>&\"'😀 > ok"
    kinds = [(e.type, e.offset, e.length) for e in message.entities or []]
    assert ("text_link", 7, 4) in kinds
    assert ("pre", 12, 7) in kinds
    assert ("expandable_blockquote", 19, 1) in kinds
    assert ("custom_emoji", 20, 2) in kinds  # 👍 is 2 UTF-16 code units
    pre = next(e for e in message.entities or [] if e.type == "pre")
    assert pre.language == "python"
    assert alice.last.html == html and alice.last.text == message.text


async def test_lax_ampersands_can_be_allowed() -> None:
    assert parse_html("Tom & Jerry &nbsp;", strict_ampersand=False) == ("Tom & Jerry &nbsp;", [])


async def test_length_is_counted_after_entity_parsing_in_utf16(bot: Bot, alice: FakeUser) -> None:
    message = await bot.send_message(ALICE_ID, "&amp;" * 4096, parse_mode="HTML")
    assert message.text == "&" * 4096
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ALICE_ID, "&amp;" * 4097, parse_mode="HTML")
    await bot.send_message(ALICE_ID, "😀" * 2048)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(ALICE_ID, "😀" * 2049)  # 4098 UTF-16 code units
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(ALICE_ID, "<b> </b>", parse_mode="HTML")
    assert utf16_len("😀a") == 3


async def test_caption_limit(bot: Bot, alice: FakeUser) -> None:
    photo = BufferedInputFile(TINY_PNG, "p.png")
    await bot.send_photo(ALICE_ID, photo, caption="x" * 1024)
    with pytest.raises(TelegramBadRequest, match="caption is too long"):
        await bot.send_photo(ALICE_ID, photo, caption="<b>x</b>" * 1025, parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(ALICE_ID, BufferedInputFile(b"not an image", "p.png"))


# --- keyboards ---


def one_button(**button: Any) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(**button)]])


@pytest.mark.parametrize(
    ("data", "accepted"),
    [
        ("x" * 64, True),
        ("x" * 65, False),
        ("ж" * 22, True),  # 44 bytes
        ("ж" * 32, True),  # 64 bytes
        ("ж" * 33, False),  # 66 bytes although 33 characters
        ("", False),
    ],
)
async def test_callback_data_is_limited_to_64_bytes(
    bot: Bot, alice: FakeUser, data: str, accepted: bool
) -> None:
    send = bot.send_message(ALICE_ID, "pick", reply_markup=one_button(text="A", callback_data=data))
    if accepted:
        await send
        assert alice.last.button("A")["callback_data"] == data
    else:
        with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
            await send


async def test_inline_buttons_need_exactly_one_action(bot: Bot, alice: FakeUser) -> None:
    with pytest.raises(TelegramBadRequest, match="Text buttons are unallowed"):
        await bot.send_message(ALICE_ID, "x", reply_markup=one_button(text="A"))
    with pytest.raises(TelegramBadRequest, match="exactly one"):
        await bot.send_message(
            ALICE_ID, "x", reply_markup=one_button(text="A", callback_data="a", url="https://a.b")
        )
    with pytest.raises(TelegramBadRequest, match="Wrong HTTP URL"):
        await bot.send_message(ALICE_ID, "x", reply_markup=one_button(text="A", url="not a url"))
    await bot.send_message(ALICE_ID, "x", reply_markup=one_button(text="A", url="https://example.com"))
    assert alice.last.buttons == [["A"]]


async def test_reply_keyboards_are_stored_but_not_returned(bot: Bot, alice: FakeUser) -> None:
    markup = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text="Share", request_contact=True)], [KeyboardButton(text="No")]]
    )
    message = await bot.send_message(ALICE_ID, "phone?", reply_markup=markup)
    assert message.reply_markup is None  # Telegram returns only inline keyboards
    assert alice.last.reply_keyboard == [["Share"], ["No"]]
    assert alice.reply_keyboard == [["Share"], ["No"]]
    await bot.send_message(ALICE_ID, "thanks", reply_markup=ReplyKeyboardRemove())
    assert alice.reply_keyboard is None


# --- editing ---


async def test_edit_message_text(bot: Bot, alice: FakeUser) -> None:
    keyboard = one_button(text="A", callback_data="a")
    sent = await bot.send_message(ALICE_ID, "<b>one</b>", parse_mode="HTML", reply_markup=keyboard)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<b>one</b>",
            chat_id=ALICE_ID,
            message_id=sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard,
        )
    # same text, other formatting: modified
    await bot.edit_message_text("one", chat_id=ALICE_ID, message_id=sent.message_id, reply_markup=keyboard)
    # omitting reply_markup removes the inline keyboard
    edited = await bot.edit_message_text("two", chat_id=ALICE_ID, message_id=sent.message_id)
    assert isinstance(edited, Message) and edited.edit_date is not None and edited.reply_markup is None
    assert (alice.last.text, alice.last.buttons, alice.last.edited) == ("two", [], True)
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=ALICE_ID, message_id=999)
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=ALICE_ID, message_id=sent.message_id)
    await bot.edit_message_reply_markup(chat_id=ALICE_ID, message_id=sent.message_id, reply_markup=keyboard)
    assert alice.last.buttons == [["A"]]


async def test_delete_message(bot: Bot, alice: FakeUser) -> None:
    first = await bot.send_message(ALICE_ID, "first")
    await bot.send_message(ALICE_ID, "second")
    assert await bot.delete_message(ALICE_ID, first.message_id) is True
    assert [m.text for m in alice.messages] == ["second"]
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(ALICE_ID, first.message_id)


# --- callback queries ---


async def test_answer_callback_query_for_an_unknown_query(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query("12345")


# --- chats: blocked users, unknown chats ---


async def test_blocked_user_is_forbidden(server: FakeTelegram, bot: Bot, alice: FakeUser) -> None:
    server.block(ALICE_ID)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(ALICE_ID, "hi")
    server.unblock(ALICE_ID)
    await bot.send_message(ALICE_ID, "hi")


async def test_unknown_chat_is_not_found(server: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(424242, "hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message("@someone", "hi")
    server.user(2002, "Bob")  # exists, but never wrote to the bot
    with pytest.raises(TelegramForbiddenError, match="can't initiate conversation"):
        await bot.send_message(2002, "hi")


async def test_get_chat(bot: Bot, alice: FakeUser) -> None:
    chat = await bot.get_chat(ALICE_ID)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (ALICE_ID, "private", "Alice", "alice")


# --- flood limits and fault injection ---


async def test_global_rate_limit_returns_429_with_retry_after() -> None:
    clock = ManualClock()
    async with FakeTelegram(global_rate=2, clock=clock) as server:
        bot = make_bot(server)
        for user_id in (1, 2):
            server.user(user_id, "U", started=True)
        await bot.send_message(1, "a")
        await bot.send_message(2, "b")
        with pytest.raises(TelegramRetryAfter) as raised:
            await bot.send_message(1, "c")
        assert raised.value.retry_after == 1
        assert server.stats["429"] == 1
        await bot.send_chat_action(1, "typing")  # not a message: not limited
        clock.now += 0.5
        await bot.send_message(2, "d")  # a token is back after 1/rate s
        clock.now += 1
        await bot.send_message(1, "e")
        await bot.session.close()


async def test_per_chat_rate_limit() -> None:
    clock = ManualClock()
    async with FakeTelegram(global_rate=None, per_chat_rate=1, per_chat_burst=2, clock=clock) as server:
        bot = make_bot(server)
        for user_id in (1, 2):
            server.user(user_id, "U", started=True)
        await bot.send_message(1, "a")
        edited = await bot.send_message(1, "b")
        with pytest.raises(TelegramRetryAfter):
            await bot.edit_message_text("c", chat_id=1, message_id=edited.message_id)  # edits count too
        await bot.send_message(2, "other chat")
        clock.now += 1
        await bot.send_message(1, "d")
        assert server.stats["429"] == 1
        await bot.session.close()


async def test_fail_next(server: FakeTelegram, bot: Bot, alice: FakeUser) -> None:
    server.fail_next("sendMessage", 429, retry_after=3)
    server.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user", times=2)
    with pytest.raises(TelegramRetryAfter) as raised:
        await bot.send_message(ALICE_ID, "a")
    assert raised.value.retry_after == 3
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(ALICE_ID, "b")
    await bot.send_message(ALICE_ID, "c")
    assert [m.text for m in alice.messages] == ["c"]
    assert len(server.calls_of("sendMessage")) == 4
    assert (server.stats["429"], server.stats["403"]) == (1, 2)


async def test_fail_next_after_some_calls_succeed(server: FakeTelegram, bot: Bot, alice: FakeUser) -> None:
    server.fail_next("sendDocument", 500, after=1)
    await bot.send_document(ALICE_ID, BufferedInputFile(b"a", "1.csv"))
    with pytest.raises(TelegramServerError):
        await bot.send_document(ALICE_ID, BufferedInputFile(b"b", "2.csv"))
    await bot.send_document(ALICE_ID, BufferedInputFile(b"c", "3.csv"))
    assert [m.document["file_name"] for m in alice.messages] == ["1.csv", "3.csv"]
    assert len(server.calls_of("sendDocument")) == 3


# --- files ---


async def test_bot_upload_and_download_round_trip(server: FakeTelegram, bot: Bot, alice: FakeUser) -> None:
    message = await bot.send_document(
        ALICE_ID, BufferedInputFile(b"id,name\n1,Ann\n", "leads.csv"), caption="Export"
    )
    assert message.document is not None
    assert (message.document.file_name, message.document.mime_type, message.caption) == (
        "leads.csv",
        "text/csv",
        "Export",
    )
    assert server.file_bytes(alice.last.file_id or "") == b"id,name\n1,Ann\n"
    file = await bot.get_file(message.document.file_id)
    assert file.file_path is not None
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == b"id,name\n1,Ann\n"
    resent = await bot.send_document(ALICE_ID, message.document.file_id)  # by file_id
    assert resent.document is not None and resent.document.file_id == message.document.file_id
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("nope")
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_document(ALICE_ID, "nope")


# --- the person API with a running bot ---


async def test_send_and_press(server: FakeTelegram, events: list[Any]) -> None:
    alice = server.user(ALICE_ID, "Alice", username="alice")
    replies = await alice.send("/start")
    assert replies.texts == ["Menu for you"]
    menu = replies.last
    assert (menu.html, menu.buttons) == ("<b>Menu</b> for <i>you</i>", [["Deactivate"], ["Site"]])
    assert menu.button("Site") == {"text": "Site", "url": "https://example.com"}

    replies = await alice.press("Deactivate")
    assert [(m.message_id, m.text, m.edited) for m in replies] == [(menu.message_id, "Deactivated", True)]
    assert replies.callback_answer is not None
    assert (replies.callback_answer.text, replies.callback_answer.show_alert) == ("Done", True)
    assert menu.text == "Deactivated" and menu.buttons == []

    with pytest.raises(AssertionError, match="no message in Alice's chat has a button 'Deactivate'"):
        await alice.press("Deactivate")
    replies = await alice.press_data("forged:data", message=menu)
    assert replies.callback_answer is not None and replies.callback_answer.text == "Unknown button"
    assert [e.data for e in events if isinstance(e, CallbackQuery)] == ["deactivate:7", "forged:data"]
    await server.wait_idle()
    assert not server.errors


async def test_commands_get_entities_and_updates_are_numbered(
    server: FakeTelegram, events: list[Any]
) -> None:
    alice = server.user(ALICE_ID, "Alice")
    first = await alice.send("/help inv_abc")
    second = await alice.send("hello")
    assert (first.update_id, second.update_id) == (1, 2)
    command, text = events
    assert command.entities[0].type == "bot_command" and command.entities[0].length == 5
    assert text.entities is None and isinstance(text.date.timestamp(), float)
    assert text.message_id > command.message_id
    assert [m.text for m in alice.messages] == ["echo: /help inv_abc", "echo: hello"]


async def test_press_an_older_message(server: FakeTelegram, events: list[Any]) -> None:
    alice = server.user(ALICE_ID, "Alice")
    old = (await alice.send("/start")).last
    await alice.send("/start")
    replies = await alice.press("Deactivate", message=old)
    assert replies.last.message_id == old.message_id
    assert [m.text for m in alice.messages] == ["Deactivated", "Menu for you"]


async def test_contact_and_reply_keyboard(server: FakeTelegram, events: list[Any]) -> None:
    alice = server.user(ALICE_ID, "Alice", phone_number="+79991234567")
    await alice.send("/keyboard")
    assert alice.reply_keyboard == [["Share phone"]]
    replies = await alice.share_contact(own=True)
    assert replies.texts == ["phone +79991234567 own=True"]
    assert alice.reply_keyboard is None
    replies = await alice.share_contact(phone="+441234", first_name="Ivan")
    assert replies.texts == ["phone +441234 own=False"]


async def test_user_upload_is_downloadable_by_the_bot(server: FakeTelegram, events: list[Any]) -> None:
    alice = server.user(ALICE_ID, "Alice")
    replies = await alice.upload("notes.txt", b"hello", "text/plain")
    assert replies.texts == ["got notes.txt: hello"]
    assert (await alice.send_photo(caption="pic")).texts == []  # no handler for photos
    assert (await alice.send_sticker()).texts == []
    assert (await alice.send_raw(location={"latitude": 55.7, "longitude": 37.6})).texts == []
    photo, sticker, location = [m for m in events if isinstance(m, Message)]
    assert photo.photo is not None and photo.caption == "pic"
    assert server.file_bytes(photo.photo[-1].file_id) == TINY_PNG
    assert sticker.sticker is not None and location.location is not None


async def test_inline_query(server: FakeTelegram, events: list[Any]) -> None:
    results = await server.user(ALICE_ID, "Alice").inline_query("acme")
    assert results is not None and results[0]["title"] == "acme"


async def test_blocking_the_bot_sends_my_chat_member(
    server: FakeTelegram, bot: Bot, events: list[Any]
) -> None:
    alice = server.user(ALICE_ID, "Alice")
    await alice.send("hi")
    await server.process_my_chat_member(alice, "kicked")
    assert events[-1] == "kicked"
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(ALICE_ID, "still there?")
    replies = await alice.send("I'm back")  # writing to the bot again unblocks it
    assert events[-2:][0] == "member" and replies.texts == ["echo: I'm back"]


async def test_unconfirmed_update_times_out_with_a_clear_message(server: FakeTelegram) -> None:
    server.update_timeout = 0.05
    with pytest.raises(AssertionError, match=r"never confirmed update 1 .*nobody called getUpdates"):
        await server.user(ALICE_ID, "Alice").send("anyone?")


# --- long polling ---


async def test_get_updates_offset_limit_and_timeout(server: FakeTelegram, bot: Bot) -> None:
    alice = server.user(ALICE_ID, "Alice")
    for text in ("a", "b", "c"):
        server.submit(alice, "message", alice.new_message(text=text))
    updates = await bot.get_updates(limit=2)
    assert [u.update_id for u in updates] == [1, 2]
    assert [u.update_id for u in await bot.get_updates()] == [1, 2, 3]  # nothing confirmed yet
    assert [u.update_id for u in await bot.get_updates(offset=3)] == [3]
    assert await bot.get_updates(offset=4, timeout=0) == []
    assert server.updates.pending_count == 0

    started = time.monotonic()
    waiting = asyncio.create_task(bot.get_updates(offset=4, timeout=5))
    await asyncio.sleep(0.05)
    pending = server.submit(alice, "message", alice.new_message(text="d"))
    assert [u.update_id for u in await waiting] == [4]
    assert time.monotonic() - started < 1
    await bot.get_updates(offset=5)
    await pending  # confirmed


async def test_a_second_poller_conflicts(server: FakeTelegram, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.05)
    second = asyncio.create_task(bot.get_updates(timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await first
    assert await second == []


async def test_allowed_updates_filters_update_types(server: FakeTelegram, bot: Bot) -> None:
    alice = server.user(ALICE_ID, "Alice")
    await bot.get_updates(allowed_updates=["message"], timeout=0)
    server.submit(
        alice, "callback_query", {"id": "1", "from": alice.to_user(), "chat_instance": "c", "data": "x"}
    )
    server.submit(alice, "message", alice.new_message(text="hi"))
    assert [u.message is not None for u in await bot.get_updates(timeout=0)] == [True]
    assert server.updates.dropped == {1: "allowed_updates"}


# --- bot settings ---


async def test_commands_per_scope_and_language(server: FakeTelegram, bot: Bot) -> None:
    server.user(ALICE_ID, "Alice")
    await bot.set_my_commands([BotCommand(command="start", description="Start")])
    await bot.set_my_commands([BotCommand(command="start", description="Старт")], language_code="ru")
    scope = BotCommandScopeChat(chat_id=ALICE_ID)
    await bot.set_my_commands([BotCommand(command="admin", description="Admin")], scope=scope)
    assert [c.description for c in await bot.get_my_commands()] == ["Start"]
    assert [c.description for c in await bot.get_my_commands(language_code="ru")] == ["Старт"]
    assert server.commands(scope={"type": "chat", "chat_id": ALICE_ID}) == [
        {"command": "admin", "description": "Admin"}
    ]
    await bot.delete_my_commands(language_code="ru")
    assert await bot.get_my_commands(language_code="ru") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Bad Command", description="x")])


async def test_menu_button_and_chat_action(bot: Bot, alice: FakeUser) -> None:
    assert await bot.set_chat_menu_button(chat_id=ALICE_ID) is True
    assert await bot.send_chat_action(ALICE_ID, "typing") is True
    with pytest.raises(TelegramBadRequest, match="wrong parameter action"):
        await bot.send_chat_action(ALICE_ID, "dancing")


# --- webhook mode ---


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_webhook_delivery_with_secret(server: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(F.text == "/start")
    async def start(message: Message) -> None:
        await message.answer("Hello via webhook")

    @dp.message()
    async def reply_in_webhook(message: Message) -> Any:
        return message.answer("answered in the webhook response")  # aiogram puts it in the HTTP reply

    app = web.Application()
    SimpleRequestHandler(dp, bot, secret_token="s3cret", handle_in_background=False).register(
        app, path="/hook"
    )
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = f"http://127.0.0.1:{port}/hook"
        await bot.set_webhook(url, secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == (url, 0)
        with pytest.raises(
            TelegramConflictError, match="can't use getUpdates method while webhook is active"
        ):
            await bot.get_updates()

        alice = server.user(ALICE_ID, "Alice")
        assert (await alice.send("/start")).texts == ["Hello via webhook"]
        assert (await alice.send("hi")).texts == ["answered in the webhook response"]

        assert await server.post_raw_update({"message": alice.new_message(text="x")}, secret="wrong") == 401
        assert await server.post_raw_update({"message": alice.new_message(text="/start")}) == 200

        await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        assert await bot.get_updates(timeout=0) == []
    finally:
        await runner.cleanup()


async def test_webhook_failures_are_reported(server: FakeTelegram, bot: Bot) -> None:
    server.update_timeout = 0.3
    await bot.set_webhook(f"http://127.0.0.1:{free_port()}/nobody-listens")
    with pytest.raises(AssertionError, match="last delivery error: Connection failed"):
        await server.user(ALICE_ID, "Alice").send("hi")
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 1 and info.last_error_message is not None
    with pytest.raises(TelegramBadRequest, match="secret token contains unallowed characters"):
        await bot.set_webhook("https://example.com/hook", secret_token="no spaces allowed")


# --- spec loading ---


def test_spec_path_can_be_overridden(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("TELEGRAM_API_SPEC", str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError, match="TELEGRAM_API_SPEC"):
        ApiSpec.load()
