"""/forget: the customer confirms (or keeps the link); an admin marks the request handled."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CustomerAction, CustomerCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import clients as client_views
from bot.views import customers as views
from services import customers as service
from services.errors import DomainError

ANY = {"role": "any"}
ADMIN = {"role": "admin"}

router = Router(name="customers.forget")


def has_handled_button(message: Message) -> bool:
    markup = message.reply_markup
    prefix = CustomerCb.__prefix__ + CustomerCb.__separator__ + CustomerAction.handled
    return markup is not None and any(
        (b.callback_data or "").startswith(prefix) for row in markup.inline_keyboard for b in row
    )


@router.message(Command("forget"), flags=ANY)
async def forget(message: Message, ctx: Ctx) -> None:
    client = await service.client_of(ctx.session, ctx.user.id)
    if client is None:
        await message.answer(views.error(DomainError("customer_not_linked")))
        return
    text, markup = views.forget_confirm(client.id)
    await message.answer(text, reply_markup=markup)


@router.callback_query(CustomerCb.filter(F.action == CustomerAction.forget), flags=ANY)
async def forget_confirmed(query: CallbackQuery, callback_data: CustomerCb, ctx: Ctx) -> None:
    try:
        await service.forget(ctx.session, ctx.user, callback_data.id, ctx.now())
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await edit_or_send(query, views.forget_done())
    await query.answer()


@router.callback_query(CustomerCb.filter(F.action == CustomerAction.keep), flags=ANY)
async def forget_cancelled(query: CallbackQuery, ctx: Ctx) -> None:
    await edit_or_send(query, views.forget_kept())
    await query.answer()


@router.callback_query(CustomerCb.filter(F.action == CustomerAction.handled), flags=ADMIN)
async def forget_handled(query: CallbackQuery, callback_data: CustomerCb, ctx: Ctx) -> None:
    try:
        done = await service.mark_handled(ctx.session, ctx.user, callback_data.id, ctx.now())
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
