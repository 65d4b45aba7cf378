"""/timezone: show the person's time zone and set it (a button, an IANA name, a city or "+3")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from babel.dates import format_datetime
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChoiceCb
from bot.config import Settings
from bot.dialogs import end_dialog, next_step
from bot.edit import edit_or_send
from bot.text import h
from models.users import User
from services import timeparse
from services.clock import Clock
from services.errors import DomainError

STAFF = {"role": "staff"}
STEP = "tz"


class TimezoneForm(StatesGroup):
    waiting = State()


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


def router() -> Router:
    r = Router(name="timezone")

    async def apply(
        session: AsyncSession, user: User, zone: str, clock: Clock, settings: Settings, i18n: I18n
    ) -> str:
        now = clock.now()
        zone = await timeparse.set_timezone(session, user, zone, now, settings.digest_hour)
        return (
            _("✅ Time zone saved.")
            + "\n"
            + current_text(zone, now, i18n.current_locale)
            + "\n"
            + _("Reminders, /today and digests follow it.")
        )

    @r.message(Command("timezone"), flags=STAFF)
    async def show(
        message: Message,
        command: CommandObject,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        if command.args:
            try:
                zone = timeparse.zone_from_text(command.args)
            except DomainError:
                await next_step(state, TimezoneForm.waiting)
                await message.answer(unknown_text())
                return
            if await state.get_state() == TimezoneForm.waiting.state:
                await end_dialog(state)
            await message.answer(await apply(session, user, zone, clock, settings, i18n))
            return
        now = clock.now()
        zone = user.timezone or settings.default_timezone
        await next_step(state, TimezoneForm.waiting)
        await message.answer(
            current_text(zone, now, i18n.current_locale)
            + "\n\n"
            + _(
                "Choose yours below, or type a zone name (Asia/Almaty), a city (Новосибирск) "
                "or an offset from UTC (+3, UTC+5)."
            ),
            reply_markup=zones_markup(zone, now),
        )

    @r.callback_query(ChoiceCb.filter(F.step == STEP), flags=STAFF)
    async def chosen(
        query: CallbackQuery,
        callback_data: ChoiceCb,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        if callback_data.value not in timeparse.COMMON_ZONES:
            await query.answer(
                _("This button is no longer valid. Send /start to begin again."), show_alert=True
            )
            return
        if await state.get_state() == TimezoneForm.waiting.state:
            await end_dialog(state)
        text = await apply(session, user, callback_data.value, clock, settings, i18n)
        await edit_or_send(query, text, zones_markup(user.timezone or "", clock.now()))
        await query.answer(_("Saved."))

    @r.message(TimezoneForm.waiting, F.text & ~F.text.startswith("/"), flags=STAFF)
    async def typed(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            zone = timeparse.zone_from_text(message.text or "")
        except DomainError:
            await message.answer(unknown_text())
            return
        await end_dialog(state)
        await message.answer(await apply(session, user, zone, clock, settings, i18n))

    @r.message(TimezoneForm.waiting, ~F.text, flags=STAFF)
    async def not_text(message: Message) -> None:
        await message.answer(unknown_text())

    return r


def unknown_text() -> str:
    return _(
        "I don't know this time zone. Type a zone name like Europe/Moscow or Asia/Almaty, a city, "
        "or an offset like +3 or UTC+5. /cancel to keep the current one."
    )
