"""Roles and team rules, below the bot: invites, deactivation, the last admin."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db import create_session_factory
from models.audit import AuditEvent
from models.users import Role, User
from services import invites
from services import users as users_service
from services.errors import DomainError
from services.users import TelegramProfile
from tests.support.people import add_user


async def test_admin_ids_are_admins_from_first_contact(session, clock):
    user = await users_service.touch(session, TelegramProfile(id=77, first_name="Olga"), clock.now(), (77,))
    assert user.role == Role.admin
    other = await users_service.touch(session, TelegramProfile(id=78, first_name="Petr"), clock.now(), (77,))
    assert other.role == Role.customer


def test_language_resolution():
    user = User(id=1, language=None)
    assert users_service.resolve_language(user, "en-GB", "ru") == "en"
    assert users_service.resolve_language(user, "de", "ru") == "ru"
    user.language = "ru"
    assert users_service.resolve_language(user, "en", "en") == "ru"


async def test_invite_is_single_use_and_expires(session, clock):
    admin = await add_user(session, 1, role=Role.admin)
    ivan, petr = await add_user(session, 2), await add_user(session, 3)
    invite = await invites.create_manager_invite(session, admin, clock.now())
    payload = invites.payload_of(invite)
    assert len(payload) <= 64 and all(c.isalnum() or c in "_-" for c in payload)
    redeemed = await invites.redeem_manager_invite(session, ivan, payload, clock.now())
    assert redeemed.user.role == Role.manager and redeemed.inviter_id == 1
    with pytest.raises(DomainError) as e:
        await invites.redeem_manager_invite(session, petr, payload, clock.now())
    assert e.value.code == "invite_used"

    late = await invites.create_manager_invite(session, admin, clock.now())
    clock.advance(days=7, seconds=1)
    with pytest.raises(DomainError) as e:
        await invites.redeem_manager_invite(session, petr, invites.payload_of(late), clock.now())
    assert e.value.code == "invite_expired"
    with pytest.raises(DomainError) as e:
        await invites.redeem_manager_invite(session, petr, "m_" + "x" * 43, clock.now())
    assert e.value.code == "invite_invalid"
    assert petr.role == Role.customer


async def test_invite_tokens_are_unguessable(session, clock):
    admin = await add_user(session, 1, role=Role.admin)
    tokens = {(await invites.create_manager_invite(session, admin, clock.now())).token for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) >= 40 for t in tokens)


async def test_last_admin_cannot_be_demoted_or_deactivated(session, clock):
    admin = await add_user(session, 1, role=Role.admin)
    for action in (users_service.demote, users_service.deactivate):
        with pytest.raises(DomainError) as e:
            await action(session, admin, admin.id, clock.now())
        assert e.value.code == "last_admin"
    second = await add_user(session, 2, role=Role.manager)
    await users_service.promote(session, admin, second.id, clock.now())
    await users_service.demote(session, second, admin.id, clock.now())
    assert admin.role == Role.manager
    # deactivated admins don't count as active admins
    with pytest.raises(DomainError):
        await users_service.deactivate(session, second, second.id, clock.now())


async def test_deactivated_manager_is_treated_as_customer_and_can_be_reactivated(session, clock):
    admin = await add_user(session, 1, role=Role.admin)
    manager = await add_user(session, 2, role=Role.manager)
    await users_service.deactivate(session, admin, manager.id, clock.now())
    assert manager.effective_role == Role.customer and not manager.is_staff
    with pytest.raises(DomainError) as e:
        await users_service.deactivate(session, admin, manager.id, clock.now())
    assert e.value.code == "already_inactive"
    await users_service.reactivate(session, admin, manager.id, clock.now())
    assert manager.effective_role == Role.manager
    actions = (await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))).all()
    assert actions == ["team.deactivate", "team.reactivate"]


async def test_team_actions_on_customers_are_not_found(session, clock):
    admin = await add_user(session, 1, role=Role.admin)
    await add_user(session, 5)
    with pytest.raises(DomainError) as e:
        await users_service.deactivate(session, admin, 5, clock.now())
    assert e.value.code == "not_found"


async def test_two_admins_demoting_each_other_at_once_leave_one(pg_engine, clock):
    session_factory = create_session_factory(pg_engine)
    async with session_factory() as s, s.begin():
        await add_user(s, 1, role=Role.admin)
        await add_user(s, 2, role=Role.admin)

    async def demote(actor: int, target: int) -> str:
        async with session_factory() as s:
            try:
                async with s.begin():
                    await users_service.demote(s, await s.get(User, actor), target, clock.now())
                    await asyncio.sleep(0.05)
                return "ok"
            except DomainError as e:
                return e.code

    results = await asyncio.gather(demote(1, 2), demote(2, 1))
    assert sorted(results) == ["last_admin", "ok"]
    async with session_factory() as s:
        assert len(await users_service.active_admins(s)) == 1


async def test_fsm_state_survives_a_restart(session_factory, clock):
    from aiogram.fsm.storage.base import StorageKey

    from bot.fsm_storage import SqlStorage

    key = StorageKey(bot_id=1, chat_id=2, user_id=2)
    first = SqlStorage(session_factory, clock=clock)
    await first.set_state(key, "AddClient:phone")
    await first.update_data(key, {"name": "Иван <Петров>"})
    second = SqlStorage(session_factory, clock=clock)  # a new process
    assert await second.get_state(key) == "AddClient:phone"
    assert await second.get_data(key) == {"name": "Иван <Петров>"}
    await second.set_state(key, None)
    await second.set_data(key, {})
    assert await second.get_state(key) is None and await second.get_data(key) == {}
    clock.advance(timedelta(seconds=1))
