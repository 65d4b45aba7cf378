"""Consent: /consent (the customer's switches), /stop, Unsubscribe under marketing messages, and the
card's "🔔 Consent" where a manager sees the history and records a change on the customer's word."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ClientCb, ConsentCb
from bot.config import Settings
from bot.edit import edit_or_send
from bot.views import clients as client_views
from bot.views import consent as views
from bot.views import customers as customer_views
from models.clients import Client
from models.consent import ConsentSource, Purpose
from models.users import User
from services import consent as service
from services.access import visible_client
from services.clock import Clock
from services.customers import client_of
from services.errors import DomainError

ANY = {"role": "any"}
STAFF = {"role": "staff"}


def purpose_of(raw: str) -> Purpose | None:
    try:
        return Purpose(raw)
    except ValueError:
        return None


def router() -> Router:
    r = Router(name="consent")

    # --- the customer ---

    @r.message(Command("consent"), flags=ANY)
    async def consent(message: Message, session: AsyncSession, user: User) -> None:
        client = await client_of(session, user.id)
        if client is None:
            text, keyboard = customer_views.not_linked()
            await message.answer(text, reply_markup=keyboard)
            return
        text, markup = views.customer_screen(client.id, await service.current(session, client.id))
        await message.answer(text, reply_markup=markup)

    @r.message(Command("stop"), flags=ANY)
    async def stop(message: Message, session: AsyncSession, user: User, clock: Clock) -> None:
        client = await client_of(session, user.id)
        if client is None:
            text, keyboard = customer_views.not_linked()
            await message.answer(text, reply_markup=keyboard)
            return
        await service.withdraw_all(
            session,
            client.id,
            (Purpose.marketing, Purpose.surveys),
            ConsentSource.command,
            user.id,
            clock.now(),
        )
        await message.answer(views.stop_done())

    async def own_client(
        query: CallbackQuery, session: AsyncSession, user: User, client_id: int
    ) -> Client | None:
        """The presser's linked client when the button is about it; else refused, nothing changes."""
        client = await client_of(session, user.id)
        if client is None or client.id != client_id:
            await query.answer(views.not_yours(), show_alert=True)
            return None
        return client

    @r.callback_query(ConsentCb.filter(F.action == "set"), flags=ANY)
    async def switch(
        query: CallbackQuery, callback_data: ConsentCb, session: AsyncSession, user: User, clock: Clock
    ) -> None:
        purpose = purpose_of(callback_data.purpose)
        client = await own_client(query, session, user, callback_data.client_id)
        if client is None:
            return
        if purpose is None or callback_data.value not in (0, 1):
            await query.answer(views.not_yours(), show_alert=True)
            return
        granted = bool(callback_data.value)
        changed = await service.set(
            session,
            client.id,
            purpose,
            granted,
            ConsentSource.button,
            user.id,
            service.CONSENT_TEXT_VERSION,
            clock.now(),
        )
        text, markup = views.customer_screen(client.id, await service.current(session, client.id))
        await edit_or_send(query, text, markup)
        await query.answer(views.switched(purpose, granted) if changed else views.unchanged())

    @r.callback_query(ConsentCb.filter(F.action == "unsub"), flags=ANY)
    async def unsubscribe(
        query: CallbackQuery, callback_data: ConsentCb, session: AsyncSession, user: User, clock: Clock
    ) -> None:
        client = await own_client(query, session, user, callback_data.client_id)
        if client is None:
            return
        await service.set(
            session,
            client.id,
            Purpose.marketing,
            False,
            ConsentSource.button,
            user.id,
            service.CONSENT_TEXT_VERSION,
            clock.now(),
        )
        await query.answer(views.unsubscribed(), show_alert=True)
        if isinstance(query.message, Message) and query.message.reply_markup is not None:
            # The button has done its job: take it off that message (its other buttons stay).
            rows = [
                [b for b in row if b.callback_data != query.data]
                for row in query.message.reply_markup.inline_keyboard
            ]
            rows = [row for row in rows if row]
            try:
                await query.message.edit_reply_markup(
                    reply_markup=InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
                )
            except TelegramBadRequest:
                pass

    # --- the card (staff) ---

    async def card_screen(
        session: AsyncSession,
        user: User,
        client: Client,
        settings: Settings,
        i18n: I18n,
        note: str | None = None,
    ):
        state = await service.current(session, client.id)
        items = await service.history(session, client.id)
        tz = user.timezone or settings.default_timezone
        return views.card_screen(client, state, items, tz, i18n.current_locale, note)

    @r.callback_query(ClientCb.filter(F.action == "consent"), flags=STAFF)
    async def card_consent(
        query: CallbackQuery,
        callback_data: ClientCb,
        session: AsyncSession,
        user: User,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            client = await visible_client(session, user, callback_data.client_id)
        except DomainError as e:
            await query.answer(client_views.client_error(e), show_alert=True)
            return
        text, markup = await card_screen(session, user, client, settings, i18n)
        await edit_or_send(query, text, markup)
        await query.answer()

    @r.callback_query(ConsentCb.filter(F.action.in_({"ask", "rec"})), flags=STAFF)
    async def card_record(
        query: CallbackQuery,
        callback_data: ConsentCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            client = await visible_client(session, user, callback_data.client_id)
        except DomainError as e:
            await query.answer(client_views.client_error(e), show_alert=True)
            return
        purpose = purpose_of(callback_data.purpose)
        if purpose is None or callback_data.value not in (0, 1):
            await query.answer(client_views.client_error(DomainError("not_found")), show_alert=True)
            return
        granted = bool(callback_data.value)
        if callback_data.action == "ask":
            text, markup = views.record_confirm(client, purpose, granted)
            await edit_or_send(query, text, markup)
            await query.answer()
            return
        changed = await service.set(
            session,
            client.id,
            purpose,
            granted,
            ConsentSource.manager,
            user.id,
            service.CONSENT_TEXT_VERSION,
            clock.now(),
        )
        note = views.recorded() if changed else views.unchanged()
        text, markup = await card_screen(session, user, client, settings, i18n, note)
        await edit_or_send(query, text, markup)
        await query.answer(note)

    return r
