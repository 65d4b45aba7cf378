"""The audit trail: the card's 🕓 Changes (a client's changes, paged, for whoever may open the card) and
/audit (admins): every change, filtered by person, client and period, paged by cursor (Newer / Older),
with an export. The client filter offers the recently changed clients and waits for a typed name,
company, email or phone to search for one (the same search as /find)."""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import AuditAction, AuditCb, CardAction, ClientCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog
from bot.edit import edit_or_send
from bot.messages import error_text
from bot.views import audit as views
from handlers.export import begin
from models.clients import Client
from models.users import User
from services import audit, search
from services import users as users_service
from services.access import visible_client
from services.clients.lists import search_rows
from services.errors import DomainError
from services.export.datasets import Dataset
from services.export.files import Format

STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}

QUERY_LIMIT = 200  # characters of a typed client search (as /find)

router = Router(name="audit")


class AuditClient(StatesGroup):
    query = State()  # the client filter's menu is open: a typed text searches for the client


@router.callback_query(ClientCb.filter(F.action == CardAction.changes), flags=STAFF)
async def client_changes(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    try:
        client = await visible_client(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(error_text(e), show_alert=True)
        return
    page = await audit.page(ctx.session, audit.Filter(client_id=client.id), callback_data.page)
    await edit_or_send(
        query,
        views.changes_text(client.name, page, ctx.tz, ctx.locale),
        views.changes_markup(client.id, page),
    )
    await query.answer()


def _filter(cb: AuditCb, ctx: Ctx) -> audit.Filter:
    since = ctx.now() - timedelta(days=cb.days) if cb.days > 0 else None
    return audit.Filter(actor_id=cb.actor or None, client_id=cb.client or None, since=since)


async def _show(ctx: Ctx, cb: AuditCb) -> tuple[str, InlineKeyboardMarkup, bool]:
    """The /audit page a button asks for: text, buttons, and whether its page was gone (the newest is
    shown instead). A cursor that isn't one raises DomainError."""
    cursor = audit.Cursor.parse(cb.cur) if cb.cur else None
    window = await audit.window(ctx.session, _filter(cb, ctx), cursor)
    actor = await ctx.session.get(User, cb.actor) if cb.actor else None
    client = await ctx.session.get(Client, cb.client) if cb.client else None
    text = views.audit_text(
        window, cb, actor.display_name if actor else None, client.name if client else None, ctx.tz, ctx.locale
    )
    return text, views.audit_markup(window, cb), window.moved


@router.message(Command("audit"), flags=ADMIN)
async def audit_command(message: Message, ctx: Ctx) -> None:
    await leave_search(ctx)
    text, markup, _moved = await _show(ctx, AuditCb(action=AuditAction.list))
    await message.answer(text, reply_markup=markup)


@router.callback_query(AuditCb.filter(F.action == AuditAction.list), flags=ADMIN)
async def audit_page(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
    try:
        text, markup, moved = await _show(ctx, callback_data)
    except DomainError:
        await query.answer(views.bad_button_text(), show_alert=True)
        return
    await leave_search(ctx)
    await edit_or_send(query, text, markup)
    await query.answer(views.moved_text() if moved else None)


async def leave_search(ctx: Ctx) -> None:
    """Any other /audit button closes the client search (a text is then just a text again)."""
    if await ctx.state.get_state() == AuditClient.query.state:
        await end_dialog(ctx.state)


@router.callback_query(AuditCb.filter(F.action == AuditAction.actors), flags=ADMIN)
async def choose_actor(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
    people = await users_service.staff(ctx.session)
    await leave_search(ctx)
    await edit_or_send(query, views.choose_actor_text(), views.actors_markup(callback_data, people))
    await query.answer()


@router.callback_query(AuditCb.filter(F.action == AuditAction.clients), flags=ADMIN)
async def choose_client(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
    clients = await audit.recent_clients(ctx.session)
    await begin_dialog(ctx.state, AuditClient.query, actor=callback_data.actor, days=callback_data.days)
    await edit_or_send(query, views.choose_client_text(), views.clients_markup(callback_data, clients))
    await query.answer()


@router.message(AuditClient.query, F.text & ~F.text.startswith("/"), flags=ADMIN)
async def search_client(message: Message, ctx: Ctx) -> None:
    """A typed name, company, email or phone: the matching clients as buttons (the dialog stays open,
    so another text searches again)."""
    text = " ".join((message.text or "").split())
    if len(text) > QUERY_LIMIT:
        await message.answer(views.query_too_long_text(QUERY_LIMIT))
        return
    data = await ctx.state.get_data()
    cb = AuditCb(action=AuditAction.list, actor=int(data.get("actor") or 0), days=int(data.get("days") or 0))
    query = search.parse_query(text, ctx.settings.default_region)
    found = await search_rows(ctx.session, ctx.user, query, 0) if not query.empty else None
    rows = found.items if found else []
    more = found.has_next if found else False
    await message.answer(views.found_text(text, rows, more), reply_markup=views.found_markup(cb, rows))


@router.message(AuditClient.query, ~F.text, flags=ADMIN)
async def search_not_text(message: Message) -> None:
    await message.answer(views.search_text_only())


@router.callback_query(AuditCb.filter(F.action == AuditAction.periods), flags=ADMIN)
async def choose_period(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
    await leave_search(ctx)
    await edit_or_send(query, views.choose_period_text(), views.periods_markup(callback_data))
    await query.answer()


@router.callback_query(AuditCb.filter(F.action == AuditAction.export), flags=ADMIN)
async def export_audit(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
    await leave_search(ctx)
    if not callback_data.fmt:
        await edit_or_send(query, views.choose_format_text(), views.export_formats_markup(callback_data))
        await query.answer()
        return
    try:
        fmt = Format(callback_data.fmt)
    except ValueError:
        await query.answer(views.bad_button_text(), show_alert=True)
        return
    flt = _filter(callback_data, ctx)
    params = {
        "actor": flt.actor_id,
        "client": flt.client_id,
        "since": flt.since.isoformat() if flt.since else None,
    }
    await begin(query, ctx, Dataset.audit, fmt, params)
