"""Editing the message a button belongs to, tolerating the cases Telegram refuses."""

from __future__ import annotations

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


async def edit_or_send(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show `text` in place of the pressed message; a message too old to edit gets a new one instead."""
    message = query.message
    if not isinstance(message, Message):  # inaccessible (very old) message
        if query.from_user:
            await query.bot.send_message(query.from_user.id, text, reply_markup=markup)  # type: ignore[union-attr]
        return
    try:
        await message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as e:
        desc = e.message.lower()
        if "not modified" in desc:
            return
        if "can't be edited" in desc or "not found" in desc:
            await message.answer(text, reply_markup=markup)
            return
        raise
