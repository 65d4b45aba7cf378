"""/draws (admins): transparent prize draws among a saved segment's clients.

The list, one draw (its commitment; once closed the seed, the winner and the "📄 Participants" file),
and a new draw with buttons and two typed answers: pick a saved segment → type the prize → type the
closing time (services/timeparse, in the admin's time zone; a past time is refused) → a draft with
"📣 Announce" and "✖ Cancel the draw". Announce and Cancel carry the draw's version, so a second press
is refused. The closing itself is a queued job (scheduler/draws.py).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.callbacks import DrawAction, DrawCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.edit import edit_or_send
from bot.views import draws as views
from models.draws import Draw
from services import draws, timeparse
from services.errors import DomainError
from services.segments import query as segment_query
from services.segments import saved

router = Router(name="draws")
ADMIN = {"role": "admin"}
TYPED = (F.text, ~F.text.startswith("/"))  # a typed answer, not a command
MAX_PAGE = 100_000


class DrawNew(StatesGroup):
    prize = State()  # typing the prize (the segment is in the dialog data)
    closes = State()  # typing the closing time


async def list_screen(ctx: Ctx, page: int, note: str = ""):
    listed = await draws.listing(ctx.session, ctx.user, page)
    if not listed.items and listed.page > 0:
        listed = await draws.listing(ctx.session, ctx.user, 0)
    text = views.list_text(listed.items, ctx.tz, ctx.locale, note)
    return text, views.list_keyboard(listed.items, listed.page, listed.has_next)


async def draw_screen(ctx: Ctx, draw: Draw, note: str = ""):
    told = await draws.told_counts(ctx.session, draw.id) if draw.commitment else None
    winner = await draws.client_name(ctx.session, draw.winner_client_id)
    text = views.draw_text(draw, ctx.tz, ctx.locale, told=told, winner_name=winner, note=note)
    return text, views.draw_keyboard(draw)


@router.message(Command("draws"), flags=ADMIN)
async def draws_command(message: Message, ctx: Ctx) -> None:
    if await ctx.state.get_state() in {s.state for s in DrawNew.__states__}:
        await end_dialog(ctx.state)
    text, markup = await list_screen(ctx, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(DrawCb.filter(F.action == DrawAction.list), flags=ADMIN)
async def list_button(query: CallbackQuery, callback_data: DrawCb, ctx: Ctx) -> None:
    if not 0 <= callback_data.page < MAX_PAGE:
        await query.answer(views.stale_button(), show_alert=True)
        return
    await edit_or_send(query, *await list_screen(ctx, callback_data.page))
    await query.answer()


async def _draw(query: CallbackQuery, cb: DrawCb, ctx: Ctx) -> Draw | None:
    """The draw the button names, or None after saying it is gone (and showing the list)."""
    try:
        return await draws.visible(ctx.session, ctx.user, cb.id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        await edit_or_send(query, *await list_screen(ctx, 0))
        return None


@router.callback_query(DrawCb.filter(F.action == DrawAction.open), flags=ADMIN)
async def open_button(query: CallbackQuery, callback_data: DrawCb, ctx: Ctx) -> None:
    draw = await _draw(query, callback_data, ctx)
    if draw is None:
        return
    await edit_or_send(query, *await draw_screen(ctx, draw))
    await query.answer()


@router.callback_query(DrawCb.filter(F.action == DrawAction.file), flags=ADMIN)
async def file_button(query: CallbackQuery, callback_data: DrawCb, ctx: Ctx) -> None:
    draw = await _draw(query, callback_data, ctx)
    if draw is None:
        return
    if not draw.commitment or not isinstance(query.message, Message):
        await query.answer(views.no_file(), show_alert=True)
        return
    content = draws.participants_file(await draws.participant_ids(ctx.session, draw.id))
    document = BufferedInputFile(content, filename=draws.file_name(draw))
    await query.message.answer_document(document, caption=views.file_caption(draw))
    await query.answer()


# --- a new draw ---


@router.callback_query(DrawCb.filter(F.action == DrawAction.new), flags=ADMIN)
async def new_button(query: CallbackQuery, callback_data: DrawCb, ctx: Ctx) -> None:
    if not 0 <= callback_data.page < MAX_PAGE:
        await query.answer(views.stale_button(), show_alert=True)
        return
    page = await saved.listing(ctx.session, ctx.user, callback_data.page)
    if not page.items and page.page > 0:
        page = await saved.listing(ctx.session, ctx.user, 0)
    await edit_or_send(query, views.segments_text(page), views.segments_keyboard(page))
    await query.answer()


@router.callback_query(DrawCb.filter(F.action == DrawAction.segment), flags=ADMIN)
async def segment_button(query: CallbackQuery, callback_data: DrawCb, ctx: Ctx) -> None:
    try:
        segment = await saved.visible(ctx.session, ctx.user, callback_data.id)
        conditions = saved.conditions_of(segment)
    except DomainError:
        await query.answer(views.stale_button(), show_alert=True)
        return
    b = await segment_query.basis(
        ctx.session, ctx.now(), ctx.settings.default_currency, ctx.settings.default_language
    )
    clients = await segment_query.count(ctx.session, conditions, ctx.user, b)
    await begin_dialog(ctx.state, DrawNew.prize, draw_segment=segment.id)
    await edit_or_send(query, views.prize_prompt(segment.name, clients, draws.PRIZE_LIMIT))
    await query.answer()


@router.message(DrawNew.prize, *TYPED, flags=ADMIN)
async def prize_typed(message: Message, ctx: Ctx) -> None:
    try:
        prize = draws.clean_prize(message.text)
    except DomainError as e:
        await message.answer(views.error(e))
        return
    await next_step(ctx.state, DrawNew.closes, draw_prize=prize)
    await message.answer(views.closing_prompt(ctx.tz))


@router.message(DrawNew.closes, *TYPED, flags=ADMIN)
async def closing_typed(message: Message, ctx: Ctx) -> None:
    data = await ctx.state.get_data()
    segment_id, prize = data.get("draw_segment"), data.get("draw_prize")
    if not isinstance(segment_id, int) or not isinstance(prize, str):
        await end_dialog(ctx.state)
        await message.answer(views.dialog_over())
        return
    try:
        when = timeparse.parse_when(message.text or "", ctx.now(), ctx.tz, ctx.locale)
    except DomainError as e:
        await message.answer(views.error(e))
        return
    try:
        draw = await draws.create_draft(ctx.session, ctx.user, segment_id, prize, when, ctx.now())
    except DomainError as e:
        await end_dialog(ctx.state)
        await message.answer(views.error(e))
        return
    await end_dialog(ctx.state)
    text, markup = await draw_screen(ctx, draw, views.draft_note())
    await message.answer(text, reply_markup=markup)


@router.callback_query(DrawCb.filter(F.action == DrawAction.announce), flags=ADMIN)
async def announce_button(query: CallbackQuery, callback_data: DrawCb, ctx: Ctx) -> None:
    draw = await _draw(query, callback_data, ctx)
    if draw is None:
        return
    b = await segment_query.basis(
        ctx.session, ctx.now(), ctx.settings.default_currency, ctx.settings.default_language
    )
    try:
        done = await draws.announce(ctx.session, ctx.user, draw.id, callback_data.v, ctx.now(), b)
    except DomainError as e:
        text = views.closing_passed() if e.code == "time_past" else views.error(e)
        await query.answer(text, show_alert=True)
        await edit_or_send(query, *await draw_screen(ctx, draw))
        return
    note = views.announced_note(done.participants, done.told, done.unreachable)
    await edit_or_send(query, *await draw_screen(ctx, done.draw, note))
    await query.answer()


@router.callback_query(DrawCb.filter(F.action == DrawAction.cancel), flags=ADMIN)
async def cancel_button(query: CallbackQuery, callback_data: DrawCb, ctx: Ctx) -> None:
    draw = await _draw(query, callback_data, ctx)
    if draw is None:
        return
    if draw.version != callback_data.v or draw.status not in draws.OPEN:
        await query.answer(views.error(DomainError("draw_changed")), show_alert=True)
        await edit_or_send(query, *await draw_screen(ctx, draw))
        return
    await edit_or_send(query, views.cancel_text(draw), views.cancel_keyboard(draw))
    await query.answer()


@router.callback_query(DrawCb.filter(F.action == DrawAction.drop), flags=ADMIN)
async def drop_button(query: CallbackQuery, callback_data: DrawCb, ctx: Ctx) -> None:
    draw = await _draw(query, callback_data, ctx)
    if draw is None:
        return
    try:
        draw = await draws.cancel(ctx.session, ctx.user, draw.id, callback_data.v, ctx.now())
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        await edit_or_send(query, *await draw_screen(ctx, draw))
        return
    await edit_or_send(query, *await draw_screen(ctx, draw, views.cancelled_note()))
    await query.answer(views.cancelled_note())
