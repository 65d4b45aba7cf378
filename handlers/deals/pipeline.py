"""/deals — the pipeline per stage (one's own, or everyone's for admins) — and a client's deals."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import CardAction, ClientCb, PipelineCb, PipelineScope
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import deals as views
from handlers.deals.common import STAFF, scope_for
from services.access import sees_everything
from services.deals import reading
from services.errors import DomainError

router = Router(name="deals.pipeline")


async def pipeline_view(
    ctx: Ctx, scope: PipelineScope, stage_index: int, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    owner = None if scope == PipelineScope.all else ctx.user.id
    stages = ctx.settings.deal_stages
    if 0 <= stage_index < len(stages):
        stage = stages[stage_index]
        listed = await reading.stage_deals(ctx.session, owner, stage, page)
        return (
            views.stage_list_text(stage, scope, listed),
            views.stage_list_keyboard(listed, scope, stage_index, ctx.locale),
        )
    rows = await reading.pipeline(ctx.session, owner, stages)
    return (
        views.pipeline_text(rows, scope, ctx.locale),
        views.pipeline_keyboard(
            rows,
            stages,
            scope,
            can_see_all=sees_everything(ctx.user),
            board_url=ctx.settings.webapp_url,
        ),
    )


@router.message(Command("deals"), flags=STAFF)
async def deals_command(message: Message, ctx: Ctx) -> None:
    text, markup = await pipeline_view(ctx, PipelineScope.mine, -1, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(PipelineCb.filter(), flags=STAFF)
async def pipeline_button(query: CallbackQuery, callback_data: PipelineCb, ctx: Ctx) -> None:
    scope = scope_for(ctx, callback_data.scope)
    text, markup = await pipeline_view(ctx, scope, callback_data.stage, callback_data.page)
    await edit_or_send(query, text, markup)
    await query.answer()


@router.callback_query(ClientCb.filter(F.action == CardAction.deals), flags=STAFF)
async def client_deals(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    """The "Deals" button on a client card."""
    try:
        client, page = await reading.client_deals(
            ctx.session, ctx.user, callback_data.client_id, callback_data.page
        )
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    markup = views.client_deals_keyboard(client, page, ctx.locale)
    await edit_or_send(query, views.client_deals_text(client, page), markup)
    await query.answer()
