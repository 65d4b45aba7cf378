"""The steps on a staged import, each a button carrying the import's version: what the file holds, a
column's field, the dry run (a job that shows its progress, then the result and the errors file),
credit points, Apply, Cancel. A stale button, a second press or a press after a restart is told so and
shown the import as it is now; a press while a job is on the import is told so, and the job's message
shows the rest."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ImportAction, ImportCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import imports as views
from handlers.imports.common import STAFF, redraw, sample
from models.imports import Import
from services.errors import DomainError
from services.imports import fields, staging

router = Router(name="imports.steps")


def on(action: ImportAction):
    return ImportCb.filter((F.action == action) & (F.id != 0))


async def refuse(query: CallbackQuery, ctx: Ctx, e: DomainError, imp: Import | None) -> None:
    await query.answer(views.error(e), show_alert=True)
    if imp is not None and e.code not in staging.BUSY:  # a job's message shows its own progress
        await redraw(query, ctx, imp)


async def load(query: CallbackQuery, cb: ImportCb, ctx: Ctx) -> Import | None:
    try:
        return await staging.get(ctx.session, ctx.user, cb.id, lock=True)
    except DomainError as e:
        await refuse(query, ctx, e, None)
        return None


async def show_mapping(query: CallbackQuery, ctx: Ctx, imp: Import) -> None:
    await edit_or_send(query, views.mapping_text(imp, await sample(ctx, imp)), views.mapping_keyboard(imp))


@router.callback_query(on(ImportAction.kind), flags=STAFF)
async def kind_chosen(query: CallbackQuery, callback_data: ImportCb, ctx: Ctx) -> None:
    if (imp := await load(query, callback_data, ctx)) is None:
        return
    try:
        staging.choose_kind(
            imp, callback_data.v, fields.KINDS[callback_data.arg % len(fields.KINDS)], ctx.now()
        )
    except DomainError as e:
        await refuse(query, ctx, e, imp)
        return
    await show_mapping(query, ctx, imp)


@router.callback_query(on(ImportAction.col), flags=STAFF)
async def column_pressed(query: CallbackQuery, callback_data: ImportCb, ctx: Ctx) -> None:
    if (imp := await load(query, callback_data, ctx)) is None:
        return
    try:
        staging.ensure_open(imp, callback_data.v)
        if imp.kind is None or not 0 <= callback_data.col < len(imp.headers):
            raise DomainError("import_stale")
    except DomainError as e:
        await refuse(query, ctx, e, imp)
        return
    text = views.field_prompt(imp, callback_data.col, await sample(ctx, imp))
    await edit_or_send(query, text, views.field_keyboard(imp, callback_data.col))


@router.callback_query(on(ImportAction.map), flags=STAFF)
async def field_chosen(query: CallbackQuery, callback_data: ImportCb, ctx: Ctx) -> None:
    if (imp := await load(query, callback_data, ctx)) is None:
        return
    try:
        staging.set_column(imp, callback_data.v, callback_data.col, callback_data.arg, ctx.now())
    except DomainError as e:
        await refuse(query, ctx, e, imp)
        return
    await show_mapping(query, ctx, imp)


@router.callback_query(on(ImportAction.back), flags=STAFF)
async def back_to_mapping(query: CallbackQuery, callback_data: ImportCb, ctx: Ctx) -> None:
    if (imp := await load(query, callback_data, ctx)) is None:
        return
    try:
        staging.ensure_open(imp, callback_data.v)
        if imp.kind is None:
            raise DomainError("import_stale")
    except DomainError as e:
        await refuse(query, ctx, e, imp)
        return
    await show_mapping(query, ctx, imp)


@router.callback_query(on(ImportAction.check), flags=STAFF)
async def check_pressed(query: CallbackQuery, callback_data: ImportCb, ctx: Ctx) -> None:
    if (imp := await load(query, callback_data, ctx)) is None:
        return
    message_id = query.message.message_id if isinstance(query.message, Message) else None
    try:
        await staging.start_check(ctx.session, imp, callback_data.v, message_id, ctx.now())
    except DomainError as e:
        if e.code == "import_missing_field":  # the mapping stays on screen to be fixed
            await query.answer(views.error(e), show_alert=True)
        else:
            await refuse(query, ctx, e, imp)
        return
    await edit_or_send(query, views.checking_text(imp, 0))


@router.callback_query(on(ImportAction.credit), flags=STAFF)
async def credit_toggled(query: CallbackQuery, callback_data: ImportCb, ctx: Ctx) -> None:
    if (imp := await load(query, callback_data, ctx)) is None:
        return
    try:
        staging.toggle_credit(imp, ctx.user, callback_data.v, ctx.now())
    except DomainError as e:
        await refuse(query, ctx, e, imp)
        return
    imp.checked_version = imp.version  # the figures don't depend on it: the dry run still holds
    await edit_or_send(query, views.dry_run_text(imp), views.dry_run_keyboard(imp, True))


@router.callback_query(on(ImportAction.apply), flags=STAFF)
async def apply_pressed(query: CallbackQuery, callback_data: ImportCb, ctx: Ctx) -> None:
    if (imp := await load(query, callback_data, ctx)) is None:
        return
    message_id = query.message.message_id if isinstance(query.message, Message) else None
    try:
        await staging.start_apply(ctx.session, imp, callback_data.v, message_id, ctx.now())
    except DomainError as e:
        await refuse(query, ctx, e, imp)
        return
    await edit_or_send(query, views.progress_text(imp))


@router.callback_query(on(ImportAction.cancel), flags=STAFF)
async def cancel_pressed(query: CallbackQuery, callback_data: ImportCb, ctx: Ctx) -> None:
    if (imp := await load(query, callback_data, ctx)) is None:
        return
    try:
        staging.cancel(imp, callback_data.v, ctx.now())
    except DomainError as e:
        await refuse(query, ctx, e, imp)
        return
    await staging.drop_rows(ctx.session, imp.id)
    await edit_or_send(query, views.cancelled_text())
