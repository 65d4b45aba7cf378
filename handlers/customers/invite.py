"""The card's "📲 Invite to bot": a single-use link for the client's customer, sent to the manager."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery

from bot.callbacks import CardAction, ClientCb
from bot.context import Ctx
from bot.formatting import local_dt
from bot.views import clients as client_views
from bot.views import customers as views
from handlers.customers.cards import refuse_stale
from services import customers as service
from services.access import visible_client
from services.errors import DomainError

STAFF = {"role": "staff"}

router = Router(name="customers.invite")


def refusal(e: DomainError) -> str:
    if e.code == "not_found":
        return client_views.client_error(e)
    return views.already_linked_card() if e.code == "customer_client_linked" else views.error(e)


@router.callback_query(ClientCb.filter(F.action == CardAction.invite), flags=STAFF)
async def invite(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    try:
        client = await visible_client(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(refusal(e), show_alert=True)
        return
    if client.telegram_id is not None:  # linked since the card was drawn: no stale-card detour
        await query.answer(views.already_linked_card(), show_alert=True)
        return
    if await refuse_stale(query, ctx, client, callback_data.version):
        return
    try:
        inv = await service.create_invite(ctx.session, ctx.user, client, ctx.now())
    except DomainError as e:
        await query.answer(refusal(e), show_alert=True)
        return
    me = await ctx.bot.me()
    link = f"https://t.me/{me.username}?start={service.invite_payload(inv)}"
    until = local_dt(inv.expires_at, ctx.tz, ctx.locale)
    await query.answer()
    await ctx.bot.send_message(
        query.from_user.id,
        views.invite_text(client.name, link, until),
        reply_markup=views.invite_keyboard(link, client.id, client.version),
    )
