"""/import and the file: with the command (as its caption) or after it. The file's type and size are
checked at once; the read job (scheduler/imports.py) then downloads, reads and stages it and asks what
it holds, so the update answers at once whatever the file's size."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ImportAction, ImportCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, close_prompt, end_dialog
from bot.views import imports as views
from handlers.imports.common import STAFF, ImportDialog
from services.errors import DomainError
from services.imports import staging

router = Router(name="imports.start")


@router.message(Command("import"), F.document, flags=STAFF)
async def import_with_file(message: Message, ctx: Ctx) -> None:
    await receive(message, ctx)


@router.message(Command("import"), flags=STAFF)
async def import_command(message: Message, ctx: Ctx) -> None:
    await begin_dialog(ctx.state, ImportDialog.file)
    await message.answer(views.ask_file(), reply_markup=views.cancel_keyboard())


@router.message(ImportDialog.file, F.document, flags=STAFF)
async def file_sent(message: Message, ctx: Ctx) -> None:
    await receive(message, ctx)


@router.message(ImportDialog.file, ~F.text.startswith("/"), flags=STAFF)
async def not_a_file(message: Message, ctx: Ctx) -> None:
    """A photo, sticker, voice or text where the file is expected."""
    await message.answer(views.error(DomainError("import_send_file")), reply_markup=views.cancel_keyboard())


@router.callback_query(ImportCb.filter((F.action == ImportAction.cancel) & (F.id == 0)), flags=STAFF)
async def cancel_waiting(query: CallbackQuery, ctx: Ctx) -> None:
    await end_dialog(ctx.state)
    await close_prompt(query)
    await query.answer(views.cancelled_text())


async def receive(message: Message, ctx: Ctx) -> None:
    """Accept the file for the read job, or say why not (and keep waiting for a file)."""
    doc = message.document
    assert doc is not None
    try:
        imp = await staging.accept(
            ctx.session,
            ctx.user,
            message.chat.id,
            doc.file_id,
            doc.file_name or "file",
            doc.file_size,
            ctx.now(),
        )
    except DomainError as e:
        await begin_dialog(ctx.state, ImportDialog.file)
        await message.answer(views.error(e), reply_markup=views.cancel_keyboard())
        return
    await end_dialog(ctx.state)
    await message.answer(views.reading_text(imp))
