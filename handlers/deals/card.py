"""The deal card: opening it, a stage button (Lost asks for a reason first: handlers/deals/lost),
and the history of changes."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import DealAction, DealCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import deals as views
from handlers.deals.common import STAFF, DealInput, ask, draw_card, refuse
from models.deals import Deal
from services.deals import changes, reading
from services.errors import DomainError

router = Router(name="deals.card")


@router.callback_query(DealCb.filter(F.action == DealAction.open), flags=STAFF)
async def open_deal(query: CallbackQuery, callback_data: DealCb, ctx: Ctx) -> None:
    try:
        text, markup = await draw_card(ctx, callback_data.deal_id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await edit_or_send(query, text, markup)
    await query.answer()


async def ask_lost_reason(query: CallbackQuery, ctx: Ctx, deal: Deal, version: int) -> None:
    """Lost needs a reason first; the change itself is checked again when it is typed."""
    if deal.version != version:
        raise DomainError("deal_changed")
    if deal.stage == "lost":
        raise DomainError("deal_same_stage")
    await ctx.state.set_state(DealInput.lost_reason)
    await ctx.state.set_data({"deal_id": deal.id, "version": deal.version, "title": deal.title})
    await query.answer()
    if isinstance(query.message, Message):
        await ask(query.message, ctx, DealInput.lost_reason)


@router.callback_query(DealCb.filter(F.action == DealAction.stage), flags=STAFF)
async def stage_button(query: CallbackQuery, callback_data: DealCb, ctx: Ctx) -> None:
    deal_id, version, stages = callback_data.deal_id, callback_data.version, ctx.settings.deal_stages
    try:
        deal, _client = await reading.visible_deal(ctx.session, ctx.user, deal_id)
        if not 0 <= callback_data.arg < len(stages):
            raise DomainError("deal_bad_stage")
        stage = stages[callback_data.arg]
        if stage == "lost":
            await ask_lost_reason(query, ctx, deal, version)
            return
        await changes.change_stage(ctx.session, ctx.user, deal_id, version, stage, stages, ctx.now())
    except DomainError as e:
        await refuse(query, ctx, e, deal_id)
        return
    text, markup = await draw_card(ctx, deal_id)
    await edit_or_send(query, text, markup)
    await query.answer(_("Stage: {stage}").format(stage=views.stage_name(stage)))


@router.callback_query(DealCb.filter(F.action == DealAction.history), flags=STAFF)
async def history_button(query: CallbackQuery, callback_data: DealCb, ctx: Ctx) -> None:
    try:
        deal, page = await reading.history(ctx.session, ctx.user, callback_data.deal_id, callback_data.arg)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    names = await reading.owner_names(ctx.session, [event for event, _actor in page.items])
    await edit_or_send(
        query,
        views.history_text(deal, page, ctx.tz, ctx.locale, names),
        views.history_keyboard(deal, page),
    )
    await query.answer()
