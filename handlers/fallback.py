"""Last router: whatever nobody else understood still gets a clear answer."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineQuery, Message
from aiogram.utils.i18n import gettext as _

ANY = {"role": "any"}

router = Router(name="fallback")


@router.message(F.text.startswith("/"), flags=ANY)
async def unknown_command(message: Message) -> None:
    await message.answer(_("I don't know that command. Send /help to see what I can do."))


@router.message(F.text, flags=ANY)
async def unknown_text(message: Message) -> None:
    await message.answer(_("I didn't understand that. Send /help to see what I can do."))


@router.message(flags=ANY)
async def unsupported(message: Message) -> None:
    await message.answer(_("I can't use this kind of message here. Send text or use the buttons. /help"))


@router.callback_query(flags=ANY)
async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer valid. Send /start to begin again."), show_alert=True)


@router.inline_query(flags=ANY)
async def inline(query: InlineQuery) -> None:
    await query.answer([], cache_time=0, is_personal=True)
