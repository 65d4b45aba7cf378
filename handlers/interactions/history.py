"""The card's 📜 History, paged, and its voice notes played back on request."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.callbacks import CardAction, ClientCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.messages import error_text
from bot.views import interactions as views
from services import interactions as service
from services.access import visible_client
from services.errors import DomainError

STAFF = {"role": "staff"}

router = Router(name="interactions.history")


@router.callback_query(ClientCb.filter(F.action == CardAction.history), flags=STAFF)
async def show_history(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    try:
        hist = await service.history(ctx.session, ctx.user, callback_data.client_id, callback_data.page)
    except DomainError as e:
        await query.answer(error_text(e), show_alert=True)
        return
    await edit_or_send(
        query, views.history_text(hist, ctx.tz, ctx.locale), views.history_markup(hist, ctx.tz, ctx.locale)
    )
    await query.answer()


@router.callback_query(ClientCb.filter(F.action == CardAction.voice), flags=STAFF)
async def play_voice(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    try:
        entry = await service.voice_of(ctx.session, ctx.user, callback_data.client_id, callback_data.arg)
        client = await visible_client(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(error_text(e), show_alert=True)
        return
    caption = views.voice_caption(client.name, entry.occurred_at, ctx.tz, ctx.locale)
    await ctx.bot.send_voice(query.from_user.id, entry.voice_file_id, caption=caption)  # type: ignore[arg-type]
    await query.answer()
