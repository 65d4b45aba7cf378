"""A customer's shared contact: their own phone links their account, or makes a lead for the admins."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.context import Ctx
from bot.views import customers as views
from bot.views.start import help_text
from models.users import Role
from services import customers as service
from services.errors import DomainError

ANY = {"role": "any"}

router = Router(name="customers.phone")


async def is_customer(_event: object, ctx: Ctx) -> bool:
    """Shared contacts from staff are new clients (handlers/clients); from customers, a link."""
    return ctx.role == Role.customer


def outcome_text(shared: service.Shared, ctx: Ctx) -> str:
    if shared.outcome == "linked":
        return views.linked_text(ctx.user.first_name or ctx.user.display_name, help_text(ctx.user))
    if shared.outcome == "already":
        return views.already_linked_text()
    if shared.outcome == "lead_again":
        return views.lead_again_text()
    return views.lead_text()


@router.message(F.contact, is_customer, flags=ANY)
async def shared_contact(message: Message, ctx: Ctx) -> None:
    contact = message.contact
    assert contact is not None
    try:
        shared = await service.share_phone(
            ctx.session,
            ctx.user,
            contact.phone_number,
            contact.user_id,
            ctx.settings.default_region,
            ctx.now(),
        )
    except DomainError as e:
        markup = views.share_phone_keyboard() if e.code == "customer_not_own" else views.remove_keyboard()
        await message.answer(views.error(e), reply_markup=markup)
        return
    await message.answer(outcome_text(shared, ctx), reply_markup=views.remove_keyboard())
