"""The client card: Open (from a list, a notice or a search), and the status buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardAction, ClientCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import clients as views
from handlers.clients.common import STAFF, current_client, render_card, show_in_place
from models.clients import ClientStatus
from services import card as card_service
from services.clients.edit import set_field
from services.errors import DomainError

router = Router(name="clients.card")


@router.callback_query(ClientCb.filter(F.action == CardAction.open), flags=STAFF)
async def open_card(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    """The card in one statement (access checked as access.visible_client does)."""
    try:
        data = await card_service.open_card(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(views.client_error(e), show_alert=True)
        return
    text, markup = render_card(data, ctx)
    await edit_or_send(query, text, markup)
    await query.answer()


@router.callback_query(ClientCb.filter(F.action == CardAction.status), flags=STAFF)
async def set_status(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    """A status from the status menu (arg = its place in ClientStatus, from 1)."""
    client = await current_client(query, callback_data, ctx)
    if client is None:
        return
    statuses = list(ClientStatus)
    if not 1 <= callback_data.arg <= len(statuses):
        await query.answer(views.client_error(DomainError("bad_status")), show_alert=True)
        return
    now = ctx.now()
    status = statuses[callback_data.arg - 1].value
    await set_field(
        ctx.session,
        ctx.user,
        client,
        callback_data.version,
        "status",
        status,
        now,
        region=ctx.settings.default_region,
        today=now.date(),
    )
    await show_in_place(query, ctx, client, _("Saved."))
