"""The points card of a client (staff): from the client card, back from its own screens, and the
points history."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.callbacks import CardAction, ClientCb, LoyaltyAction, LoyaltyCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import loyalty as views
from handlers.loyalty.common import STAFF, draw_card
from services.errors import DomainError
from services.loyalty import reading

router = Router(name="loyalty.card")


async def show_card(query: CallbackQuery, ctx: Ctx, client_id: int) -> None:
    try:
        text, markup = await draw_card(ctx, client_id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await edit_or_send(query, text, markup)
    await query.answer()


@router.callback_query(ClientCb.filter(F.action == CardAction.loyalty), flags=STAFF)
async def from_client_card(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    await show_card(query, ctx, callback_data.client_id)


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.card), flags=STAFF)
async def back_to_card(query: CallbackQuery, callback_data: LoyaltyCb, ctx: Ctx) -> None:
    await show_card(query, ctx, callback_data.id)


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.hist), flags=STAFF)
async def history_button(query: CallbackQuery, callback_data: LoyaltyCb, ctx: Ctx) -> None:
    try:
        page = await reading.history(ctx.session, ctx.user, callback_data.id, callback_data.arg)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await edit_or_send(query, views.history_text(page, ctx.tz), views.history_keyboard(page))
    await query.answer()
