"""/start (with deep-link payloads: "m_" manager invite, "c_" customer invite, "r_" referral, "k_" a
campaign's tracked link), /help and /cancel."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _

from bot.context import Ctx
from bot.messages import error_text
from bot.text import h
from bot.views import customers as customer_views
from bot.views.start import help_text
from services import customers, invites, loyalty, notify
from services.access import client_of
from services.campaigns import links as campaign_links
from services.errors import DomainError

ANY = {"role": "any"}
REFERRAL_PREFIX = "r_"  # services/loyalty.remember_referral; "c_" customer and "m_" manager invites

router = Router(name="start")


async def greeting(ctx: Ctx) -> str:
    user = ctx.user
    me = await ctx.bot.me()
    hello = _("👋 Hello, {name}!").format(name=h(user.first_name or user.display_name))
    if user.is_staff:
        return f"{hello}\n{help_text(user)}"
    welcome = _("This is the bot of <b>{company}</b>.").format(company=h(me.first_name))
    return f"{hello}\n{welcome}\n{help_text(user)}"


async def customer_greeting(ctx: Ctx, prefix: str | None = None) -> tuple[str, ReplyKeyboardMarkup | None]:
    """The greeting; a customer who isn't linked yet also gets the "📱 Share my phone" keyboard."""
    text = await greeting(ctx)
    if prefix:
        text = f"{prefix}\n\n{text}"
    if ctx.user.is_staff or await client_of(ctx.session, ctx.user.id) is not None:
        return text, None
    return f"{text}\n\n{customer_views.unlinked_hint()}", customer_views.share_phone_keyboard()


# --- /start with a payload: one handler per kind of link, tried in this order ---


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(customers.INVITE_PREFIX)), flags=ANY)
async def start_customer_invite(message: Message, command: CommandObject, ctx: Ctx) -> None:
    await customer_invite(message, ctx, command.args or "")


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(REFERRAL_PREFIX)), flags=ANY)
async def start_referral(message: Message, command: CommandObject, ctx: Ctx) -> None:
    code = (command.args or "")[len(REFERRAL_PREFIX) :]
    valid = await loyalty.remember_referral(ctx.session, ctx.user, code, ctx.now())
    prefix = None if valid else _("This link is not valid or has expired.")
    text, markup = await customer_greeting(ctx, prefix)
    await message.answer(text, reply_markup=markup)


@router.message(CommandStart(deep_link=True, magic=F.args.func(invites.kind_of)), flags=ANY)
async def start_manager_invite(message: Message, command: CommandObject, ctx: Ctx) -> None:
    await manager_invite(message, ctx, command.args or "")


@router.message(CommandStart(deep_link=True, magic=F.args.startswith(campaign_links.PREFIX)), flags=ANY)
async def start_campaign_link(message: Message, command: CommandObject, ctx: Ctx) -> None:
    """A campaign's tracked link: the opening is recorded once per person (a forged or unknown one
    is not), and the answer is the plain /start one either way."""
    await campaign_links.opened(ctx.session, command.args or "", ctx.user.id, ctx.now())
    text, markup = await customer_greeting(ctx)
    await message.answer(text, reply_markup=markup)


@router.message(CommandStart(deep_link=True), flags=ANY)
async def start_unknown_link(message: Message, ctx: Ctx) -> None:
    text, markup = await customer_greeting(ctx, _("This link is not valid or has expired."))
    await message.answer(text, reply_markup=markup)


async def manager_invite(message: Message, ctx: Ctx, payload: str) -> None:
    now, user = ctx.now(), ctx.user
    try:
        redeemed = await invites.redeem_manager_invite(ctx.session, user, payload, now)
    except DomainError as e:
        await message.answer(error_text(e))
        return
    if redeemed.inviter_id is not None:
        await notify.notify(
            ctx.session,
            redeemed.inviter_id,
            "invite_used",
            now,
            key=f"invite_used:{redeemed.invite.id}",
            name=user.display_name,
        )
    await notify.sync_commands(ctx.session, user.id, now)
    await message.answer(
        _("🎉 Welcome to the team, {name}! You are now a manager.").format(name=h(user.display_name))
        + "\n\n"
        + help_text(user),
        reply_markup=ReplyKeyboardRemove(),
    )


async def customer_invite(message: Message, ctx: Ctx, payload: str) -> None:
    user = ctx.user
    try:
        linked = await customers.redeem_invite(ctx.session, user, payload, ctx.now())
    except DomainError as e:
        offer_phone = (
            e.code.startswith("customer_invite")
            and not user.is_staff
            and await client_of(ctx.session, user.id) is None
        )
        markup = customer_views.share_phone_keyboard() if offer_phone else None
        await message.answer(customer_views.error(e), reply_markup=markup)
        return
    if linked.already:
        await message.answer(customer_views.already_linked_text(), reply_markup=ReplyKeyboardRemove())
        return
    await message.answer(
        customer_views.linked_text(user.first_name or user.display_name, help_text(user)),
        reply_markup=ReplyKeyboardRemove(),
    )


@router.message(CommandStart(), flags=ANY)
async def start(message: Message, ctx: Ctx) -> None:
    text, markup = await customer_greeting(ctx)
    await message.answer(text, reply_markup=markup)


@router.message(Command("help"), flags=ANY)
async def help_(message: Message, ctx: Ctx) -> None:
    await message.answer(help_text(ctx.user))


@router.message(Command("cancel"), flags=ANY)
async def cancel(message: Message, ctx: Ctx) -> None:
    if await ctx.state.get_state() is None:
        await message.answer(_("Nothing to cancel."))
        return
    await ctx.state.clear()
    await message.answer(_("Cancelled. Nothing was saved."))
