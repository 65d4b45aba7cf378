"""The contact log: /log (or the card's 📝 button) → kind → outcome → note (text or voice) → next
step; the card's 📜 History, paged, with voice notes played back on request."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChoiceCb, ClientCb
from bot.config import Settings
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.edit import edit_or_send
from bot.messages import error_text
from bot.views import interactions as views
from bot.views import reminders as reminder_views
from models.users import User
from services import interactions as service
from services import reminders as reminders_service
from services.access import visible_client
from services.clock import Clock
from services.errors import DomainError
from services.timeparse import split_when

STAFF = {"role": "staff"}
TEXT_INPUT = F.text & ~F.text.startswith("/")


class LogForm(StatesGroup):
    client = State()
    kind = State()
    outcome = State()
    note = State()
    next = State()
    next_what = State()


def tz_of(user: User, settings: Settings) -> str:
    return user.timezone or settings.default_timezone


def router() -> Router:
    r = Router(name="interactions")

    # --- choosing the client ---

    async def pick(
        message: Message, text: str, session: AsyncSession, user: User, settings: Settings
    ) -> None:
        clients = await service.pick_clients(session, user, text, settings.default_region)
        await message.answer(
            views.picked_text(clients), reply_markup=views.picked_markup(clients) if clients else None
        )

    @r.message(Command("log"), flags=STAFF)
    async def log_command(
        message: Message,
        command: CommandObject,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        settings: Settings,
    ) -> None:
        await begin_dialog(state, LogForm.client)
        if command.args and command.args.strip():
            await pick(message, command.args, session, user, settings)
            return
        await message.answer(views.ask_client_text())

    @r.message(LogForm.client, TEXT_INPUT, flags=STAFF)
    async def client_typed(message: Message, session: AsyncSession, user: User, settings: Settings) -> None:
        await pick(message, message.text or "", session, user, settings)

    @r.message(LogForm.client, ~F.text, flags=STAFF)
    async def client_not_text(message: Message) -> None:
        await message.answer(views.ask_client_text())

    @r.callback_query(ClientCb.filter(F.action == "log"), flags=STAFF)
    async def start_log(
        query: CallbackQuery, callback_data: ClientCb, state: FSMContext, session: AsyncSession, user: User
    ) -> None:
        try:
            client = await visible_client(session, user, callback_data.client_id)
        except DomainError as e:
            await query.answer(error_text(e), show_alert=True)
            return
        await begin_dialog(state, LogForm.kind, client_id=client.id, client_name=client.name)
        await query.message.answer(views.ask_kind_text(client), reply_markup=views.kind_markup())  # type: ignore[union-attr]
        await query.answer()

    # --- kind, outcome ---

    @r.callback_query(LogForm.kind, ChoiceCb.filter(F.step == views.STEP_KIND), flags=STAFF)
    async def kind_chosen(
        query: CallbackQuery, callback_data: ChoiceCb, state: FSMContext, session: AsyncSession
    ) -> None:
        try:
            kind = service.kind_of(callback_data.value)
        except DomainError as e:
            await query.answer(views.error_message(e), show_alert=True)
            return
        data = await state.get_data()
        await next_step(state, LogForm.outcome, kind=kind.value)
        await edit_or_send(
            query, views.ask_outcome_text(data.get("client_name", ""), kind), views.outcome_markup()
        )
        await query.answer()

    @r.callback_query(LogForm.outcome, ChoiceCb.filter(F.step == views.STEP_OUTCOME), flags=STAFF)
    async def outcome_chosen(
        query: CallbackQuery, callback_data: ChoiceCb, state: FSMContext, session: AsyncSession
    ) -> None:
        try:
            outcome = service.outcome_of(callback_data.value)
        except DomainError as e:
            await query.answer(views.error_message(e), show_alert=True)
            return
        data = await state.get_data()
        await next_step(state, LogForm.note, outcome=outcome.value)
        text = views.ask_note_text(data.get("client_name", ""), service.kind_of(data["kind"]), outcome)
        await edit_or_send(query, text, views.skip_markup(views.STEP_NOTE))
        await query.answer()

    # --- the note: text, a voice message, or skip ---

    async def to_next_step(
        message: Message, state: FSMContext, session: AsyncSession, **note: object
    ) -> None:
        await next_step(state, LogForm.next, **note)
        await message.answer(views.ask_next_text(), reply_markup=views.skip_markup(views.STEP_NEXT))

    @r.message(LogForm.note, TEXT_INPUT, flags=STAFF)
    async def note_typed(message: Message, state: FSMContext, session: AsyncSession) -> None:
        try:
            note = service.clean_note(message.text)
        except DomainError as e:
            await message.answer(views.error_message(e))
            return
        await to_next_step(message, state, session, note=note, voice=None)

    @r.message(LogForm.note, F.voice, flags=STAFF)
    async def note_voice(message: Message, state: FSMContext, session: AsyncSession) -> None:
        try:
            caption = service.clean_note(message.caption)
        except DomainError as e:
            await message.answer(views.error_message(e))
            return
        await to_next_step(message, state, session, note=caption, voice=message.voice.file_id)  # type: ignore[union-attr]

    @r.message(LogForm.note, ~F.text, flags=STAFF)
    async def note_other(message: Message) -> None:
        await message.answer(
            _("Please send the note as text or a voice message, or press Skip."),
            reply_markup=views.skip_markup(views.STEP_NOTE),
        )

    @r.callback_query(LogForm.note, ChoiceCb.filter(F.step == views.STEP_NOTE), flags=STAFF)
    async def note_skipped(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
        await next_step(state, LogForm.next, note=None, voice=None)
        await edit_or_send(query, views.ask_next_text(), views.skip_markup(views.STEP_NEXT))
        await query.answer()

    # --- the next step, then save ---

    async def save(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        next_step: service.NextStep | None,
    ) -> None:
        now = clock.now()
        data = await state.get_data()
        await end_dialog(state)
        try:
            logged = await service.log_contact(
                session,
                user,
                int(data["client_id"]),
                service.kind_of(data["kind"]),
                service.outcome_of(data["outcome"]),
                now,
                note=data.get("note"),
                voice_file_id=data.get("voice"),
                next_step=next_step,
            )
        except (KeyError, TypeError, ValueError):
            await message.answer(_("This dialog has expired. Start again from the client's card."))
            return
        except DomainError as e:
            await message.answer(error_text(e))
            return
        tz = tz_of(user, settings)
        await message.answer(
            views.saved_text(logged, tz, i18n.current_locale, now),
            reply_markup=views.saved_markup(logged.client),
        )

    @r.message(LogForm.next, TEXT_INPUT, flags=STAFF)
    async def next_typed(
        message: Message,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        now = clock.now()
        tz = tz_of(user, settings)
        try:
            due_at, rest = split_when(message.text or "", now, tz, i18n.current_locale)
            text = reminders_service.clean_text(rest) if rest else None
        except DomainError as e:
            await message.answer(reminder_views.error_message(e, tz, i18n.current_locale, now))
            return
        if text is None:
            await next_step(state, LogForm.next_what, next_due=due_at.isoformat())
            when = reminder_views.when_text(due_at, tz, i18n.current_locale, now)
            await message.answer(views.ask_next_what_text(when))
            return
        step = service.NextStep(text=text, due_at=due_at)
        await save(message, state, session, user, clock, settings, i18n, step)

    @r.message(LogForm.next_what, TEXT_INPUT, flags=STAFF)
    async def next_what_typed(
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
            await message.answer(reminder_views.error_message(e))
            return
        data = await state.get_data()
        try:
            due_at = datetime.fromisoformat(data["next_due"])
        except (KeyError, TypeError, ValueError):
            due_at = now
        if due_at <= now:
            await next_step(state, LogForm.next)
            await message.answer(reminder_views.error_message(DomainError("time_past")))
            return
        await save(message, state, session, user, clock, settings, i18n, service.NextStep(text, due_at))

    @r.message(LogForm.next, ~F.text, flags=STAFF)
    @r.message(LogForm.next_what, ~F.text, flags=STAFF)
    async def next_not_text(message: Message) -> None:
        await message.answer(_("Please send the next step as text, or press Skip."))

    @r.callback_query(LogForm.next, ChoiceCb.filter(F.step == views.STEP_NEXT), flags=STAFF)
    async def next_skipped(
        query: CallbackQuery,
        state: FSMContext,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        await edit_or_send(query, views.ask_next_text() + "\n" + _("Skipped."))
        await save(query.message, state, session, user, clock, settings, i18n, None)  # type: ignore[arg-type]
        await query.answer()

    @r.callback_query(ChoiceCb.filter(F.step == views.STEP_CANCEL), flags=STAFF)
    async def cancelled(query: CallbackQuery, state: FSMContext, session: AsyncSession) -> None:
        current = await state.get_state()
        if current is not None and current.startswith(LogForm.__name__):
            await end_dialog(state)
        await edit_or_send(query, _("Cancelled. Nothing was saved."))
        await query.answer()

    @r.callback_query(ChoiceCb.filter(F.step.in_(views.STEPS)), flags=STAFF)
    async def stale_step(query: CallbackQuery) -> None:
        await query.answer(_("This step is over. Start again from the client's card."), show_alert=True)

    # --- history and voice notes ---

    @r.callback_query(ClientCb.filter(F.action == "history"), flags=STAFF)
    async def show_history(
        query: CallbackQuery,
        callback_data: ClientCb,
        session: AsyncSession,
        user: User,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            hist = await service.history(session, user, callback_data.client_id, callback_data.page)
        except DomainError as e:
            await query.answer(error_text(e), show_alert=True)
            return
        tz = tz_of(user, settings)
        locale = i18n.current_locale
        await edit_or_send(
            query, views.history_text(hist, tz, locale), views.history_markup(hist, tz, locale)
        )
        await query.answer()

    @r.callback_query(ClientCb.filter(F.action == "voice"), flags=STAFF)
    async def play_voice(
        query: CallbackQuery,
        callback_data: ClientCb,
        session: AsyncSession,
        user: User,
        settings: Settings,
        i18n: I18n,
        bot: Bot,
    ) -> None:
        try:
            entry = await service.voice_of(session, user, callback_data.client_id, callback_data.arg)
            client = await visible_client(session, user, callback_data.client_id)
        except DomainError as e:
            await query.answer(error_text(e), show_alert=True)
            return
        caption = views.voice_caption(
            client.name, entry.occurred_at, tz_of(user, settings), i18n.current_locale
        )
        await bot.send_voice(query.from_user.id, entry.voice_file_id, caption=caption)  # type: ignore[arg-type]
        await query.answer()

    return r
