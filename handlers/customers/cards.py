"""The client card as handlers of the customer side show it: after an action, or again when the
pressed card is stale (its version changed since it was drawn), as every card action does."""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup

from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import clients as client_views
from models.clients import Client
from services import clients as clients_service


async def card_view(ctx: Ctx, client: Client) -> tuple[str, InlineKeyboardMarkup]:
    data = await clients_service.card(ctx.session, ctx.user, client)
    return client_views.card_text(data, ctx.tz, ctx.locale), client_views.card_keyboard(data, ctx.user)


async def refuse_stale(query: CallbackQuery, ctx: Ctx, client: Client, version: int) -> bool:
    """True (and "the card changed", then the card as it is now) when the card was drawn at another
    version of the client; False when the press may go on."""
    if client.version == version:
        return False
    await query.answer(client_views.client_error(clients_service.Stale()), show_alert=True)
    text, markup = await card_view(ctx, client)
    await edit_or_send(query, text, markup)
    return True
