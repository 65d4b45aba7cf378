"""The purchase dialog from the points card: amount → points to redeem → confirm. Confirm records
the purchase once; if the figures changed since they were shown (e.g. the client's tier), they are
shown again to confirm instead."""

from __future__ import annotations

from decimal import Decimal

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChoiceCb, LoyaltyAction, LoyaltyCb
from bot.context import Ctx
from bot.dialogs import close_prompt, end_dialog, next_step
from bot.views import loyalty as views
from handlers.loyalty.common import (
    STAFF,
    TYPED,
    Buy,
    ask,
    currency,
    draw_card,
    on_current_step,
    prompt,
    quote_from,
    start_dialog,
    step_button,
)
from services.deals.parsing import parse_amount
from services.errors import DomainError
from services.loyalty import purchases
from services.loyalty import settings as program_settings

router = Router(name="loyalty.purchase")
QUOTE_CHANGED = "purchase_quote_changed"


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.buy), flags=STAFF)
async def buy_button(query: CallbackQuery, callback_data: LoyaltyCb, ctx: Ctx) -> None:
    await start_dialog(query, ctx, callback_data.id, callback_data.arg, Buy.amount)


async def repeat(message: Message, ctx: Ctx, e: DomainError) -> None:
    text, markup = await prompt(ctx)
    await message.answer(f"{views.error(e)}\n\n{text}", reply_markup=markup)


@router.message(Buy.amount, *TYPED, flags=STAFF)
async def amount_typed(message: Message, ctx: Ctx) -> None:
    try:
        amount, in_currency = parse_amount(message.text or "", currency(ctx))
        if in_currency != currency(ctx):
            raise DomainError("purchase_currency", currency=currency(ctx))
        if amount <= 0:
            raise DomainError("purchase_amount_zero")
    except DomainError as e:
        await repeat(message, ctx, e)
        return
    await next_step(ctx.state, Buy.points, amount=str(amount))
    await ask(message, ctx)


async def set_points(message: Message, ctx: Ctx, points: int) -> None:
    """A number of points to redeem: checked against the balance and the share limit, then confirm."""
    q, balance = await quote_from(ctx, await ctx.state.get_data(), points)
    purchases.check_points(q, balance, points)
    await next_step(ctx.state, Buy.confirm, points=points)
    await ask(message, ctx)


@router.message(Buy.points, *TYPED, flags=STAFF)
async def points_typed(message: Message, ctx: Ctx) -> None:
    try:
        await set_points(
            message, ctx, program_settings.parse_int(message.text, 0, program_settings.MAX_POINTS)
        )
    except DomainError as e:
        await repeat(message, ctx, e)


@router.callback_query(step_button(Buy.points, F.value.func(str.isdigit)), on_current_step, flags=STAFF)
async def points_pressed(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    await close_prompt(query)
    await query.answer()
    assert isinstance(query.message, Message)
    try:
        await set_points(query.message, ctx, int(callback_data.value))
    except DomainError as e:
        await repeat(query.message, ctx, e)


@router.message(Buy.confirm, *TYPED, flags=STAFF)
async def confirm_typed(message: Message, ctx: Ctx) -> None:
    text, markup = await prompt(ctx)
    hint = _("Please use the buttons.")  # a call of its own: gettext extraction can't see into f-strings
    await message.answer(f"{hint}\n\n{text}", reply_markup=markup)


async def figures_changed(query: CallbackQuery, ctx: Ctx) -> None:
    """The quote moved between showing it and the tap: nothing recorded, the figures shown again."""
    await close_prompt(query)
    await query.answer(views.error(DomainError(QUOTE_CHANGED)), show_alert=True)
    assert isinstance(query.message, Message)
    text, markup = await prompt(ctx)
    await query.message.answer(f"{views.error(DomainError(QUOTE_CHANGED))}\n\n{text}", reply_markup=markup)


@router.callback_query(step_button(Buy.confirm), on_current_step, flags=STAFF)
async def confirm_pressed(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    data = await ctx.state.get_data()
    if callback_data.value != data.get("token"):
        await query.answer(_("This button is from a step that is already over."), show_alert=True)
        return
    message = query.message
    assert isinstance(message, Message)
    try:
        done = await purchases.record_purchase(
            ctx.session,
            ctx.user,
            int(data["client_id"]),
            callback_data.value,
            Decimal(data["amount"]),
            currency(ctx),
            int(data["points"]),
            ctx.now(),
            quoted=data.get("quoted"),
        )
    except DomainError as e:
        if e.code == QUOTE_CHANGED:
            await figures_changed(query, ctx)
            return
        await end_dialog(ctx.state)
        await close_prompt(query)
        await query.answer()
        await message.answer(views.error(e) + "\n" + _("Nothing was saved."))
        return
    await end_dialog(ctx.state)
    await close_prompt(query)
    await query.answer(_("Recorded.") if done.created else None)
    note = views.recorded_text(done.balance, again=not done.created, rewarded=done.referral_rewarded)
    text, markup = await draw_card(ctx, done.purchase.client_id)
    await message.answer(f"{note}\n\n{text}", reply_markup=markup)
