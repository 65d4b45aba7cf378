"""The card's "🔔 Consent" (staff): the client's current decisions and their history, and recording a
change the customer told the manager (a confirm step, then once)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup

from bot.callbacks import CardAction, ClientCb, ConsentAction, ConsentCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import clients as client_views
from bot.views import consent as views
from handlers.consent.customer import purpose_of
from handlers.customers.cards import refuse_stale
from models.clients import Client
from models.consent import ConsentSource
from services import consent as service
from services.access import visible_client
from services.errors import DomainError

STAFF = {"role": "staff"}
RECORDING = frozenset({ConsentAction.ask, ConsentAction.rec})

router = Router(name="consent.card")


async def card_screen(ctx: Ctx, client: Client, note: str | None = None) -> tuple[str, InlineKeyboardMarkup]:
    state = await service.current(ctx.session, client.id)
    items = await service.history(ctx.session, client.id)
    return views.card_screen(client, state, items, ctx.tz, ctx.locale, note)


@router.callback_query(ClientCb.filter(F.action == CardAction.consent), flags=STAFF)
async def card_consent(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    try:
        client = await visible_client(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(client_views.client_error(e), show_alert=True)
        return
    if await refuse_stale(query, ctx, client, callback_data.version):
        return
    text, markup = await card_screen(ctx, client)
    await edit_or_send(query, text, markup)
    await query.answer()


@router.callback_query(ConsentCb.filter(F.action.in_(RECORDING)), flags=STAFF)
async def card_record(query: CallbackQuery, callback_data: ConsentCb, ctx: Ctx) -> None:
    try:
        client = await visible_client(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(client_views.client_error(e), show_alert=True)
        return
    purpose = purpose_of(callback_data.purpose)
    if purpose is None or callback_data.value not in (0, 1):
        await query.answer(client_views.client_error(DomainError("not_found")), show_alert=True)
        return
    granted = bool(callback_data.value)
    if callback_data.action == ConsentAction.ask:
        text, markup = views.record_confirm(client, purpose, granted)
        await edit_or_send(query, text, markup)
        await query.answer()
        return
    changed = await service.set(
        ctx.session,
        client.id,
        purpose,
        granted,
        ConsentSource.manager,
        ctx.user.id,
        service.CONSENT_TEXT_VERSION,
        ctx.now(),
    )
    note = views.recorded() if changed else views.unchanged()
    text, markup = await card_screen(ctx, client, note)
    await edit_or_send(query, text, markup)
    await query.answer(note)
