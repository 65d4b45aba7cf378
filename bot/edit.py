"""Editing the message a button belongs to.

The edit leaves after the update commits (bot/outbox.py), which also sends a new message when the
old one can no longer be edited. An edit to exactly what the message already shows is not made at
all (Telegram would refuse it with "message is not modified").
"""

from __future__ import annotations

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message


def shows_already(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> bool:
    """The message already shows this text (as HTML) and these buttons."""
    if message.text is None or message.html_text != text:
        return False
    current = message.reply_markup
    if markup is None or not markup.inline_keyboard:
        return current is None or not current.inline_keyboard
    # compared as data: the received markup is bound to the bot, the new one isn't
    return current is not None and current.model_dump(exclude_none=True) == markup.model_dump(
        exclude_none=True
    )


async def edit_or_send(query: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Show `text` in place of the pressed message; a message too old to edit gets a new one instead."""
    message = query.message
    if not isinstance(message, Message):  # inaccessible (very old) message
        if query.from_user and query.bot:
            await query.bot.send_message(query.from_user.id, text, reply_markup=markup)
        return
    if shows_already(message, text, markup):
        return
    await message.edit_text(text, reply_markup=markup)
