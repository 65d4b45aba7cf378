"""/import and the file: with the command (as its caption) or after it. The file is checked (type,
size) before it is downloaded, read off the event loop, and staged; then the person says what it holds."""

from __future__ import annotations

import asyncio
from io import BytesIO

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ImportAction, ImportCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, close_prompt, end_dialog
from bot.views import imports as views
from handlers.imports.common import STAFF, ImportDialog
from services.errors import DomainError
from services.imports import reading, staging

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


async def download(message: Message, ctx: Ctx) -> bytes:
    doc = message.document
    assert doc is not None
    reading.file_format(doc.file_name)
    reading.check_size(doc.file_size)
    try:
        buffer = await ctx.bot.download(doc, destination=BytesIO())
    except TelegramBadRequest:
        raise DomainError("import_download") from None
    assert isinstance(buffer, BytesIO)
    return buffer.getvalue()


async def receive(message: Message, ctx: Ctx) -> None:
    """Read the file and stage it, or say why not (and keep waiting for a file)."""
    doc = message.document
    assert doc is not None
    try:
        data = await download(message, ctx)
        table = await asyncio.to_thread(reading.read, data, doc.file_name)
    except DomainError as e:
        await begin_dialog(ctx.state, ImportDialog.file)
        await message.answer(views.error(e), reply_markup=views.cancel_keyboard())
        return
    imp = await staging.stage(
        ctx.session, ctx.user, message.chat.id, table, doc.file_name or "file", ctx.now()
    )
    await end_dialog(ctx.state)
    await message.answer(views.kind_prompt(imp), reply_markup=views.kind_keyboard(imp))
