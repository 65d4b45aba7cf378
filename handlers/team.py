"""Admin: /invite a manager, /team to deactivate, reactivate, promote and demote."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import TeamAction, TeamCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.formatting import local_dt
from bot.messages import error_text
from bot.views import team as views
from models.users import User
from services import invites, notify
from services import users as users_service
from services.errors import DomainError

ADMIN = {"role": "admin"}

MemberAction = Callable[[AsyncSession, User, int, datetime], Awaitable[User]]
# What each card button does to the member, and the notice the member gets about it.
MEMBER_ACTIONS: dict[TeamAction, tuple[MemberAction, str]] = {
    TeamAction.deactivate: (users_service.deactivate, "member_deactivated"),
    TeamAction.reactivate: (users_service.reactivate, "member_reactivated"),
    TeamAction.promote: (users_service.promote, "member_promoted"),
    TeamAction.demote: (users_service.demote, "member_demoted"),
}

router = Router(name="team")


@router.message(Command("invite"), flags=ADMIN)
async def invite(message: Message, ctx: Ctx) -> None:
    inv = await invites.create_manager_invite(ctx.session, ctx.user, ctx.now())
    me = await ctx.bot.me()
    link = f"https://t.me/{me.username}?start={invites.payload_of(inv)}"
    until = local_dt(inv.expires_at, ctx.tz, ctx.locale)
    await message.answer(views.invite_text(link, until), reply_markup=keyboards.invite_share(link))


@router.message(Command("team"), flags=ADMIN)
async def team(message: Message, ctx: Ctx) -> None:
    members = await users_service.team(ctx.session)
    await message.answer(views.team_text(members, 0), reply_markup=views.team_list(members, 0))


@router.callback_query(TeamCb.filter(F.action == TeamAction.list), flags=ADMIN)
async def team_page(query: CallbackQuery, callback_data: TeamCb, ctx: Ctx) -> None:
    members = await users_service.team(ctx.session)
    page = views.clamp_page(members, callback_data.page)
    await edit_or_send(query, views.team_text(members, page), views.team_list(members, page))
    await query.answer()


@router.callback_query(TeamCb.filter(F.action == TeamAction.open), flags=ADMIN)
async def open_member(query: CallbackQuery, callback_data: TeamCb, ctx: Ctx) -> None:
    try:
        member = await users_service.get_member(ctx.session, callback_data.user_id)
    except DomainError as e:
        await query.answer(error_text(e), show_alert=True)
        return
    await show_member(query, member, callback_data.page, ctx)
    await query.answer()


@router.callback_query(TeamCb.filter(F.action.in_(MEMBER_ACTIONS)), flags=ADMIN)
async def act(query: CallbackQuery, callback_data: TeamCb, ctx: Ctx) -> None:
    action, notice = MEMBER_ACTIONS[callback_data.action]
    now = ctx.now()
    try:
        member = await action(ctx.session, ctx.user, callback_data.user_id, now)
    except DomainError as e:
        await query.answer(error_text(e), show_alert=True)
        try:  # show the card as it is now
            member = await users_service.get_member(ctx.session, callback_data.user_id)
        except DomainError:
            return
    else:
        await tell_member(ctx, member, notice, now)
        await query.answer(_("Done."))
    await show_member(query, member, callback_data.page, ctx)


async def tell_member(ctx: Ctx, member: User, notice: str, now: datetime) -> None:
    """Their menu follows the new role; someone else is told who changed it."""
    await notify.sync_commands(ctx.session, member.id, now)
    if member.id != ctx.user.id:
        await notify.notify(ctx.session, member.id, notice, now, admin=ctx.user.display_name)


async def show_member(query: CallbackQuery, member: User, page: int, ctx: Ctx) -> None:
    text = views.member_text(member, ctx.tz, ctx.locale)
    await edit_or_send(query, text, views.member_card(member, page))
