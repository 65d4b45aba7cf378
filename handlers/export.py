"""/export: choose what (clients — all, a segment, a status, a tag, VIP, an owner —, deals, the
contact log, purchases, survey answers; for admins the audit trail and the broadcasts' results) and
the format; the export itself is a durable job (scheduler/export.py) that sends the file(s) when they
are written."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ExportAction, ExportCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import export as views
from services import access
from services import users as users_service
from services.errors import DomainError
from services.export import datasets, requests
from services.export.datasets import Dataset
from services.export.files import Format

STAFF = {"role": "staff"}

router = Router(name="export")


@router.message(Command("export"), flags=STAFF)
async def export_menu(message: Message, ctx: Ctx) -> None:
    await message.answer(views.menu_text(), reply_markup=views.menu_markup(access.sees_everything(ctx.user)))


@router.callback_query(ExportCb.filter(F.action == ExportAction.menu), flags=STAFF)
async def back_to_menu(query: CallbackQuery, ctx: Ctx) -> None:
    await edit_or_send(query, views.menu_text(), views.menu_markup(access.sees_everything(ctx.user)))
    await query.answer()


def _dataset(cb: ExportCb, ctx: Ctx) -> Dataset | None:
    """The dataset a button names, if it exists and the person may export it."""
    try:
        dataset = Dataset(cb.ds)
        datasets.check_allowed(ctx.user, dataset)
    except (ValueError, DomainError):
        return None
    return dataset


@router.callback_query(ExportCb.filter(F.action == ExportAction.dataset), flags=STAFF)
async def choose_dataset(query: CallbackQuery, callback_data: ExportCb, ctx: Ctx) -> None:
    dataset = _dataset(callback_data, ctx)
    if dataset is None:
        await query.answer(views.export_error(DomainError("not_allowed")), show_alert=True)
        return
    if dataset is Dataset.clients:
        await edit_or_send(
            query, views.filters_text(), views.filters_markup(access.sees_everything(ctx.user))
        )
    else:
        await edit_or_send(query, views.formats_text(dataset), views.formats_markup(callback_data))
    await query.answer()


@router.callback_query(ExportCb.filter(F.action == ExportAction.filter), flags=STAFF)
async def choose_filter(query: CallbackQuery, callback_data: ExportCb, ctx: Ctx) -> None:
    key = callback_data.k
    if key == "seg":
        choices = views.segment_choices()
    elif key == "st":
        choices = views.status_choices()
    elif key == "tag":
        choices = [(t, t) for t in await datasets.top_tags(ctx.session, ctx.user)]
    elif key == "own" and access.sees_everything(ctx.user):
        choices = [(str(u.id), u.display_name) for u in await users_service.staff(ctx.session)]
    else:
        await query.answer(views.export_error(DomainError("not_allowed")), show_alert=True)
        return
    await edit_or_send(query, views.values_text(key, not choices), views.values_markup(key, choices))
    await query.answer()


@router.callback_query(ExportCb.filter(F.action == ExportAction.formats), flags=STAFF)
async def choose_format(query: CallbackQuery, callback_data: ExportCb, ctx: Ctx) -> None:
    dataset = _dataset(callback_data, ctx)
    if dataset is None:
        await query.answer(views.export_error(DomainError("not_allowed")), show_alert=True)
        return
    await edit_or_send(query, views.formats_text(dataset), views.formats_markup(callback_data))
    await query.answer()


@router.callback_query(ExportCb.filter(F.action == ExportAction.go), flags=STAFF)
async def start_export(query: CallbackQuery, callback_data: ExportCb, ctx: Ctx) -> None:
    dataset = _dataset(callback_data, ctx)
    try:
        fmt = Format(callback_data.fmt)
    except ValueError:
        fmt = None
    if dataset is None or fmt is None:
        await query.answer(views.export_error(DomainError("not_allowed")), show_alert=True)
        return
    params = views.params_of(callback_data)
    if not access.sees_everything(ctx.user):
        params.pop("owner", None)
    await begin(query, ctx, dataset, fmt, params)


async def begin(
    query: CallbackQuery, ctx: Ctx, dataset: Dataset, fmt: Format, params: dict[str, object]
) -> None:
    """Ask for the export (also from /audit): the person is told it is being prepared, or that one is."""
    try:
        await requests.start(ctx.session, ctx.user, dataset, fmt, params, ctx.now())
    except DomainError as e:
        await query.answer(views.export_error(e), show_alert=True)
        return
    await edit_or_send(query, views.preparing_text(dataset, fmt), None)
    await query.answer()
