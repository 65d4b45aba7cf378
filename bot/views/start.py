"""/help: what the person can do here, by their role (also under the greeting and after linking)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot import menus
from models.users import Role, User


def help_text(user: User) -> str:
    role = user.effective_role
    if role == Role.admin:
        intro = _("You are an <b>admin</b>: you manage the team and see everything.")
    elif role == Role.manager:
        intro = _("You are a <b>manager</b>.")
    else:
        intro = _(
            "Here you can check your bonus points, choose which messages you get from us "
            "and tell us how we did."
        )
    lines = [intro, ""]
    lines += [f"/{name} — {desc}" for name, desc in menus.commands_for(role)]
    return "\n".join(lines)
