"""The customer's side of consent: /consent (the switches), /stop, Unsubscribe under a marketing message."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import ConsentAction, ConsentCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import consent as views
from bot.views import customers as customer_views
from models.clients import Client
from models.consent import ConsentSource, Purpose
from services import consent as service
from services.access import client_of

ANY = {"role": "any"}

router = Router(name="consent.customer")


def purpose_of(raw: str) -> Purpose | None:
    try:
        return Purpose(raw)
    except ValueError:
        return None


@router.message(Command("consent"), flags=ANY)
async def consent(message: Message, ctx: Ctx) -> None:
    client = await client_of(ctx.session, ctx.user.id)
    if client is None:
        text, keyboard = customer_views.not_linked()
        await message.answer(text, reply_markup=keyboard)
        return
    text, markup = views.customer_screen(client.id, await service.current(ctx.session, client.id))
    await message.answer(text, reply_markup=markup)


@router.message(Command("stop"), flags=ANY)
async def stop(message: Message, ctx: Ctx) -> None:
    client = await client_of(ctx.session, ctx.user.id)
    if client is None:
        text, keyboard = customer_views.not_linked()
        await message.answer(text, reply_markup=keyboard)
        return
    purposes = (Purpose.marketing, Purpose.surveys)
    await service.withdraw_all(
        ctx.session, client.id, purposes, ConsentSource.command, ctx.user.id, ctx.now()
    )
    await message.answer(views.stop_done())


async def own_client(query: CallbackQuery, ctx: Ctx, client_id: int) -> Client | None:
    """The presser's linked client when the button is about it; else refused, nothing changes."""
    client = await client_of(ctx.session, ctx.user.id)
    if client is None or client.id != client_id:
        await query.answer(views.not_yours(), show_alert=True)
        return None
    return client


async def record(ctx: Ctx, client: Client, purpose: Purpose, granted: bool) -> bool:
    """The customer's own decision, by a button in the bot. True when it changed something."""
    return await service.set(
        ctx.session,
        client.id,
        purpose,
        granted,
        ConsentSource.button,
        ctx.user.id,
        service.CONSENT_TEXT_VERSION,
        ctx.now(),
    )


@router.callback_query(ConsentCb.filter(F.action == ConsentAction.set), flags=ANY)
async def switch(query: CallbackQuery, callback_data: ConsentCb, ctx: Ctx) -> None:
    purpose = purpose_of(callback_data.purpose)
    client = await own_client(query, ctx, callback_data.client_id)
    if client is None:
        return
    if purpose is None or callback_data.value not in (0, 1):
        await query.answer(views.not_yours(), show_alert=True)
        return
    granted = bool(callback_data.value)
    changed = await record(ctx, client, purpose, granted)
    text, markup = views.customer_screen(client.id, await service.current(ctx.session, client.id))
    await edit_or_send(query, text, markup)
    await query.answer(views.switched(purpose, granted) if changed else views.unchanged())


@router.callback_query(ConsentCb.filter(F.action == ConsentAction.unsub), flags=ANY)
async def unsubscribe(query: CallbackQuery, callback_data: ConsentCb, ctx: Ctx) -> None:
    client = await own_client(query, ctx, callback_data.client_id)
    if client is None:
        return
    await record(ctx, client, Purpose.marketing, False)
    await query.answer(views.unsubscribed(), show_alert=True)
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        await drop_button(query.message, query.data or "")


async def drop_button(message: Message, data: str) -> None:
    """The button has done its job: take it off that message (its other buttons stay)."""
    rows = [[b for b in row if b.callback_data != data] for row in message.reply_markup.inline_keyboard]  # type: ignore[union-attr]
    rows = [row for row in rows if row]
    try:
        await message.edit_reply_markup(
            reply_markup=InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
        )
    except TelegramBadRequest:
        pass
