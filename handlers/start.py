"""/start (with deep-link payloads: "m_" manager invite, "c_" customer invite, "r_" referral), /help
and /cancel."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import menus
from bot.messages import error_text
from bot.text import h
from bot.views import customers as customer_views
from models.users import Role, User
from services import customers, invites, loyalty, notify
from services.clock import Clock
from services.errors import DomainError

ANY = {"role": "any"}
REFERRAL_PREFIX = "r_"  # services/loyalty.remember_referral; "c_" customer and "m_" manager invites


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


async def customer_greeting(
    session: AsyncSession, user: User, bot: Bot, prefix: str | None = None
) -> tuple[str, ReplyKeyboardMarkup | None]:
    """The greeting; a customer who isn't linked yet also gets the "📱 Share my phone" keyboard."""
    text = await greeting(user, bot)
    if prefix:
        text = f"{prefix}\n\n{text}"
    if user.is_staff or await customers.client_of(session, user.id) is not None:
        return text, None
    return f"{text}\n\n{customer_views.unlinked_hint()}", customer_views.share_phone_keyboard()


def router() -> Router:
    r = Router(name="start")

    @r.message(CommandStart(deep_link=True), flags=ANY)
    async def start_with_payload(
        message: Message, command: CommandObject, session: AsyncSession, user: User, clock: Clock, bot: Bot
    ) -> None:
        payload = command.args or ""
        if payload.startswith(customers.INVITE_PREFIX):
            await customer_invite(message, session, user, clock, bot, payload)
        elif payload.startswith(REFERRAL_PREFIX):
            code = payload[len(REFERRAL_PREFIX) :]
            valid = await loyalty.remember_referral(session, user, code, clock.now())
            prefix = None if valid else _("This link is not valid or has expired.")
            text, markup = await customer_greeting(session, user, bot, prefix)
            await message.answer(text, reply_markup=markup)
        elif invites.kind_of(payload) is not None:
            await manager_invite(message, session, user, clock, payload)
        else:
            text, markup = await customer_greeting(
                session, user, bot, _("This link is not valid or has expired.")
            )
            await message.answer(text, reply_markup=markup)

    async def manager_invite(
        message: Message, session: AsyncSession, user: User, clock: Clock, payload: str
    ) -> None:
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
            + help_text(user),
            reply_markup=ReplyKeyboardRemove(),
        )

    async def customer_invite(
        message: Message, session: AsyncSession, user: User, clock: Clock, bot: Bot, payload: str
    ) -> None:
        try:
            linked = await customers.redeem_invite(session, user, payload, clock.now())
        except DomainError as e:
            markup = (
                customer_views.share_phone_keyboard()
                if e.code.startswith("customer_invite")
                and not user.is_staff
                and await customers.client_of(session, user.id) is None
                else None
            )
            await message.answer(customer_views.error(e), reply_markup=markup)
            return
        if linked.already:
            await message.answer(customer_views.already_linked_text(), reply_markup=ReplyKeyboardRemove())
            return
        await message.answer(
            customer_views.linked_text(user.first_name or user.display_name, help_text(user)),
            reply_markup=ReplyKeyboardRemove(),
        )

    @r.message(CommandStart(), flags=ANY)
    async def start(message: Message, session: AsyncSession, user: User, bot: Bot) -> None:
        text, markup = await customer_greeting(session, user, bot)
        await message.answer(text, reply_markup=markup)

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
