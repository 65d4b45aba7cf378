"""Owner (admins): the list of staff to give a client to, and the hand-over with both told."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardAction, ClientCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import clients as views
from handlers.clients.common import ADMIN, current_client, show_in_place
from models.clients import Client
from models.users import User
from services import notify
from services.clients.owner import assignable_staff, set_owner
from services.errors import DomainError

router = Router(name="clients.owner")


@router.callback_query(ClientCb.filter((F.action == CardAction.owner) & (F.arg == 0)), flags=ADMIN)
async def owner_menu(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    client = await current_client(query, callback_data, ctx)
    if client is None:
        return
    text, markup = views.owner_menu(client, await assignable_staff(ctx.session))
    await edit_or_send(query, text, markup)
    await query.answer()


@router.callback_query(ClientCb.filter(F.action == CardAction.owner), flags=ADMIN)
async def give_to(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    """arg = the new owner's user id."""
    client = await current_client(query, callback_data, ctx)
    if client is None:
        return
    try:
        client, previous = await set_owner(
            ctx.session, ctx.user, client, callback_data.version, callback_data.arg, ctx.now()
        )
    except DomainError as e:
        await query.answer(views.client_error(e), show_alert=True)
        return
    await tell_owners(ctx, client, previous)
    await show_in_place(query, ctx, client, _("Done."))


async def tell_owners(ctx: Ctx, client: Client, previous: int) -> None:
    """The new owner and the previous one hear of it (unless it was the admin themselves)."""
    admin, now = ctx.user, ctx.now()
    new_owner = await ctx.session.get(User, client.owner_id)
    new_name = new_owner.display_name if new_owner else "?"
    if client.owner_id != admin.id:
        await notify.notify(
            ctx.session,
            client.owner_id,
            "client_assigned",
            now,
            admin=admin.display_name,
            name=client.name,
            client_id=client.id,
        )
    if previous != admin.id:
        await notify.notify(
            ctx.session,
            previous,
            "client_unassigned",
            now,
            admin=admin.display_name,
            name=client.name,
            owner=new_name,
        )
