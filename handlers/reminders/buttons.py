"""The buttons of a delivered (or just created) reminder: done, cancel, and the snoozes."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ReminderAction, ReminderCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.messages import error_text
from bot.views import reminders as views
from models.clients import Client
from models.reminders import Reminder, ReminderStatus
from services import reminders as reminders_service
from services.errors import DomainError, NotFound

STAFF = {"role": "staff"}
SNOOZES = frozenset({ReminderAction.s15, ReminderAction.s60, ReminderAction.tomorrow})

router = Router(name="reminders.buttons")


async def show(query: CallbackQuery, ctx: Ctx, reminder: Reminder) -> None:
    """The message as it should look now: done, cancelled, or moved to its current time."""
    client = await ctx.session.get(Client, reminder.client_id) if reminder.client_id else None
    name = client.name if client else None
    if reminder.status == ReminderStatus.done:
        text = views.done_text(reminder, name)
    elif reminder.status == ReminderStatus.cancelled:
        text = views.cancelled_text(reminder, name)
    else:
        when = views.when_text(reminder.due_at, ctx.tz, ctx.locale, ctx.now())
        text = views.snoozed_text(reminder, name, when)
    markup = views.client_only_markup(reminder, client.version if client else 0)
    await edit_or_send(query, text, markup)


async def refused(query: CallbackQuery, ctx: Ctx, e: DomainError, reminder_id: int) -> None:
    """Say why; unless the reminder is gone, show it as it stands now."""
    if isinstance(e, NotFound):
        await query.answer(error_text(e), show_alert=True)
        return
    await query.answer(views.error_message(e, ctx.tz, ctx.locale, ctx.now()))
    try:
        reminder = await reminders_service.visible_reminder(ctx.session, ctx.user, reminder_id)
    except DomainError:
        return
    await show(query, ctx, reminder)


@router.callback_query(ReminderCb.filter(F.action == ReminderAction.done), flags=STAFF)
async def done(query: CallbackQuery, callback_data: ReminderCb, ctx: Ctx) -> None:
    try:
        reminder = await reminders_service.mark_done(
            ctx.session, ctx.user, callback_data.reminder_id, ctx.now()
        )
    except DomainError as e:
        await refused(query, ctx, e, callback_data.reminder_id)
        return
    await show(query, ctx, reminder)
    await query.answer(_("Done."))


@router.callback_query(ReminderCb.filter(F.action == ReminderAction.cancel), flags=STAFF)
async def cancel(query: CallbackQuery, callback_data: ReminderCb, ctx: Ctx) -> None:
    try:
        reminder = await reminders_service.cancel(ctx.session, ctx.user, callback_data.reminder_id, ctx.now())
    except DomainError as e:
        await refused(query, ctx, e, callback_data.reminder_id)
        return
    await show(query, ctx, reminder)
    await query.answer(_("Cancelled."))


@router.callback_query(ReminderCb.filter(F.action.in_(SNOOZES)), flags=STAFF)
async def snooze(query: CallbackQuery, callback_data: ReminderCb, ctx: Ctx) -> None:
    now = ctx.now()
    due_at = reminders_service.snooze_until(callback_data.action, now, ctx.tz)
    try:
        reminder = await reminders_service.reschedule(
            ctx.session, ctx.user, callback_data.reminder_id, due_at, now, version=callback_data.version
        )
    except DomainError as e:
        await refused(query, ctx, e, callback_data.reminder_id)
        return
    await show(query, ctx, reminder)
    when = views.when_text(reminder.due_at, ctx.tz, ctx.locale, now)
    await query.answer(_("Moved to {when}.").format(when=when))
