"""Merge: a likely duplicate's button on the card asks to confirm; the confirmation folds the other
record into this one (services/merge.py)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardAction, ClientCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import clients as views
from handlers.clients.common import STAFF, current_client, show_in_place, stale
from services import access
from services import merge as merge_service
from services.clients.records import Stale
from services.errors import DomainError

router = Router(name="clients.merge")


@router.callback_query(ClientCb.filter(F.action == CardAction.merge), flags=STAFF)
async def merge_confirm(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    """arg = the other client's id."""
    client = await current_client(query, callback_data, ctx)
    if client is None:
        return
    try:
        other = await access.visible_client(ctx.session, ctx.user, callback_data.arg)
    except DomainError as e:
        await query.answer(views.client_error(e), show_alert=True)
        return
    if other.id == client.id:
        await query.answer(views.client_error(DomainError("merge_self")), show_alert=True)
        return
    text, markup = views.merge_confirm(client, other, ctx.tz, ctx.locale)
    await edit_or_send(query, text, markup)
    await query.answer()


@router.callback_query(ClientCb.filter(F.action == CardAction.mergeok), flags=STAFF)
async def merge_done(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    client = await current_client(query, callback_data, ctx)
    if client is None:
        return
    try:
        survivor = await merge_service.merge(
            ctx.session, ctx.user, client.id, callback_data.arg, callback_data.version, ctx.now()
        )
    except Stale:
        await stale(query, ctx, client)
        return
    except DomainError as e:
        await query.answer(views.client_error(e), show_alert=True)
        return
    await show_in_place(query, ctx, survivor, _("Merged."))
