"""The people of the tests, made one way: staff joining by an invite or written straight into the
database, client records as the clients service leaves them, and customers whose Telegram account is
linked to their client record; at the end, bare rows for service tests that have only a session.

Every factory takes what the test used (ids, names, languages, time zones) as arguments. `target` is
the running `app`, or a plain session factory for tests whose bot runs in another process (crash
tests): then times are the system clock's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.clients import Client
from models.users import Role, User
from services import loyalty, search
from tests.fakebot import FakeTelegram, FakeUser

INVITE_RE = re.compile(r"https://t\.me/crm_test_bot\?start=(m_[A-Za-z0-9_-]+)")
# What a person who opened a manager invite is told, by their Telegram language
JOINED = {"ru": "Теперь вы менеджер", "en": "You are now a manager"}


def _sessions(target: Any) -> async_sessionmaker[AsyncSession]:
    return getattr(target, "session_factory", target)


def _now(target: Any) -> datetime:
    clock = getattr(target, "clock", None)
    return clock.now() if clock is not None else datetime.now(UTC)


# --- staff ---


async def invite_link(admin: FakeUser) -> str:
    """The admin sends /invite; the payload of the manager invite link it answers with."""
    replies = await admin.send("/invite")
    match = INVITE_RE.search(replies.last.text or "")
    assert match, replies.last.text
    assert len(match.group(1)) <= 64
    return match.group(1)


async def manager_via_invite(
    app, tg: FakeTelegram, admin: FakeUser, uid: int, name: str, lang: str = "ru"
) -> FakeUser:
    """A manager the way people become one: the admin's /invite, opened with /start <payload>."""
    payload = await invite_link(admin)
    person = tg.user(uid, name, language_code=lang)
    replies = await person.send(f"/start {payload}")
    assert JOINED[lang] in replies.last.text, replies.last.text
    await app.queue.drain()
    return person


async def staff(
    app,
    tg: FakeTelegram,
    uid: int,
    name: str,
    *,
    role: Role = Role.manager,
    lang: str = "ru",
    language: str | None = None,
    tz: str | None = None,
    start: bool = True,
) -> FakeUser:
    """A staff member written straight into users (no invite). `lang` is their Telegram language,
    `language` the one chosen with /language (None: follow Telegram's), `tz` their time zone (None:
    the default). With `start` they have opened the chat (/start)."""
    async with app.session_factory() as s, s.begin():
        s.add(User(id=uid, first_name=name, role=role, tg_language=lang, language=language, timezone=tz))
    person = tg.user(uid, name, language_code=lang)
    if start:
        await person.send("/start")
    return person


async def manager(app, tg: FakeTelegram, uid: int, name: str, **options: Any) -> FakeUser:
    """A manager written straight into users; the options are those of `staff`."""
    return await staff(app, tg, uid, name, role=Role.manager, **options)


# --- clients and customers ---


async def client_record(target, owner_id: int, name: str, **fields: Any) -> int:
    """A client of `owner_id` with its search terms, as the clients service writes one: its id."""
    async with _sessions(target)() as s, s.begin():
        now = _now(target)
        values: dict[str, Any] = {"created_by": owner_id, "created_at": now, "updated_at": now}
        client = Client(name=name, owner_id=owner_id, **(values | fields))
        s.add(client)
        await s.flush()
        await search.rebuild_terms(s, client, [])
        return client.id


async def linked_customer(
    app,
    tg: FakeTelegram,
    owner_id: int,
    uid: int,
    name: str,
    *,
    first_name: str | None = None,
    start: bool = True,
    **fields: Any,
) -> tuple[int, FakeUser]:
    """A client of `owner_id` whose Telegram account is `uid` (set directly, as linking leaves it);
    the person is called `first_name` (default: `name`) and, with `start`, has opened the chat.
    Returns (client id, the person)."""
    client_id = await client_record(app, owner_id, name, telegram_id=uid, **fields)
    person = tg.user(uid, first_name or name, language_code="ru", started=not start)
    if start:
        await person.send("/start")
    return client_id, person


async def link_customer(app, tg: FakeTelegram, uid: int, client_id: int, name: str = "Иван") -> FakeUser:
    """The customer `uid` opens the bot, then their account is linked to an existing client record
    the way the customers' linking does it, which calls loyalty.on_linked (the welcome bonus)."""
    person = tg.user(uid, name, language_code="ru")
    await person.send("/start")
    async with app.session_factory() as s, s.begin():
        client = await s.get(Client, client_id)
        client.telegram_id = uid
        await s.flush()
        await loyalty.on_linked(s, client, await s.get(User, uid), app.clock.now())
    return person


# --- rows for service tests (no Telegram side) ---


async def add_user(session: AsyncSession, uid: int, name: str | None = None, **fields: Any) -> User:
    """A users row on `session`, flushed: a customer unless `role` says otherwise, called `name`
    (default: U<id>); other columns from `fields` (timezone, created_at...)."""
    fields.setdefault("role", Role.customer)
    row = User(id=uid, first_name=f"U{uid}" if name is None else name, **fields)
    session.add(row)
    await session.flush()
    return row


async def add_client_row(
    session: AsyncSession, owner_id: int, name: str, *, search_terms: bool = False, **fields: Any
) -> Client:
    """A clients row of `owner_id` on `session`, flushed, with only the columns given (timestamps,
    telegram_id...); with `search_terms` also the terms /find looks up."""
    client = Client(name=name, owner_id=owner_id, **fields)
    session.add(client)
    await session.flush()
    if search_terms:
        await search.rebuild_terms(session, client, [])
    return client
