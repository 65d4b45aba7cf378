"""The ends of every deal dialog: Cancel, a button from a step already over, a message that is not
text, and a deal button nobody handles any more. Tried after the other deal routers."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChoiceCb, DealCb
from bot.context import Ctx
from bot.dialogs import close_prompt
from handlers.deals.common import STAFF, STEP_NAMES, DealInput, NewDeal, on_current_step, repeat

router = Router(name="deals.dialog")


@router.callback_query(
    ChoiceCb.filter(F.step.in_(STEP_NAMES) & (F.value == "cancel")), on_current_step, flags=STAFF
)
async def cancel(query: CallbackQuery, ctx: Ctx) -> None:
    await ctx.state.clear()
    await close_prompt(query)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(_("Cancelled. Nothing was saved."))


@router.callback_query(ChoiceCb.filter(F.step.in_(STEP_NAMES)), flags=STAFF)
async def step_over(query: CallbackQuery) -> None:
    await query.answer(_("This button is from a step that is already over."), show_alert=True)


@router.callback_query(DealCb.filter(), flags=STAFF)
async def unknown_deal_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer valid. Send /start to begin again."), show_alert=True)


@router.message(StateFilter(NewDeal, DealInput), ~F.text, flags=STAFF)
async def not_text(message: Message, ctx: Ctx) -> None:
    await repeat(message, ctx, _("Please answer with text (or use the buttons)."))
