"""Surveys: the customer's answers (score buttons, the comment or Skip), /surveys figures for staff
(managers their own, admins everyone's and per manager) and the admins' settings (on/off, delay)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChoiceCb, SurveyCb
from bot.config import Settings
from bot.dialogs import begin_dialog, end_dialog
from bot.edit import edit_or_send
from bot.views import surveys as views
from models.clients import Client
from models.surveys import Survey
from models.users import User
from services import surveys as surveys_service
from services.access import sees_everything
from services.clock import Clock
from services.errors import DomainError
from services.users import resolve_language

ANY = {"role": "any"}
STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}
SCORE_ACTIONS = frozenset({"csat", "nps"})


class SurveyComment(StatesGroup):
    text = State()


class SurveyDelay(StatesGroup):
    delay = State()


def followup_renderer(i18n: I18n, settings: Settings) -> surveys_service.FollowupText:
    """The follow-up reminder is stored text: written in the owner's language, not the customer's."""

    def render(owner: User, client: Client, survey: Survey) -> str:
        with i18n.use_locale(resolve_language(owner, owner.tg_language, settings.default_language)):
            return views.followup_text(client, survey)

    return render


async def refuse(
    query: CallbackQuery, session: AsyncSession, user: User, e: DomainError, survey_id: int
) -> None:
    """A refused press: say why; an expired survey says so in place of its buttons, and a second press
    shows the survey as it stands."""
    await query.answer(views.error(e), show_alert=True)
    if e.code == "survey_expired":
        await edit_or_send(query, views.expired_text(), None)
    elif e.code in ("survey_answered", "survey_order"):
        survey = await session.get(Survey, survey_id)
        if survey is not None and survey.chat_id == user.id:
            text, markup = views.step_of(survey)
            if not _shows(query, markup):  # a message drawn before the last answer (another device)
                await edit_or_send(query, text, markup)


def _shows(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> bool:
    """Does the pressed message already have these buttons (so it shows this step)?"""
    if not isinstance(query.message, Message):
        return False
    current = query.message.reply_markup
    if current is None or markup is None:
        return current is None and markup is None
    return [[b.callback_data for b in row] for row in current.inline_keyboard] == [
        [b.callback_data for b in row] for row in markup.inline_keyboard
    ]


async def stats_view(
    session: AsyncSession,
    user: User,
    clock: Clock,
    settings: Settings,
    i18n: I18n,
    manager_id: int,
    page: int,
) -> tuple[str, InlineKeyboardMarkup | None]:
    stats = await surveys_service.stats(session, user, clock.now(), manager_id=manager_id or None, page=page)
    admin = sees_everything(user)
    everyone = admin and stats.manager is None
    tz = user.timezone or settings.default_timezone
    text = views.stats_text(stats, user, tz, i18n.current_locale, everyone=everyone)
    return text, views.stats_keyboard(stats, admin=admin, everyone=everyone)


async def settings_view(session: AsyncSession, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    rules = await surveys_service.settings(session)
    return views.settings_text(rules, locale), views.settings_keyboard(rules)


def router() -> Router:
    r = Router(name="surveys")

    # --- the customer answers ---

    @r.callback_query(SurveyCb.filter(F.action.in_(SCORE_ACTIONS)), flags=ANY)
    async def score(
        query: CallbackQuery,
        callback_data: SurveyCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            result = await surveys_service.answer(
                session,
                user.id,
                callback_data.survey_id,
                callback_data.action,
                callback_data.score,
                clock.now(),
                followup_renderer(i18n, settings),
            )
        except DomainError as e:
            await refuse(query, session, user, e, callback_data.survey_id)
            return
        survey = result.survey
        if callback_data.action == "csat":
            text, markup = views.nps_question(survey)
        else:
            text, markup = views.comment_prompt(survey)
            message_id = query.message.message_id if query.message else 0
            await begin_dialog(state, SurveyComment.text, survey_id=survey.id, message_id=message_id)
        await edit_or_send(query, text, markup)
        await query.answer(_("Saved, thank you!"))

    @r.callback_query(SurveyCb.filter(F.action == "skip"), flags=ANY)
    async def skip(
        query: CallbackQuery,
        callback_data: SurveyCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
    ) -> None:
        try:
            survey = await surveys_service.finish(
                session, user.id, callback_data.survey_id, None, clock.now()
            )
        except DomainError as e:
            await refuse(query, session, user, e, callback_data.survey_id)
            return
        if (
            await state.get_state() == SurveyComment.text.state
            and (await state.get_data()).get("survey_id") == survey.id
        ):
            await end_dialog(state)
        await edit_or_send(query, views.thanks(survey), None)
        await query.answer()

    @r.message(StateFilter(SurveyComment.text), F.text, ~F.text.startswith("/"), flags=ANY)
    async def comment(
        message: Message, bot: Bot, session: AsyncSession, user: User, state: FSMContext, clock: Clock
    ) -> None:
        data = await state.get_data()
        survey_id = int(data.get("survey_id") or 0)
        try:
            survey = await surveys_service.finish(session, user.id, survey_id, message.text, clock.now())
        except DomainError as e:
            if e.code in ("empty", "too_long"):  # the same question stays open
                await message.answer(
                    views.error(e) + "\n" + _("Please write it again, shorter, or press Skip.")
                )
                return
            await end_dialog(state)
            await message.answer(views.error(e))
            return
        await end_dialog(state)
        if message_id := int(data.get("message_id") or 0):  # the prompt loses its Skip button
            try:
                await bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=message_id)
            except TelegramBadRequest:
                pass
        await message.answer(views.thanks(survey))

    @r.message(StateFilter(SurveyComment.text), ~F.text, flags=ANY)
    async def comment_not_text(message: Message) -> None:
        await message.answer(views.comment_not_text())

    # --- /surveys: the figures ---

    @r.message(Command("surveys"), flags=STAFF)
    async def surveys_command(
        message: Message, session: AsyncSession, user: User, clock: Clock, settings: Settings, i18n: I18n
    ) -> None:
        text, markup = await stats_view(session, user, clock, settings, i18n, 0, 0)
        await message.answer(text, reply_markup=markup)

    @r.callback_query(SurveyCb.filter(F.action == "stats"), flags=STAFF)
    async def stats_button(
        query: CallbackQuery,
        callback_data: SurveyCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            text, markup = await stats_view(
                session, user, clock, settings, i18n, callback_data.arg, callback_data.page
            )
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        await edit_or_send(query, text, markup)
        await query.answer()

    # --- settings (admins) ---

    @r.callback_query(SurveyCb.filter(F.action == "settings"), flags=ADMIN)
    async def settings_button(query: CallbackQuery, session: AsyncSession, i18n: I18n) -> None:
        text, markup = await settings_view(session, i18n.current_locale)
        await edit_or_send(query, text, markup)
        await query.answer()

    @r.callback_query(SurveyCb.filter(F.action.in_({"on", "off"})), flags=ADMIN)
    async def toggle(
        query: CallbackQuery,
        callback_data: SurveyCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        i18n: I18n,
    ) -> None:
        try:
            trigger = surveys_service.trigger_of(callback_data.trigger)
            await surveys_service.set_enabled(
                session, user, trigger, callback_data.action == "on", clock.now()
            )
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
        else:
            await query.answer(_("✅ Saved."))
        text, markup = await settings_view(session, i18n.current_locale)
        if not _shows(query, markup):  # the settings as they are now, unless already on screen
            await edit_or_send(query, text, markup)

    @r.callback_query(SurveyCb.filter(F.action == "delay"), flags=ADMIN)
    async def delay_button(
        query: CallbackQuery, callback_data: SurveyCb, session: AsyncSession, state: FSMContext, i18n: I18n
    ) -> None:
        try:
            trigger = surveys_service.trigger_of(callback_data.trigger)
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        rule = await surveys_service.setting(session, trigger)
        await begin_dialog(state, SurveyDelay.delay, trigger=trigger.value)
        await query.answer()
        if isinstance(query.message, Message):
            text, markup = views.delay_prompt(rule, i18n.current_locale)
            await query.message.answer(text, reply_markup=markup)

    @r.callback_query(ChoiceCb.filter(F.step == views.DELAY_STEP), flags=ADMIN)
    async def delay_choice(query: CallbackQuery, callback_data: ChoiceCb, state: FSMContext) -> None:
        if await state.get_state() != SurveyDelay.delay.state or callback_data.value != "cancel":
            await query.answer(_("This button is from a step that is already over."), show_alert=True)
            return
        await end_dialog(state)
        await query.answer()
        if isinstance(query.message, Message):
            try:
                await query.message.edit_reply_markup(reply_markup=None)
            except TelegramBadRequest:
                pass
            await query.message.answer(_("Cancelled. Nothing was saved."))

    @r.message(StateFilter(SurveyDelay.delay), F.text, ~F.text.startswith("/"), flags=ADMIN)
    async def delay_text(
        message: Message, session: AsyncSession, user: User, state: FSMContext, clock: Clock, i18n: I18n
    ) -> None:
        locale = i18n.current_locale
        try:
            trigger = surveys_service.trigger_of(str((await state.get_data()).get("trigger", "")))
        except DomainError as e:
            await end_dialog(state)
            await message.answer(views.error(e))
            return
        try:
            minutes = surveys_service.parse_delay(message.text or "")
            rule = await surveys_service.set_delay(session, user, trigger, minutes, clock.now())
        except DomainError as e:
            text, markup = views.delay_prompt(await surveys_service.setting(session, trigger), locale)
            await message.answer(f"{views.error(e)}\n\n{text}", reply_markup=markup)
            return
        await end_dialog(state)
        text, markup = await settings_view(session, locale)
        await message.answer(f"{views.delay_saved(rule, locale)}\n\n{text}", reply_markup=markup)

    @r.message(StateFilter(SurveyDelay.delay), ~F.text, flags=ADMIN)
    async def delay_not_text(message: Message, session: AsyncSession, state: FSMContext, i18n: I18n) -> None:
        try:
            trigger = surveys_service.trigger_of(str((await state.get_data()).get("trigger", "")))
        except DomainError as e:
            await end_dialog(state)
            await message.answer(views.error(e))
            return
        text, markup = views.delay_prompt(
            await surveys_service.setting(session, trigger), i18n.current_locale
        )
        problem = _("Please answer with text (or use the buttons).")
        await message.answer(f"{problem}\n\n{text}", reply_markup=markup)

    @r.callback_query(SurveyCb.filter(), flags=ANY)
    async def unknown_survey_button(query: CallbackQuery) -> None:
        await query.answer(_("This button is no longer valid. Send /start to begin again."), show_alert=True)

    return r
