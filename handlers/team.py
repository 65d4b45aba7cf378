"""Admin: /invite a manager, /team to deactivate, reactivate, promote and demote."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import TeamCb
from bot.config import Settings
from bot.edit import edit_or_send
from bot.formatting import local_dt
from bot.messages import error_text
from bot.text import h
from models.users import Role, User
from services import invites, notify
from services import users as users_service
from services.clock import Clock
from services.errors import DomainError

ADMIN = {"role": "admin"}
ACTIONS = {
    "deactivate": (users_service.deactivate, "member_deactivated"),
    "reactivate": (users_service.reactivate, "member_reactivated"),
    "promote": (users_service.promote, "member_promoted"),
    "demote": (users_service.demote, "member_demoted"),
}


def role_name(role: Role) -> str:
    return _("admin") if role == Role.admin else _("manager")


def team_text(members: list[User], page: int) -> str:
    active = sum(1 for m in members if m.is_active)
    lines = [_("👥 <b>Team</b>: {active} active of {total}").format(active=active, total=len(members))]
    start = page * keyboards.TEAM_PAGE
    for m in members[start : start + keyboards.TEAM_PAGE]:
        status = _("active") if m.is_active else _("deactivated")
        username = f" @{h(m.username)}" if m.username else ""
        lines.append(f"• {h(m.display_name)}{username} — {role_name(m.role)}, {status}")
    lines.append(_("Tap a name to manage them. /invite adds a manager."))
    return "\n".join(lines)


def member_text(member: User, tz: str, locale: str) -> str:
    status = _("active") if member.is_active else _("deactivated")
    lines = [f"<b>{h(member.display_name)}</b>" + (f" @{h(member.username)}" if member.username else "")]
    lines.append(_("Role: {role}").format(role=role_name(member.role)))
    lines.append(_("Status: {status}").format(status=status))
    lines.append(_("Since: {date}").format(date=local_dt(member.created_at, tz, locale)))
    return "\n".join(lines)


def router() -> Router:
    r = Router(name="team")

    @r.message(Command("invite"), flags=ADMIN)
    async def invite(
        message: Message,
        session: AsyncSession,
        user: User,
        clock: Clock,
        bot: Bot,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        inv = await invites.create_manager_invite(session, user, clock.now())
        me = await bot.me()
        link = f"https://t.me/{me.username}?start={invites.payload_of(inv)}"
        until = local_dt(inv.expires_at, user.timezone or settings.default_timezone, i18n.current_locale)
        await message.answer(
            _(
                "🔗 Invite link for a new manager:\n{link}\n\nIt works once and expires on {until}. "
                "Forward it to the person you want on the team."
            ).format(link=h(link), until=until),
            reply_markup=keyboards.invite_share(link),
        )

    async def show_team(session: AsyncSession, page: int) -> tuple[str, object]:
        members = await users_service.team(session)
        pages = max(1, -(-len(members) // keyboards.TEAM_PAGE))
        page = min(max(page, 0), pages - 1)
        return team_text(members, page), keyboards.team_list(members, page)

    @r.message(Command("team"), flags=ADMIN)
    async def team(message: Message, session: AsyncSession) -> None:
        text, markup = await show_team(session, 0)
        await message.answer(text, reply_markup=markup)

    @r.callback_query(TeamCb.filter(F.action == "list"), flags=ADMIN)
    async def team_page(query: CallbackQuery, callback_data: TeamCb, session: AsyncSession) -> None:
        text, markup = await show_team(session, callback_data.page)
        await edit_or_send(query, text, markup)  # type: ignore[arg-type]
        await query.answer()

    @r.callback_query(TeamCb.filter(F.action == "open"), flags=ADMIN)
    async def open_member(
        query: CallbackQuery,
        callback_data: TeamCb,
        session: AsyncSession,
        user: User,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            member = await users_service.get_member(session, callback_data.user_id)
        except DomainError as e:
            await query.answer(error_text(e), show_alert=True)
            return
        tz = user.timezone or settings.default_timezone
        await edit_or_send(
            query,
            member_text(member, tz, i18n.current_locale),
            keyboards.member_card(member, callback_data.page),
        )
        await query.answer()

    @r.callback_query(TeamCb.filter(F.action.in_(ACTIONS)), flags=ADMIN)
    async def act(
        query: CallbackQuery,
        callback_data: TeamCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        action, notice = ACTIONS[callback_data.action]
        now = clock.now()
        try:
            member = await action(session, user, callback_data.user_id, now)
        except DomainError as e:
            await query.answer(error_text(e), show_alert=True)
            try:
                member = await users_service.get_member(session, callback_data.user_id)
            except DomainError:
                return
        else:
            await notify.sync_commands(session, member.id, now)
            if member.id != user.id:
                await notify.notify(session, member.id, notice, now, admin=user.display_name)
            await query.answer(_("Done."))
        tz = user.timezone or settings.default_timezone
        await edit_or_send(
            query,
            member_text(member, tz, i18n.current_locale),
            keyboards.member_card(member, callback_data.page),
        )

    return r
