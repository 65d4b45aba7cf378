"""/start (with deep-link payloads), /help and /cancel."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import menus
from bot.messages import error_text
from bot.text import h
from models.users import Role, User
from services import invites, notify
from services.clock import Clock
from services.errors import DomainError

ANY = {"role": "any"}


def help_text(user: User) -> str:
    role = user.effective_role
    if role == Role.admin:
        intro = _("You are an <b>admin</b>: you manage the team and see everything.")
    elif role == Role.manager:
        intro = _("You are a <b>manager</b>.")
    else:
        intro = _(
            "Here you can check your bonus points, choose which messages you get from us "
            "and tell us how we did."
        )
    lines = [intro, ""]
    lines += [f"/{name} — {desc}" for name, desc in menus.commands_for(role)]
    return "\n".join(lines)


async def greeting(user: User, bot: Bot) -> str:
    me = await bot.me()
    hello = _("👋 Hello, {name}!").format(name=h(user.first_name or user.display_name))
    if user.is_staff:
        return f"{hello}\n{help_text(user)}"
    welcome = _("This is the bot of <b>{company}</b>.").format(company=h(me.first_name))
    return f"{hello}\n{welcome}\n{help_text(user)}"


def router() -> Router:
    r = Router(name="start")

    @r.message(CommandStart(deep_link=True), flags=ANY)
    async def start_with_payload(
        message: Message, command: CommandObject, session: AsyncSession, user: User, clock: Clock, bot: Bot
    ) -> None:
        payload = command.args or ""
        if invites.kind_of(payload) is None:
            await message.answer(
                _("This link is not valid or has expired.") + "\n\n" + await greeting(user, bot)
            )
            return
        now = clock.now()
        try:
            redeemed = await invites.redeem_manager_invite(session, user, payload, now)
        except DomainError as e:
            await message.answer(error_text(e))
            return
        if redeemed.inviter_id is not None:
            await notify.notify(
                session,
                redeemed.inviter_id,
                "invite_used",
                now,
                key=f"invite_used:{redeemed.invite.id}",
                name=user.display_name,
            )
        await notify.sync_commands(session, user.id, now)
        await message.answer(
            _("🎉 Welcome to the team, {name}! You are now a manager.").format(name=h(user.display_name))
            + "\n\n"
            + help_text(user)
        )

    @r.message(CommandStart(), flags=ANY)
    async def start(message: Message, user: User, bot: Bot) -> None:
        await message.answer(await greeting(user, bot))

    @r.message(Command("help"), flags=ANY)
    async def help_(message: Message, user: User) -> None:
        await message.answer(help_text(user))

    @r.message(Command("cancel"), flags=ANY)
    async def cancel(message: Message, state: FSMContext) -> None:
        if await state.get_state() is None:
            await message.answer(_("Nothing to cancel."))
            return
        await state.clear()
        await message.answer(_("Cancelled. Nothing was saved."))

    return r
