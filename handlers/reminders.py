"""/remind (or the card's ⏰ button), the delivered reminder's buttons, /today and /overdue."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ClientCb, ReminderCb
from bot.config import Settings
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.edit import edit_or_send
from bot.messages import error_text
from bot.views import reminders as views
from models.clients import Client
from models.reminders import Reminder, ReminderStatus
from models.users import User
from services import reminders as reminders_service
from services.access import visible_client
from services.clock import Clock
from services.errors import DomainError, NotFound
from services.timeparse import split_when

STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}
TEXT_INPUT = F.text & ~F.text.startswith("/")


class RemindForm(StatesGroup):
    when = State()
    what = State()


def tz_of(user: User, settings: Settings) -> str:
    return user.timezone or settings.default_timezone


async def _client(session: AsyncSession, client_id: int | None) -> Client | None:
    return await session.get(Client, client_id) if client_id else None


def router() -> Router:
    r = Router(name="reminders")

    async def save(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        settings: Settings,
        i18n: I18n,
        now: datetime,
        due_at: datetime,
        text: str,
    ) -> None:
        """Create the reminder (the dialog's data says which client), confirm, end the dialog."""
        data = await state.get_data()
        client = None
        if data.get("client_id"):
            try:
                client = await visible_client(session, user, int(data["client_id"]))
            except DomainError as e:
                await end_dialog(state)
                await message.answer(error_text(e))
                return
        await end_dialog(state)
        reminder = await reminders_service.create(
            session, user.id, text, due_at, now, client_id=client.id if client else None
        )
        when = views.when_text(due_at, tz_of(user, settings), i18n.current_locale, now)
        await message.answer(
            views.created_text(reminder, client.name if client else None, when),
            reply_markup=views.created_markup(reminder),
        )

    async def take_when(
        message: Message,
        raw: str,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        """A time, maybe followed by the text. A bad time: say why and stay on this step."""
        now = clock.now()
        tz = tz_of(user, settings)
        try:
            due_at, rest = split_when(raw, now, tz, i18n.current_locale)
        except DomainError as e:
            await next_step(state, RemindForm.when)
            await message.answer(views.error_message(e, tz, i18n.current_locale))
            return
        data = await state.get_data()
        text = rest or data.get("text") or ""
        if text:
            try:
                text = reminders_service.clean_text(text)
            except DomainError as e:
                await next_step(state, RemindForm.what, due_at=due_at.isoformat(), text=None)
                await message.answer(views.error_message(e))
                return
            await save(message, state, session, user, settings, i18n, now, due_at, text)
            return
        await next_step(state, RemindForm.what, due_at=due_at.isoformat())
        await message.answer(views.ask_what_text(views.when_text(due_at, tz, i18n.current_locale, now)))

    @r.message(Command("remind"), flags=STAFF)
    async def remind(
        message: Message,
        command: CommandObject,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        await begin_dialog(state, RemindForm.when)
        args = (command.args or "").strip()
        if not args:
            await message.answer(views.ask_when_text(None))
            return
        await take_when(message, args, state, session, user, clock, settings, i18n)

    @r.callback_query(ClientCb.filter(F.action == "remind"), flags=STAFF)
    async def remind_from_card(
        query: CallbackQuery, callback_data: ClientCb, state: FSMContext, session: AsyncSession, user: User
    ) -> None:
        try:
            client = await visible_client(session, user, callback_data.client_id)
        except DomainError as e:
            await query.answer(error_text(e), show_alert=True)
            return
        await begin_dialog(state, RemindForm.when, client_id=client.id)
        await query.message.answer(views.ask_when_text(client.name))  # type: ignore[union-attr]
        await query.answer()

    @r.message(RemindForm.when, TEXT_INPUT, flags=STAFF)
    async def got_when(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        await take_when(message, message.text or "", state, session, user, clock, settings, i18n)

    @r.message(RemindForm.what, TEXT_INPUT, flags=STAFF)
    async def got_what(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        now = clock.now()
        try:
            text = reminders_service.clean_text(message.text or "")
        except DomainError as e:
            await message.answer(views.error_message(e))
            return
        data = await state.get_data()
        try:
            due_at = datetime.fromisoformat(data["due_at"])
        except (KeyError, TypeError, ValueError):
            due_at = None
        if due_at is None or due_at <= now:
            # the time passed while they were typing: ask for it again, keep the text
            await next_step(state, RemindForm.when, text=text)
            await message.answer(views.error_message(DomainError("time_past")))
            return
        await save(message, state, session, user, settings, i18n, now, due_at, text)

    @r.message(RemindForm.when, ~F.text, flags=STAFF)
    async def when_not_text(message: Message) -> None:
        await message.answer(_("Please send the time as text.") + "\n" + views.examples())

    @r.message(RemindForm.what, ~F.text, flags=STAFF)
    async def what_not_text(message: Message) -> None:
        await message.answer(_("Please send the reminder text as a message. /cancel to stop."))

    # --- the buttons of a delivered (or just created) reminder ---

    async def show(
        query: CallbackQuery,
        session: AsyncSession,
        reminder: Reminder,
        settings: Settings,
        user: User,
        i18n: I18n,
        now: datetime,
    ) -> None:
        """The message as it should look now: done, cancelled, or moved to its current time."""
        client = await _client(session, reminder.client_id)
        name = client.name if client else None
        if reminder.status == ReminderStatus.done:
            text = views.done_text(reminder, name)
        elif reminder.status == ReminderStatus.cancelled:
            text = views.cancelled_text(reminder, name)
        else:
            when = views.when_text(reminder.due_at, tz_of(user, settings), i18n.current_locale, now)
            text = views.snoozed_text(reminder, name, when)
        markup = views.client_only_markup(reminder, client.version if client else 0)
        await edit_or_send(query, text, markup)

    async def refused(
        query: CallbackQuery,
        e: DomainError,
        session: AsyncSession,
        user: User,
        settings: Settings,
        i18n: I18n,
        now: datetime,
        reminder_id: int,
    ) -> None:
        if isinstance(e, NotFound):
            await query.answer(error_text(e), show_alert=True)
            return
        tz = tz_of(user, settings)
        await query.answer(views.error_message(e, tz, i18n.current_locale, now))
        try:
            reminder = await reminders_service.visible_reminder(session, user, reminder_id)
        except DomainError:
            return
        await show(query, session, reminder, settings, user, i18n, now)

    @r.callback_query(ReminderCb.filter(F.action.in_({"done", "cancel"})), flags=STAFF)
    async def finish(
        query: CallbackQuery,
        callback_data: ReminderCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        now = clock.now()
        action = reminders_service.mark_done if callback_data.action == "done" else reminders_service.cancel
        try:
            reminder = await action(session, user, callback_data.reminder_id, now)
        except DomainError as e:
            await refused(query, e, session, user, settings, i18n, now, callback_data.reminder_id)
            return
        await show(query, session, reminder, settings, user, i18n, now)
        await query.answer(_("Done.") if callback_data.action == "done" else _("Cancelled."))

    @r.callback_query(ReminderCb.filter(F.action.in_({"s15", "s60", "tomorrow"})), flags=STAFF)
    async def snooze(
        query: CallbackQuery,
        callback_data: ReminderCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        now = clock.now()
        tz = tz_of(user, settings)
        due_at = reminders_service.snooze_until(callback_data.action, now, tz)
        try:
            reminder = await reminders_service.reschedule(
                session, user, callback_data.reminder_id, due_at, now, version=callback_data.version
            )
        except DomainError as e:
            await refused(query, e, session, user, settings, i18n, now, callback_data.reminder_id)
            return
        await show(query, session, reminder, settings, user, i18n, now)
        when = views.when_text(reminder.due_at, tz, i18n.current_locale, now)
        await query.answer(_("Moved to {when}.").format(when=when))

    # --- lists ---

    @r.message(Command("today"), flags=STAFF)
    async def today(
        message: Message, session: AsyncSession, user: User, clock: Clock, settings: Settings, i18n: I18n
    ) -> None:
        now = clock.now()
        tz = tz_of(user, settings)
        agenda = await reminders_service.agenda(session, user.id, now, tz)
        await message.answer(views.agenda_text(agenda, tz, i18n.current_locale, now))

    @r.message(Command("overdue"), flags=ADMIN)
    async def overdue(
        message: Message, session: AsyncSession, user: User, clock: Clock, settings: Settings, i18n: I18n
    ) -> None:
        hours = settings.overdue_after_hours
        report = await reminders_service.overdue_report(session, clock.now(), hours)
        await message.answer(views.overdue_text(report, hours, tz_of(user, settings), i18n.current_locale))

    return r
