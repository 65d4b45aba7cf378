"""/segments (staff: admins see everyone's segments over the whole base, managers their own over their
own clients): the list with live counts, one segment with its conditions and counts, its clients page
by page (each opens the card), and deleting it after a confirmation."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import SegmentAction, SegmentCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import saved_segments as views
from handlers.segments.common import STAFF, basis, list_screen, segment_screen
from services.errors import DomainError
from services.segments import saved

router = Router(name="segments.browse")
MAX_PAGE = 100_000


@router.message(Command("segments"), flags=STAFF)
async def segments_command(message: Message, ctx: Ctx) -> None:
    text, markup = await list_screen(ctx, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(SegmentCb.filter(F.action == SegmentAction.list), flags=STAFF)
async def list_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    if not 0 <= callback_data.page < MAX_PAGE:
        await query.answer(views.stale_button(), show_alert=True)
        return
    await edit_or_send(query, *await list_screen(ctx, callback_data.page))
    await query.answer()


async def _visible(query: CallbackQuery, cb: SegmentCb, ctx: Ctx):
    """The segment the button names, or None after saying it is gone (and showing the list)."""
    try:
        return await saved.visible(ctx.session, ctx.user, cb.id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        await edit_or_send(query, *await list_screen(ctx, 0))
        return None


@router.callback_query(SegmentCb.filter(F.action == SegmentAction.open), flags=STAFF)
async def open_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    segment = await _visible(query, callback_data, ctx)
    if segment is None:
        return
    await edit_or_send(query, *await segment_screen(ctx, segment))
    await query.answer()


@router.callback_query(SegmentCb.filter(F.action == SegmentAction.clients), flags=STAFF)
async def clients_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    if not 0 <= callback_data.page < MAX_PAGE:
        await query.answer(views.stale_button(), show_alert=True)
        return
    segment = await _visible(query, callback_data, ctx)
    if segment is None:
        return
    try:
        conditions = saved.conditions_of(segment)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    b = await basis(ctx)
    page = await saved.clients_page(ctx.session, conditions, ctx.user, b, callback_data.page)
    if not page.items and page.page > 0:  # fewer clients since the page was drawn
        page = await saved.clients_page(ctx.session, conditions, ctx.user, b, 0)
    await edit_or_send(query, views.clients_text(segment, page), views.clients_keyboard(segment, page))
    await query.answer()


@router.callback_query(SegmentCb.filter(F.action == SegmentAction.delete), flags=STAFF)
async def delete_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    segment = await _visible(query, callback_data, ctx)
    if segment is None:
        return
    if segment.version != callback_data.v:
        await query.answer(views.changed_since(), show_alert=True)
        await edit_or_send(query, *await segment_screen(ctx, segment))
        return
    await edit_or_send(query, views.delete_text(segment), views.delete_keyboard(segment))
    await query.answer()


@router.callback_query(SegmentCb.filter(F.action == SegmentAction.drop), flags=STAFF)
async def drop_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    """Confirmed: deleted (a second press finds it gone and says so)."""
    try:
        name = await saved.delete(ctx.session, ctx.user, callback_data.id, callback_data.v, ctx.now())
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        if e.code == "segment_changed":
            await edit_or_send(
                query,
                *await segment_screen(ctx, await saved.visible(ctx.session, ctx.user, callback_data.id)),
            )
        else:
            await edit_or_send(query, *await list_screen(ctx, 0))
        return
    await edit_or_send(query, *await list_screen(ctx, 0, views.deleted_note(name)))
    await query.answer(views.deleted_note_short())
