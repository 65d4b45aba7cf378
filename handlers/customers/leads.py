"""/leads (admins): the leads that wait for an owner, and "✋ Take" — see services/leads.py."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.callbacks import CustomerAction, CustomerCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import clients as client_views
from bot.views import customers as views
from handlers.customers.cards import card_view
from models.clients import Client
from models.users import User
from services import leads as service
from services.errors import DomainError

ADMIN = {"role": "admin"}

router = Router(name="customers.leads")


async def leads_view(ctx: Ctx) -> tuple[str, InlineKeyboardMarkup | None]:
    items, total = await service.waiting(ctx.session, ctx.user)
    return views.leads_text(items, total, ctx.tz, ctx.locale), views.leads_keyboard(items)


@router.message(Command("leads"), flags=ADMIN)
async def leads(message: Message, ctx: Ctx) -> None:
    text, markup = await leads_view(ctx)
    await message.answer(text, reply_markup=markup)


async def taken_before(query: CallbackQuery, ctx: Ctx, e: DomainError) -> None:
    """Someone took it first: say who, and show the list as it is now."""
    client_id = int(e.params.get("client_id") or 0)
    client = await ctx.session.get(Client, client_id) if client_id else None
    owner = await ctx.session.get(User, client.owner_id) if client and client.owner_id else None
    await query.answer(views.lead_taken_before(owner.display_name if owner else "?"), show_alert=True)
    text, markup = await leads_view(ctx)
    await edit_or_send(query, text, markup)


@router.callback_query(CustomerCb.filter(F.action == CustomerAction.take), flags=ADMIN)
async def take(query: CallbackQuery, callback_data: CustomerCb, ctx: Ctx) -> None:
    try:
        taken = await service.take(ctx.session, ctx.user, callback_data.id, ctx.now())
    except DomainError as e:
        if e.code == "lead_taken":
            await taken_before(query, ctx, e)
            return
        await query.answer(client_views.client_error(e), show_alert=True)
        return
    await query.answer(views.lead_taken_text(taken.client.name, taken.known), show_alert=True)
    text, markup = await leads_view(ctx)
    await edit_or_send(query, text, markup)
    text, markup = await card_view(ctx, taken.client)
    await ctx.bot.send_message(query.from_user.id, text, reply_markup=markup)
