"""Translated texts for domain errors (services raise DomainError(code); handlers show this)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from services.errors import DomainError


def error_text(error: DomainError) -> str:
    texts = {
        "not_found": _("Not found. It may have been removed, or it isn't yours."),
        "not_allowed": _("⛔ Not allowed. This is only for the company's staff."),
        "last_admin": _("This is the last active admin. Make someone else an admin first."),
        "already_inactive": _("Already deactivated."),
        "already_active": _("Already active."),
        "already_admin": _("Already an admin."),
        "not_admin": _("Already a manager."),
        "inactive_member": _("Reactivate this person first."),
        "invite_invalid": _("This invite link is not valid. Ask your admin for a new one."),
        "invite_used": _("This invite link has already been used. Ask your admin for a new one."),
        "invite_expired": _("This invite link has expired. Ask your admin for a new one."),
        "already_staff": _("You are already on the team. Send /help to see your commands."),
        "unsupported_language": _("This language is not supported."),
        "time_past": _(
            "⌛ That time has already passed. Send a time in the future, "
            "for example: tomorrow 10am, in 2 hours, friday 15:00."
        ),
        "time_unknown": _(
            "🤔 I couldn't understand the time. Try: tomorrow 10am, in 2 hours, friday 15:00, "
            "25.12 9:30 or 2026-12-25 14:00."
        ),
    }
    return texts.get(error.code, _("That didn't work. Please try again."))
