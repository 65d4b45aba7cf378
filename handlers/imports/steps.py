"""The steps on a staged import, each a button carrying the import's version: what the file holds, a
column's field, the dry run (with the errors file), credit points, Apply, Cancel. A stale button, a
second press or a press after a restart is told so and shown the import as it is now."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from bot.callbacks import ImportAction, ImportCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import imports as views
from handlers.imports.common import STAFF, redraw, sample
from models.imports import Import
from services import access
from services.errors import DomainError
from services.imports import checking, fields, staging

router = Router(name="imports.steps")


def on(action: ImportAction):
    return ImportCb.filter((F.action == action) & (F.id != 0))


async def refuse(query: CallbackQuery, ctx: Ctx, e: DomainError, imp: Import | None) -> None:
    await query.answer(views.error(e), show_alert=True)
    if imp is not None:
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
    if imp.version != callback_data.v or imp.kind is None or not 0 <= callback_data.col < len(imp.headers):
        await refuse(query, ctx, DomainError("import_stale"), imp)
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
    if imp.version != callback_data.v or imp.kind is None or imp.status not in staging.OPEN:
        await refuse(query, ctx, DomainError("import_stale"), imp)
        return
    await show_mapping(query, ctx, imp)


@router.callback_query(on(ImportAction.check), flags=STAFF)
async def check_pressed(query: CallbackQuery, callback_data: ImportCb, ctx: Ctx) -> None:
    if (imp := await load(query, callback_data, ctx)) is None:
        return
    try:
        staging.ready_to_check(imp, callback_data.v)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        if e.code != "import_missing_field":
            await redraw(query, ctx, imp)
        return
    await dry_run(query, ctx, imp)


async def dry_run(query: CallbackQuery, ctx: Ctx, imp: Import) -> None:
    s = ctx.settings
    outcome = await checking.dry_run(
        ctx.session,
        imp,
        ctx.user,
        ctx.now(),
        region=s.default_region,
        zone=ctx.zone,
        currency=s.default_currency,
    )
    admin = access.sees_everything(ctx.user)
    await edit_or_send(query, views.dry_run_text(imp, outcome), views.dry_run_keyboard(imp, admin))
    if outcome.invalid and isinstance(query.message, Message):
        wanted = {n for n, _e in outcome.invalid}
        rows = {n: cells for n, cells in await checking.rows_of(ctx.session, imp.id) if n in wanted}
        document = BufferedInputFile(
            views.errors_file(imp, outcome, rows), filename=f"import-{imp.id}-errors.csv"
        )
        await query.message.answer_document(document, caption=views.errors_caption(imp))


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
