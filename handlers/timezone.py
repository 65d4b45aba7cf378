"""/timezone: show the person's time zone and set it (a button, an IANA name, a city or "+3")."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChoiceCb
from bot.context import Ctx
from bot.dialogs import end_dialog, next_step
from bot.edit import edit_or_send
from bot.views import timezone as views
from services import timeparse
from services.errors import DomainError

STAFF = {"role": "staff"}


class TimezoneForm(StatesGroup):
    waiting = State()


router = Router(name="timezone")


async def save(ctx: Ctx, zone: str) -> str:
    """Store the zone (digests move with it) and say so, with the local time there."""
    now = ctx.now()
    zone = await timeparse.set_timezone(ctx.session, ctx.user, zone, now, ctx.settings.digest_hour)
    return views.saved_text(zone, now, ctx.locale)


async def leave_dialog(ctx: Ctx) -> None:
    if await ctx.state.get_state() == TimezoneForm.waiting.state:
        await end_dialog(ctx.state)


def without_args(message: Message, command: CommandObject) -> bool:
    return not command.args


@router.message(Command("timezone"), without_args, flags=STAFF)
async def show(message: Message, ctx: Ctx) -> None:
    """/timezone alone: the current zone, the common ones as buttons, and a wait for a typed one."""
    now = ctx.now()
    await next_step(ctx.state, TimezoneForm.waiting)
    await message.answer(
        views.ask_text(ctx.tz, now, ctx.locale), reply_markup=views.zones_markup(ctx.tz, now)
    )


@router.message(Command("timezone"), flags=STAFF)
async def set_from_command(message: Message, command: CommandObject, ctx: Ctx) -> None:
    """/timezone Asia/Almaty (or a city, or +3)."""
    try:
        zone = timeparse.zone_from_text(command.args or "")
    except DomainError:
        await next_step(ctx.state, TimezoneForm.waiting)
        await message.answer(views.unknown_text())
        return
    await leave_dialog(ctx)
    await message.answer(await save(ctx, zone))


@router.callback_query(ChoiceCb.filter(F.step == views.STEP), flags=STAFF)
async def chosen(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    if callback_data.value not in timeparse.COMMON_ZONES:
        await query.answer(views.stale_button_text(), show_alert=True)
        return
    await leave_dialog(ctx)
    text = await save(ctx, callback_data.value)
    await edit_or_send(query, text, views.zones_markup(ctx.user.timezone or "", ctx.now()))
    await query.answer(_("Saved."))


@router.message(TimezoneForm.waiting, F.text & ~F.text.startswith("/"), flags=STAFF)
async def typed(message: Message, ctx: Ctx) -> None:
    try:
        zone = timeparse.zone_from_text(message.text or "")
    except DomainError:
        await message.answer(views.unknown_text())
        return
    await end_dialog(ctx.state)
    await message.answer(await save(ctx, zone))


@router.message(TimezoneForm.waiting, ~F.text, flags=STAFF)
async def not_text(message: Message) -> None:
    await message.answer(views.unknown_text())
