"""The audit trail: the card's 🕓 Changes (a client's changes, paged, for whoever may open the card) and
/audit (admins): every change, filtered by person, client and period, paged by cursor (Newer / Older),
with an export."""

from __future__ import annotations

from datetime import timedelta

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import AuditAction, AuditCb, CardAction, ClientCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.messages import error_text
from bot.views import audit as views
from handlers.export import begin
from models.clients import Client
from models.users import User
from services import audit
from services import users as users_service
from services.access import visible_client
from services.errors import DomainError
from services.export.datasets import Dataset
from services.export.files import Format

STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}

router = Router(name="audit")


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
    text, markup, _moved = await _show(ctx, AuditCb(action=AuditAction.list))
    await message.answer(text, reply_markup=markup)


@router.callback_query(AuditCb.filter(F.action == AuditAction.list), flags=ADMIN)
async def audit_page(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
    try:
        text, markup, moved = await _show(ctx, callback_data)
    except DomainError:
        await query.answer(views.bad_button_text(), show_alert=True)
        return
    await edit_or_send(query, text, markup)
    await query.answer(views.moved_text() if moved else None)


@router.callback_query(AuditCb.filter(F.action == AuditAction.actors), flags=ADMIN)
async def choose_actor(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
    people = await users_service.staff(ctx.session)
    await edit_or_send(query, views.choose_actor_text(), views.actors_markup(callback_data, people))
    await query.answer()


@router.callback_query(AuditCb.filter(F.action == AuditAction.clients), flags=ADMIN)
async def choose_client(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
    clients = await audit.recent_clients(ctx.session)
    await edit_or_send(query, views.choose_client_text(), views.clients_markup(callback_data, clients))
    await query.answer()


@router.callback_query(AuditCb.filter(F.action == AuditAction.periods), flags=ADMIN)
async def choose_period(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
    await edit_or_send(query, views.choose_period_text(), views.periods_markup(callback_data))
    await query.answer()


@router.callback_query(AuditCb.filter(F.action == AuditAction.export), flags=ADMIN)
async def export_audit(query: CallbackQuery, callback_data: AuditCb, ctx: Ctx) -> None:
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
