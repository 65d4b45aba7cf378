"""Editing a deal: the Edit menu on its card, then a typed new title, amount or expected close date
(the amount and the date may also be removed)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message

from bot.callbacks import DealAction, DealCb
from bot.context import Ctx
from bot.dialogs import close_prompt
from bot.edit import edit_or_send
from bot.views import deals as views
from handlers.deals.changes import apply_change
from handlers.deals.common import (
    STAFF,
    TYPED,
    DealInput,
    ask,
    draw_card,
    on_current_step,
    refuse,
    repeat,
    step_button,
)
from models.deals import Deal
from services import timeparse
from services.deals import changes, parsing, reading
from services.errors import DomainError

router = Router(name="deals.edit")
EDIT_STATES = {
    views.EDIT_TITLE: DealInput.title,
    views.EDIT_AMOUNT: DealInput.amount,
    views.EDIT_CLOSE: DealInput.close,
}


def shown_now(target: State, deal: Deal, locale: str) -> str:
    """The value being changed, as the question shows it."""
    if target is DealInput.amount and deal.amount is not None:
        return views.money(deal.amount, deal.currency, locale)
    if target is DealInput.close and deal.expected_close is not None:
        return views.day_text(deal.expected_close, locale)
    return "—"


@router.callback_query(DealCb.filter(F.action == DealAction.edit), flags=STAFF)
async def edit_button(query: CallbackQuery, callback_data: DealCb, ctx: Ctx) -> None:
    try:
        deal, _client = await reading.visible_deal(ctx.session, ctx.user, callback_data.deal_id)
        if callback_data.arg and deal.version != callback_data.version:
            raise DomainError("deal_changed")
    except DomainError as e:
        await refuse(query, ctx, e, callback_data.deal_id)
        return
    target = EDIT_STATES.get(callback_data.arg)
    if target is None:  # the menu: what to change
        text, _markup = await draw_card(ctx, deal.id)
        await edit_or_send(query, text, views.edit_keyboard(deal))
        await query.answer()
        return
    await ctx.state.set_state(target)
    await ctx.state.set_data(
        {
            "deal_id": deal.id,
            "version": deal.version,
            "title": deal.title,
            "now": shown_now(target, deal, ctx.locale),
        }
    )
    await query.answer()
    if isinstance(query.message, Message):
        await ask(query.message, ctx, target)


@router.message(DealInput.title, *TYPED, flags=STAFF)
async def title_typed(message: Message, ctx: Ctx) -> None:
    try:
        title = parsing.clean_title(message.text)
    except DomainError as e:
        await repeat(message, ctx, views.error(e))
        return
    data = await ctx.state.get_data()
    change = changes.set_title(ctx.session, ctx.user, data["deal_id"], data["version"], title, ctx.now())
    await apply_change(message, ctx, change)


@router.message(DealInput.amount, *TYPED, flags=STAFF)
async def amount_typed(message: Message, ctx: Ctx) -> None:
    try:
        amount, currency = parsing.parse_amount(message.text or "", ctx.settings.default_currency)
    except DomainError as e:
        await repeat(message, ctx, views.error(e))
        return
    data = await ctx.state.get_data()
    change = changes.set_amount(
        ctx.session, ctx.user, data["deal_id"], data["version"], amount, currency, ctx.now()
    )
    await apply_change(message, ctx, change)


@router.callback_query(step_button(DealInput.amount, "clear"), on_current_step, flags=STAFF)
async def amount_removed(query: CallbackQuery, ctx: Ctx) -> None:
    await close_prompt(query)
    await query.answer()
    data = await ctx.state.get_data()
    change = changes.set_amount(
        ctx.session, ctx.user, data["deal_id"], data["version"], None, None, ctx.now()
    )
    assert isinstance(query.message, Message)
    await apply_change(query.message, ctx, change)


@router.message(DealInput.close, *TYPED, flags=STAFF)
async def close_typed(message: Message, ctx: Ctx) -> None:
    try:
        day = timeparse.parse_date(message.text or "", ctx.now(), ctx.tz, ctx.locale)
    except DomainError as e:
        await repeat(message, ctx, views.error(e))
        return
    data = await ctx.state.get_data()
    change = changes.set_expected_close(
        ctx.session, ctx.user, data["deal_id"], data["version"], day, ctx.now()
    )
    await apply_change(message, ctx, change)


@router.callback_query(step_button(DealInput.close, "clear"), on_current_step, flags=STAFF)
async def close_removed(query: CallbackQuery, ctx: Ctx) -> None:
    await close_prompt(query)
    await query.answer()
    data = await ctx.state.get_data()
    change = changes.set_expected_close(
        ctx.session, ctx.user, data["deal_id"], data["version"], None, ctx.now()
    )
    assert isinstance(query.message, Message)
    await apply_change(query.message, ctx, change)
