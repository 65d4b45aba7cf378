"""The ends of every bonus-program dialog: Cancel, a button from a step already over (a second tap on
Confirm is told the purchase is recorded), a message that is not text, and a button nobody handles
any more. Tried after the other loyalty routers."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChoiceCb, LoyaltyCb
from bot.context import Ctx
from bot.dialogs import close_prompt, end_dialog
from handlers.loyalty.common import ANY, STAFF, STEP, STEP_NAMES, Buy, Reverse, Setup, on_current_step, prompt
from services.loyalty import purchases

router = Router(name="loyalty.dialog")


@router.callback_query(
    ChoiceCb.filter(F.step.in_(STEP_NAMES) & (F.value == "cancel")), on_current_step, flags=STAFF
)
async def cancel(query: CallbackQuery, ctx: Ctx) -> None:
    await end_dialog(ctx.state)
    await close_prompt(query)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("Cancelled. Nothing was saved."))


@router.callback_query(
    ChoiceCb.filter((F.step == STEP[Buy.confirm.state]) & (F.value != "cancel")), flags=STAFF
)
async def confirm_again(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    """A second tap on Confirm (or one after the dialog ended): recorded once, said so."""
    if await purchases.purchase_by_key(ctx.session, callback_data.value) is not None:
        await query.answer(_("This purchase is already recorded."), show_alert=True)
        return
    await step_over(query)


@router.callback_query(ChoiceCb.filter(F.step.in_(STEP_NAMES)), flags=STAFF)
async def step_over(query: CallbackQuery) -> None:
    await query.answer(_("This button is from a step that is already over."), show_alert=True)


@router.callback_query(LoyaltyCb.filter(), flags=ANY)
async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer valid. Send /start to begin again."), show_alert=True)


@router.message(StateFilter(Buy, Reverse, Setup), ~F.text, flags=STAFF)
async def not_text(message: Message, ctx: Ctx) -> None:
    text, markup = await prompt(ctx)
    hint = _("Please answer with text (or use the buttons).")
    await message.answer(f"{hint}\n\n{text}", reply_markup=markup)
