"""The card's VIP button (admins): set or clear the manual VIP flag at the card's version."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardAction, ClientCb
from bot.context import Ctx
from bot.views import clients as views
from handlers.clients.common import current_client, show_in_place
from services.analytics import vip
from services.errors import DomainError

router = Router(name="analytics.vip")
ADMIN = {"role": "admin"}


@router.callback_query(ClientCb.filter(F.action == CardAction.vip), flags=ADMIN)
async def vip_button(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    client = await current_client(query, callback_data, ctx)
    if client is None:
        return
    try:
        await vip.set_vip(ctx.session, ctx.user, client, callback_data.version, not client.vip, ctx.now())
    except DomainError as e:
        await query.answer(views.client_error(e), show_alert=True)
        return
    await show_in_place(query, ctx, client, _("Marked as VIP.") if client.vip else _("VIP mark cleared."))
