"""/rfm (staff: admins see the whole base, managers their own clients): the overview, a segment's
clients page by page, and an admin's "Recompute now" (a queued job; the admin is told when it's
done)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import RfmAction, RfmCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import rfm as views
from models.users import Role
from services import access
from services.analytics import rfm
from services.analytics.segments import ORDER

router = Router(name="analytics.rfm")
STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}


def scope(ctx: Ctx) -> int | None:
    """None: the whole base (admins); else the manager's own clients."""
    return None if access.sees_everything(ctx.user) else ctx.user.id


async def overview(ctx: Ctx) -> tuple[str, InlineKeyboardMarkup]:
    admin = ctx.role == Role.admin
    run, previous = await rfm.latest_runs(ctx.session)
    if run is None:
        return views.no_run_text(admin), views.overview_keyboard(None, None, admin)
    owner = scope(ctx)
    dist = await rfm.distribution(ctx.session, run, owner)
    moves = await rfm.movement(ctx.session, run, previous, owner)
    text = views.overview_text(run, dist, moves, previous is not None, owner is not None, ctx.tz, ctx.locale)
    return text, views.overview_keyboard(run, dist, admin)


@router.message(Command("rfm"), flags=STAFF)
async def rfm_command(message: Message, ctx: Ctx) -> None:
    text, markup = await overview(ctx)
    await message.answer(text, reply_markup=markup)


@router.callback_query(RfmCb.filter(F.action == RfmAction.show), flags=STAFF)
async def show_button(query: CallbackQuery, ctx: Ctx) -> None:
    text, markup = await overview(ctx)
    await edit_or_send(query, text, markup)
    await query.answer()


@router.callback_query(RfmCb.filter(F.action == RfmAction.seg), flags=STAFF)
async def segment_button(query: CallbackQuery, callback_data: RfmCb, ctx: Ctx) -> None:
    """A segment's clients in the latest run (a page drawn from an older run shows the latest)."""
    run = await rfm.latest_run(ctx.session)
    if run is None or not 0 <= callback_data.arg < len(ORDER) or not 0 <= callback_data.page < 100_000:
        await query.answer(views.stale_button(), show_alert=True)
        return
    seg = ORDER[callback_data.arg]
    page = await rfm.segment_clients(ctx.session, run, seg, scope(ctx), callback_data.page)
    if not page.items and page.page > 0:
        page = await rfm.segment_clients(ctx.session, run, seg, scope(ctx), 0)
    await edit_or_send(
        query, views.segment_text(seg, page), views.segment_keyboard(callback_data.arg, run.id, page)
    )
    await query.answer()


@router.callback_query(RfmCb.filter(F.action == RfmAction.run), flags=ADMIN)
async def run_button(query: CallbackQuery, ctx: Ctx) -> None:
    started = await rfm.request_run(ctx.session, ctx.user.id, ctx.now())
    await query.answer(views.run_started() if started else views.run_already(), show_alert=True)
