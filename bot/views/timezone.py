"""/timezone: the person's zone and local time, the common zones as buttons (handlers/timezone.py)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_datetime

from bot.callbacks import ChoiceCb
from bot.text import h
from services import timeparse

STEP = "tz"  # ChoiceCb.step of the zone buttons


def city_names() -> dict[str, str]:
    return {
        "Europe/Kaliningrad": _("Kaliningrad"),
        "Europe/Moscow": _("Moscow"),
        "Europe/Samara": _("Samara"),
        "Asia/Yekaterinburg": _("Yekaterinburg"),
        "Asia/Omsk": _("Omsk"),
        "Asia/Novosibirsk": _("Novosibirsk"),
        "Asia/Krasnoyarsk": _("Krasnoyarsk"),
        "Asia/Irkutsk": _("Irkutsk"),
        "Asia/Yakutsk": _("Yakutsk"),
        "Asia/Vladivostok": _("Vladivostok"),
        "Asia/Magadan": _("Magadan"),
        "Asia/Kamchatka": _("Kamchatka"),
    }


def zone_label(zone: str, now: datetime) -> str:
    """Like "Moscow (UTC+03:00)" or "Asia/Almaty (UTC+05:00)"; a bare offset is just "UTC+03:00"."""
    offset = "UTC" + timeparse.utc_offset(zone, now)
    if zone.startswith("Etc/") or zone == "UTC":
        return offset
    name = city_names().get(zone, zone)
    return f"{name} ({offset})"


def zones_markup(current: str, now: datetime) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    names = city_names()
    for zone in timeparse.COMMON_ZONES:
        offset = timeparse.utc_offset(zone, now).removesuffix(":00").replace("+0", "+")
        mark = "✓ " if zone == current else ""
        kb.button(text=f"{mark}{names[zone]} {offset}", callback_data=ChoiceCb(step=STEP, value=zone))
    kb.adjust(2)
    return kb.as_markup()


def current_text(zone: str, now: datetime, locale: str) -> str:
    local = format_datetime(now.astimezone(ZoneInfo(zone)), "EEE, d MMM, HH:mm", locale=locale)
    return _("🕒 Your time zone: {zone}. Your time now: {time}.").format(
        zone=f"<b>{h(zone_label(zone, now))}</b>", time=local
    )


def ask_text(zone: str, now: datetime, locale: str) -> str:
    return (
        current_text(zone, now, locale)
        + "\n\n"
        + _(
            "Choose yours below, or type a zone name (Asia/Almaty), a city (Новосибирск) "
            "or an offset from UTC (+3, UTC+5)."
        )
    )


def saved_text(zone: str, now: datetime, locale: str) -> str:
    return (
        _("✅ Time zone saved.")
        + "\n"
        + current_text(zone, now, locale)
        + "\n"
        + _("Reminders, /today and digests follow it.")
    )


def unknown_text() -> str:
    return _(
        "I don't know this time zone. Type a zone name like Europe/Moscow or Asia/Almaty, a city, "
        "or an offset like +3 or UTC+5. /cancel to keep the current one."
    )


def stale_button_text() -> str:
    return _("This button is no longer valid. Send /start to begin again.")
