"""The customer's side: /balance, /gifts (choose, confirm, request), /referral."""

from __future__ import annotations

import secrets
from functools import partial

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LoyaltyAction, LoyaltyCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import customers as customer_views
from bot.views import loyalty as views
from handlers.loyalty.common import ANY, currency
from models.users import User
from services.errors import DomainError
from services.loyalty import gifts, reading, referrals
from services.loyalty import settings as program_settings
from services.users import resolve_language

router = Router(name="loyalty.customer")


async def not_linked(message: Message) -> None:
    text, markup = customer_views.not_linked()
    await message.answer(text, reply_markup=markup)


@router.message(Command("balance"), flags=ANY)
async def balance(message: Message, ctx: Ctx) -> None:
    try:
        s = await reading.customer_summary(ctx.session, ctx.user, ctx.now())
    except DomainError:
        await not_linked(message)
        return
    await message.answer(views.balance_text(s, s.client.timezone or ctx.tz, currency(ctx)))


@router.message(Command("gifts"), flags=ANY)
async def gifts_command(message: Message, ctx: Ctx) -> None:
    try:
        _client, points, items = await gifts.customer_gifts(ctx.session, ctx.user)
    except DomainError:
        await not_linked(message)
        return
    await message.answer(views.gifts_text(points, items), reply_markup=views.gifts_keyboard(points, items))


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.gpick), flags=ANY)
async def gift_pick(query: CallbackQuery, callback_data: LoyaltyCb, ctx: Ctx) -> None:
    try:
        _client, points, items = await gifts.customer_gifts(ctx.session, ctx.user)
    except DomainError:
        await query.answer(customer_views.not_linked()[0], show_alert=True)
        return
    gift = next((g for g in items if g.id == callback_data.id), None)
    if gift is None:
        await query.answer(views.error(DomainError("gift_gone")), show_alert=True)
        return
    if gift.points > points:
        await query.answer(views.error(DomainError("points_over_balance", balance=points)), show_alert=True)
        return
    text, markup = views.gift_confirm(gift, secrets.randbelow(2**31 - 1) + 1)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)


def reminder_text(ctx: Ctx, owner: User | None, gift: str, client: str) -> str:
    """The owner manager's reminder to hand the gift over: stored text, in the owner's language."""
    language = resolve_language(owner, owner.tg_language if owner else None, ctx.settings.default_language)
    with ctx.i18n.use_locale(language):
        return views.gift_task_reminder(gift, client)


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.greq), flags=ANY)
async def gift_request(query: CallbackQuery, callback_data: LoyaltyCb, ctx: Ctx) -> None:
    if callback_data.arg <= 0:
        await query.answer(_("This button is no longer valid. Send /start to begin again."), show_alert=True)
        return
    try:
        done = await gifts.request_gift(
            ctx.session, ctx.user, callback_data.id, callback_data.arg, ctx.now(), partial(reminder_text, ctx)
        )
    except DomainError as e:
        text = customer_views.not_linked()[0] if e.code == "not_linked" else views.error(e)
        await query.answer(text, show_alert=True)
        return
    request = done.request
    text = views.gift_requested(request.gift_name, request.points, done.balance, again=not done.created)
    if not done.created:
        await query.answer(text, show_alert=True)
        return
    await query.answer()
    await edit_or_send(query, text)


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.gno), flags=ANY)
async def gift_no(query: CallbackQuery) -> None:
    await query.answer()
    await edit_or_send(query, _("OK, nothing was requested."))


@router.message(Command("referral"), flags=ANY)
async def referral(message: Message, ctx: Ctx) -> None:
    try:
        code = await referrals.customer_referral_code(ctx.session, ctx.user, ctx.now())
    except DomainError:
        await not_linked(message)
        return
    me = await ctx.bot.me()
    link = f"https://t.me/{me.username}?start={referrals.REFERRAL_PREFIX}{code}"
    prog = await program_settings.program(ctx.session)
    await message.answer(
        views.referral_text(link, prog.referral_bonus), reply_markup=views.referral_keyboard(link)
    )
