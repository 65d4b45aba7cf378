"""/team and /invite: the team list, a member's card and the invite link (handlers/team.py)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import TeamAction, TeamCb
from bot.formatting import local_dt
from bot.keyboards import label
from bot.text import h
from models.users import Role, User

TEAM_PAGE = 10


def pages_of(members: list[User]) -> int:
    return max(1, -(-len(members) // TEAM_PAGE))


def clamp_page(members: list[User], page: int) -> int:
    return min(max(page, 0), pages_of(members) - 1)


def role_name(role: Role) -> str:
    return _("admin") if role == Role.admin else _("manager")


def team_text(members: list[User], page: int) -> str:
    active = sum(1 for m in members if m.is_active)
    lines = [_("👥 <b>Team</b>: {active} active of {total}").format(active=active, total=len(members))]
    start = page * TEAM_PAGE
    for m in members[start : start + TEAM_PAGE]:
        status = _("active") if m.is_active else _("deactivated")
        username = f" @{h(m.username)}" if m.username else ""
        lines.append(f"• {h(m.display_name)}{username} — {role_name(m.role)}, {status}")
    lines.append(_("Tap a name to manage them. /invite adds a manager."))
    return "\n".join(lines)


def team_list(members: list[User], page: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    pages = pages_of(members)
    page = clamp_page(members, page)
    for m in members[page * TEAM_PAGE : (page + 1) * TEAM_PAGE]:
        icon = "👑" if m.role == Role.admin else "👤"
        if not m.is_active:
            icon = "🚫"
        open_card = TeamCb(action=TeamAction.open, user_id=m.id, page=page)
        kb.row(InlineKeyboardButton(text=label(f"{icon} {m.display_name}"), callback_data=open_card.pack()))
    if pages > 1:
        kb.row(*_pager(page, pages))
    return kb.as_markup()


def _pager(page: int, pages: int) -> list[InlineKeyboardButton]:
    def to(target: int) -> str:
        return TeamCb(action=TeamAction.list, page=target).pack()

    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(text="◀", callback_data=to(page - 1)))
    nav.append(InlineKeyboardButton(text=f"{page + 1}/{pages}", callback_data=to(page)))
    if page < pages - 1:
        nav.append(InlineKeyboardButton(text="▶", callback_data=to(page + 1)))
    return nav


def member_text(member: User, tz: str, locale: str) -> str:
    status = _("active") if member.is_active else _("deactivated")
    lines = [f"<b>{h(member.display_name)}</b>" + (f" @{h(member.username)}" if member.username else "")]
    lines.append(_("Role: {role}").format(role=role_name(member.role)))
    lines.append(_("Status: {status}").format(status=status))
    lines.append(_("Since: {date}").format(date=local_dt(member.created_at, tz, locale)))
    return "\n".join(lines)


def member_card(member: User, page: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()

    def act(action: TeamAction) -> str:
        return TeamCb(action=action, user_id=member.id, page=page).pack()

    if member.is_active:
        kb.button(text=_("🚫 Deactivate"), callback_data=act(TeamAction.deactivate))
        if member.role == Role.admin:
            kb.button(text=_("⬇ Make manager"), callback_data=act(TeamAction.demote))
        else:
            kb.button(text=_("👑 Make admin"), callback_data=act(TeamAction.promote))
    else:
        kb.button(text=_("✅ Reactivate"), callback_data=act(TeamAction.reactivate))
    kb.button(text=_("« Team"), callback_data=TeamCb(action=TeamAction.list, page=page).pack())
    kb.adjust(2, 1)
    return kb.as_markup()


def invite_text(link: str, until: str) -> str:
    return _(
        "🔗 Invite link for a new manager:\n{link}\n\nIt works once and expires on {until}. "
        "Forward it to the person you want on the team."
    ).format(link=h(link), until=until)
