"""The admins' survey settings: each trigger on or off, and its delay (a short dialog)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChoiceCb, SurveyAction, SurveyCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog
from bot.edit import edit_or_send
from bot.views import surveys as views
from handlers.surveys.answers import shows
from models.surveys import SurveyTrigger
from services.errors import DomainError
from services.surveys import triggers

ADMIN = {"role": "admin"}
TOGGLES = frozenset({SurveyAction.on, SurveyAction.off})

router = Router(name="surveys.settings")


class SurveyDelay(StatesGroup):
    delay = State()


async def settings_view(ctx: Ctx) -> tuple[str, InlineKeyboardMarkup]:
    rules = await triggers.settings(ctx.session)
    return views.settings_text(rules, ctx.locale), views.settings_keyboard(rules)


async def dialog_trigger(message: Message, ctx: Ctx) -> SurveyTrigger | None:
    """The trigger the delay dialog is about; a broken dialog ends (and says so)."""
    try:
        return triggers.trigger_of(str((await ctx.state.get_data()).get("trigger", "")))
    except DomainError as e:
        await end_dialog(ctx.state)
        await message.answer(views.error(e))
        return None


@router.callback_query(SurveyCb.filter(F.action == SurveyAction.settings), flags=ADMIN)
async def settings_button(query: CallbackQuery, ctx: Ctx) -> None:
    text, markup = await settings_view(ctx)
    await edit_or_send(query, text, markup)
    await query.answer()


@router.callback_query(SurveyCb.filter(F.action.in_(TOGGLES)), flags=ADMIN)
async def toggle(query: CallbackQuery, callback_data: SurveyCb, ctx: Ctx) -> None:
    try:
        trigger = triggers.trigger_of(callback_data.trigger)
        on = callback_data.action == SurveyAction.on
        await triggers.set_enabled(ctx.session, ctx.user, trigger, on, ctx.now())
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
    else:
        await query.answer(_("✅ Saved."))
    text, markup = await settings_view(ctx)
    if not shows(query, markup):  # the settings as they are now, unless already on screen
        await edit_or_send(query, text, markup)


@router.callback_query(SurveyCb.filter(F.action == SurveyAction.delay), flags=ADMIN)
async def delay_button(query: CallbackQuery, callback_data: SurveyCb, ctx: Ctx) -> None:
    try:
        trigger = triggers.trigger_of(callback_data.trigger)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    rule = await triggers.setting(ctx.session, trigger)
    await begin_dialog(ctx.state, SurveyDelay.delay, trigger=trigger.value)
    await query.answer()
    if isinstance(query.message, Message):
        text, markup = views.delay_prompt(rule, ctx.locale)
        await query.message.answer(text, reply_markup=markup)


@router.callback_query(ChoiceCb.filter(F.step == views.DELAY_STEP), flags=ADMIN)
async def delay_choice(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    if await ctx.state.get_state() != SurveyDelay.delay.state or callback_data.value != "cancel":
        await query.answer(_("This button is from a step that is already over."), show_alert=True)
        return
    await end_dialog(ctx.state)
    await query.answer()
    if isinstance(query.message, Message):
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest:
            pass
        await query.message.answer(_("Cancelled. Nothing was saved."))


@router.message(StateFilter(SurveyDelay.delay), F.text, ~F.text.startswith("/"), flags=ADMIN)
async def delay_text(message: Message, ctx: Ctx) -> None:
    trigger = await dialog_trigger(message, ctx)
    if trigger is None:
        return
    try:
        minutes = triggers.parse_delay(message.text or "")
        rule = await triggers.set_delay(ctx.session, ctx.user, trigger, minutes, ctx.now())
    except DomainError as e:
        text, markup = views.delay_prompt(await triggers.setting(ctx.session, trigger), ctx.locale)
        await message.answer(f"{views.error(e)}\n\n{text}", reply_markup=markup)
        return
    await end_dialog(ctx.state)
    text, markup = await settings_view(ctx)
    await message.answer(f"{views.delay_saved(rule, ctx.locale)}\n\n{text}", reply_markup=markup)


@router.message(StateFilter(SurveyDelay.delay), ~F.text, flags=ADMIN)
async def delay_not_text(message: Message, ctx: Ctx) -> None:
    trigger = await dialog_trigger(message, ctx)
    if trigger is None:
        return
    text, markup = views.delay_prompt(await triggers.setting(ctx.session, trigger), ctx.locale)
    problem = _("Please answer with text (or use the buttons).")
    await message.answer(f"{problem}\n\n{text}", reply_markup=markup)
