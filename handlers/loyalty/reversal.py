"""An admin's reversal from the points card: "+100 goodwill" or "-50 returned goods"."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LoyaltyAction, LoyaltyCb
from bot.context import Ctx
from bot.dialogs import end_dialog
from bot.views import loyalty as views
from handlers.loyalty.common import ADMIN, STAFF, TYPED, Reverse, draw_card, prompt, start_dialog
from services.errors import DomainError
from services.loyalty import reversal

router = Router(name="loyalty.reversal")


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.rev), flags=ADMIN)
async def reversal_button(query: CallbackQuery, callback_data: LoyaltyCb, ctx: Ctx) -> None:
    await start_dialog(query, ctx, callback_data.id, callback_data.arg, Reverse.points)


@router.message(Reverse.points, *TYPED, flags=STAFF)
async def points_typed(message: Message, ctx: Ctx) -> None:
    data = await ctx.state.get_data()
    client_id = int(data["client_id"])
    try:
        points, reason = reversal.parse_reversal(message.text)
        entry = await reversal.reverse(
            ctx.session, ctx.user, client_id, data["token"], points, reason, ctx.now()
        )
    except DomainError as e:
        text, markup = await prompt(ctx)
        await message.answer(f"{views.error(e)}\n\n{text}", reply_markup=markup)
        return
    await end_dialog(ctx.state)
    note = _("✅ Points corrected.") if entry is not None else _("This correction was already made.")
    card, markup = await draw_card(ctx, client_id)
    await message.answer(f"{note}\n\n{card}", reply_markup=markup)
