"""/surveys: the figures (managers their own; admins everyone's, and one manager's from the list)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import SurveyAction, SurveyCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import surveys as views
from services.access import sees_everything
from services.errors import DomainError
from services.surveys import figures

STAFF = {"role": "staff"}

router = Router(name="surveys.figures")


async def stats_view(ctx: Ctx, manager_id: int, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    stats = await figures.stats(ctx.session, ctx.user, ctx.now(), manager_id=manager_id or None, page=page)
    admin = sees_everything(ctx.user)
    everyone = admin and stats.manager is None
    text = views.stats_text(stats, ctx.user, ctx.tz, ctx.locale, everyone=everyone)
    return text, views.stats_keyboard(stats, admin=admin, everyone=everyone)


@router.message(Command("surveys"), flags=STAFF)
async def surveys_command(message: Message, ctx: Ctx) -> None:
    text, markup = await stats_view(ctx, 0, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(SurveyCb.filter(F.action == SurveyAction.stats), flags=STAFF)
async def stats_button(query: CallbackQuery, callback_data: SurveyCb, ctx: Ctx) -> None:
    try:
        text, markup = await stats_view(ctx, callback_data.arg, callback_data.page)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await edit_or_send(query, text, markup)
    await query.answer()
