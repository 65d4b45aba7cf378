"""The customer answers a survey: CSAT, then NPS, then a comment (or Skip)."""

from __future__ import annotations

from functools import partial

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import SurveyAction, SurveyCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog
from bot.edit import edit_or_send
from bot.views import surveys as views
from models.clients import Client
from models.surveys import Survey
from models.users import User
from services.errors import DomainError
from services.surveys import answers
from services.users import resolve_language

ANY = {"role": "any"}
SCORES = frozenset({SurveyAction.csat, SurveyAction.nps})

router = Router(name="surveys.answers")


class SurveyComment(StatesGroup):
    text = State()


def render_followup(i18n: I18n, default_language: str, owner: User, client: Client, survey: Survey) -> str:
    """The follow-up reminder is stored text: written in the owner's language, not the customer's."""
    with i18n.use_locale(resolve_language(owner, owner.tg_language, default_language)):
        return views.followup_text(client, survey)


def shows(query: CallbackQuery, markup: InlineKeyboardMarkup | None) -> bool:
    """Does the pressed message already have these buttons (so it shows this step)?"""
    if not isinstance(query.message, Message):
        return False
    current = query.message.reply_markup
    if current is None or markup is None:
        return current is None and markup is None
    return [[b.callback_data for b in row] for row in current.inline_keyboard] == [
        [b.callback_data for b in row] for row in markup.inline_keyboard
    ]


async def refuse(query: CallbackQuery, ctx: Ctx, e: DomainError, survey_id: int) -> None:
    """A refused press: say why; an expired survey says so in place of its buttons, and a second press
    shows the survey as it stands."""
    await query.answer(views.error(e), show_alert=True)
    if e.code == "survey_expired":
        await edit_or_send(query, views.expired_text(), None)
    elif e.code in ("survey_answered", "survey_order"):
        survey = await ctx.session.get(Survey, survey_id)
        if survey is not None and survey.chat_id == ctx.user.id:
            text, markup = views.step_of(survey)
            if not shows(query, markup):  # a message drawn before the last answer (another device)
                await edit_or_send(query, text, markup)


@router.callback_query(SurveyCb.filter(F.action.in_(SCORES)), flags=ANY)
async def score(query: CallbackQuery, callback_data: SurveyCb, ctx: Ctx) -> None:
    try:
        result = await answers.answer(
            ctx.session,
            ctx.user.id,
            callback_data.survey_id,
            callback_data.action,
            callback_data.score,
            ctx.now(),
            partial(render_followup, ctx.i18n, ctx.settings.default_language),
        )
    except DomainError as e:
        await refuse(query, ctx, e, callback_data.survey_id)
        return
    survey = result.survey
    if callback_data.action == SurveyAction.csat:
        text, markup = views.nps_question(survey)
    else:
        text, markup = views.comment_prompt(survey)
        message_id = query.message.message_id if query.message else 0
        await begin_dialog(ctx.state, SurveyComment.text, survey_id=survey.id, message_id=message_id)
    await edit_or_send(query, text, markup)
    await query.answer(_("Saved, thank you!"))


@router.callback_query(SurveyCb.filter(F.action == SurveyAction.skip), flags=ANY)
async def skip(query: CallbackQuery, callback_data: SurveyCb, ctx: Ctx) -> None:
    try:
        survey = await answers.finish(ctx.session, ctx.user.id, callback_data.survey_id, None, ctx.now())
    except DomainError as e:
        await refuse(query, ctx, e, callback_data.survey_id)
        return
    if (
        await ctx.state.get_state() == SurveyComment.text.state
        and (await ctx.state.get_data()).get("survey_id") == survey.id
    ):
        await end_dialog(ctx.state)
    await edit_or_send(query, views.thanks(survey), None)
    await query.answer()


@router.message(StateFilter(SurveyComment.text), F.text, ~F.text.startswith("/"), flags=ANY)
async def comment(message: Message, ctx: Ctx) -> None:
    data = await ctx.state.get_data()
    survey_id = int(data.get("survey_id") or 0)
    try:
        survey = await answers.finish(ctx.session, ctx.user.id, survey_id, message.text, ctx.now())
    except DomainError as e:
        if e.code in ("empty", "too_long"):  # the same question stays open
            await message.answer(views.error(e) + "\n" + _("Please write it again, shorter, or press Skip."))
            return
        await end_dialog(ctx.state)
        await message.answer(views.error(e))
        return
    await end_dialog(ctx.state)
    if message_id := int(data.get("message_id") or 0):  # the prompt loses its Skip button
        try:
            await ctx.bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=message_id)
        except TelegramBadRequest:
            pass
    await message.answer(views.thanks(survey))


@router.message(StateFilter(SurveyComment.text), ~F.text, flags=ANY)
async def comment_not_text(message: Message, ctx: Ctx) -> None:
    await message.answer(views.comment_not_text())
