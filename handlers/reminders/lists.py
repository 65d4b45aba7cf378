"""/today (a manager's agenda; admins also see the leads waiting for an owner) and /overdue (admins)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.context import Ctx
from bot.views import customers as customer_views
from bot.views import reminders as views
from services import reminders as reminders_service
from services.access import sees_everything
from services.leads import waiting_count

STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}

router = Router(name="reminders.lists")


@router.message(Command("today"), flags=STAFF)
async def today(message: Message, ctx: Ctx) -> None:
    now = ctx.now()
    agenda = await reminders_service.agenda(ctx.session, ctx.user.id, now, ctx.tz)
    text = views.agenda_text(agenda, ctx.tz, ctx.locale, now)
    if sees_everything(ctx.user) and (waiting := await waiting_count(ctx.session)):
        text = f"{text}\n\n{customer_views.leads_waiting_line(waiting)}"
    await message.answer(text)


@router.message(Command("overdue"), flags=ADMIN)
async def overdue(message: Message, ctx: Ctx) -> None:
    hours = ctx.settings.overdue_after_hours
    report = await reminders_service.overdue_report(ctx.session, ctx.now(), hours)
    await message.answer(views.overdue_text(report, hours, ctx.tz, ctx.locale))
