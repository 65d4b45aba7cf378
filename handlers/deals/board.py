"""/board — the pipeline board as a Telegram Mini App (a WebApp button); without WEBAPP_URL, how to
enable it."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.context import Ctx
from bot.views import board as views
from handlers.deals.common import STAFF

router = Router(name="deals.board")


@router.message(Command("board"), flags=STAFF)
async def board_command(message: Message, ctx: Ctx) -> None:
    url = ctx.settings.webapp_url
    if not url:
        await message.answer(views.not_configured_text())
        return
    await message.answer(views.board_text(), reply_markup=views.board_markup(url))
