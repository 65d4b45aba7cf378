"""The Mini App's words, through gettext like the bot's (call inside the request's locale)."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _


def labels() -> dict[str, str]:
    return {
        "title": _("CRM"),
        "board": _("📋 Board"),
        "clients": _("👥 Clients"),
        "today": _("📅 My day"),
        "mine": _("My deals"),
        "everyone": _("Everyone's deals"),
        "owner": _("Owner"),
        "anyone": _("Anyone"),
        "tag": _("Tag"),
        "apply": _("Apply"),
        "move": _("Move"),
        "move_to": _("Move to a stage"),
        "more_cards": _("and {n} more"),
        "no_step": _("no next step"),
        "empty_column": _("No deals"),
        "search": _("Name, phone, company or #tag"),
        "status": _("Status"),
        "any_status": _("Any status"),
        "segment": _("RFM segment"),
        "any_segment": _("Any segment"),
        "abc": _("ABC class"),
        "any_abc": _("Any class"),
        "stale": _("No contact for, days"),
        "nothing_found": _("Nothing found."),
        "loading": _("Loading…"),
        "never": _("never"),
        "last_contact": _("Last contact"),
        "log_contact": _("📞 Log contact"),
        "kind": _("How"),
        "outcome": _("Outcome"),
        "note": _("Note"),
        "next_step": _("Next step (optional)"),
        "next_when": _("When (e.g. tomorrow 10am)"),
        "save": _("Save"),
        "remind": _("⏰ Remind"),
        "remind_what": _("What"),
        "remind_when": _("When"),
        "deals": _("💼 Deals"),
        "no_deals": _("No deals yet."),
        "history": _("📜 History"),
        "no_history": _("Nothing logged yet."),
        "overdue": _("⚠️ Overdue"),
        "for_today": _("Today"),
        "tomorrow": _("Tomorrow"),
        "nothing_due": _("Nothing due. 🎉"),
        "done": _("✅ Done"),
        "s15": _("+15 min"),
        "s60": _("+1 hour"),
        "snooze_tomorrow": _("Tomorrow 9:00"),
        "lost_reason": _("Why was it lost?"),
        "cancel": _("Cancel"),
        "saved": _("Saved."),
        "moved": _("Moved."),
        "back": _("« Back"),
        "of_total": _("{shown} of {total}"),
    }


def auth_error(code: str) -> str:
    if code == "not_staff":
        return _("⛔ Not allowed. This is only for the company's staff.")
    if code == "expired":
        return _("This session has expired. Close the board and open it again from the bot.")
    return _("Open the board from the bot in Telegram.")


def reason_required() -> str:
    return _("Say why the deal was lost.")


def changed() -> str:
    return _("This deal has changed since the board was shown. Here it is now.")


def bad_input() -> str:
    return _("That didn't work. Please try again.")
