"""Customers: the card's "📲 Invite to bot", a customer's shared phone, and /forget.

Opening an invite (`/start c_<token>`) is in handlers/start.py; the work is in services/customers.py.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ClientCb, CustomerCb
from bot.config import Settings
from bot.edit import edit_or_send
from bot.formatting import local_dt
from bot.views import clients as client_views
from bot.views import customers as views
from handlers.start import help_text
from models.users import Role, User
from services import customers as service
from services.access import visible_client
from services.clock import Clock
from services.errors import DomainError

ANY = {"role": "any"}
STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}


async def is_customer(_event: object, user: User) -> bool:
    """Shared contacts from staff are new clients (handlers/clients.py); from customers, a link."""
    return user.effective_role == Role.customer


def has_handled_button(message: Message) -> bool:
    markup = message.reply_markup
    prefix = CustomerCb.__prefix__ + CustomerCb.__separator__ + "handled"
    return markup is not None and any(
        (b.callback_data or "").startswith(prefix) for row in markup.inline_keyboard for b in row
    )


def router() -> Router:
    r = Router(name="customers")

    # --- the card: 📲 Invite to bot ---

    @r.callback_query(ClientCb.filter(F.action == "invite"), flags=STAFF)
    async def invite(
        query: CallbackQuery,
        callback_data: ClientCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        bot: Bot,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            client = await visible_client(session, user, callback_data.client_id)
            inv = await service.create_invite(session, user, client, clock.now())
        except DomainError as e:
            text = views.already_linked_card() if e.code == "customer_client_linked" else views.error(e)
            await query.answer(
                client_views.client_error(e) if e.code == "not_found" else text, show_alert=True
            )
            return
        me = await bot.me()
        link = f"https://t.me/{me.username}?start={service.invite_payload(inv)}"
        until = local_dt(inv.expires_at, user.timezone or settings.default_timezone, i18n.current_locale)
        await query.answer()
        await bot.send_message(
            query.from_user.id,
            views.invite_text(client.name, link, until),
            reply_markup=views.invite_keyboard(link, client.id, client.version),
        )

    # --- a customer's shared contact ---

    @r.message(F.contact, is_customer, flags=ANY)
    async def shared_contact(
        message: Message, session: AsyncSession, user: User, clock: Clock, settings: Settings
    ) -> None:
        contact = message.contact
        assert contact is not None
        try:
            shared = await service.share_phone(
                session, user, contact.phone_number, contact.user_id, settings.default_region, clock.now()
            )
        except DomainError as e:
            markup = views.share_phone_keyboard() if e.code == "customer_not_own" else views.remove_keyboard()
            await message.answer(views.error(e), reply_markup=markup)
            return
        if shared.outcome == "linked":
            text = views.linked_text(user.first_name or user.display_name, help_text(user))
        elif shared.outcome == "already":
            text = views.already_linked_text()
        elif shared.outcome == "lead_again":
            text = views.lead_again_text()
        else:
            text = views.lead_text()
        await message.answer(text, reply_markup=views.remove_keyboard())

    # --- /forget ---

    @r.message(Command("forget"), flags=ANY)
    async def forget(message: Message, session: AsyncSession, user: User) -> None:
        client = await service.client_of(session, user.id)
        if client is None:
            await message.answer(views.error(DomainError("customer_not_linked")))
            return
        text, markup = views.forget_confirm(client.id)
        await message.answer(text, reply_markup=markup)

    @r.callback_query(CustomerCb.filter(F.action == "forget"), flags=ANY)
    async def forget_confirmed(
        query: CallbackQuery, callback_data: CustomerCb, session: AsyncSession, user: User, clock: Clock
    ) -> None:
        try:
            await service.forget(session, user, callback_data.id, clock.now())
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        await edit_or_send(query, views.forget_done())
        await query.answer()

    @r.callback_query(CustomerCb.filter(F.action == "keep"), flags=ANY)
    async def forget_cancelled(query: CallbackQuery) -> None:
        await edit_or_send(query, views.forget_kept())
        await query.answer()

    @r.callback_query(CustomerCb.filter(F.action == "handled"), flags=ADMIN)
    async def forget_handled(
        query: CallbackQuery, callback_data: CustomerCb, session: AsyncSession, user: User, clock: Clock
    ) -> None:
        try:
            done = await service.mark_handled(session, user, callback_data.id, clock.now())
        except DomainError as e:
            await query.answer(client_views.client_error(e), show_alert=True)
            return
        by = done.by.display_name if done.by else "?"
        if not done.now:
            await query.answer(views.handled_before(by), show_alert=True)
        else:
            await query.answer(_("Done."))
        message = query.message
        if isinstance(message, Message) and (done.now or has_handled_button(message)):
            text = views.handled_text(message.html_text, by)
            await edit_or_send(query, text, views.handled_keyboard(done.request.client_id))

    return r
