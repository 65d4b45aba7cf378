"""What the deal handlers share: the dialog states, each step's question, and drawing a deal card."""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChoiceCb, PipelineScope
from bot.context import Ctx
from bot.dialogs import OnStep
from bot.edit import edit_or_send
from bot.text import h
from bot.views import deals as views
from services.access import sees_everything
from services.deals import reading
from services.errors import DomainError

STAFF = {"role": "staff"}
TYPED = (F.text, ~F.text.startswith("/"))  # a typed answer, not a command


class NewDeal(StatesGroup):
    client = State()
    title = State()
    amount = State()
    stage = State()
    close = State()
    step = State()
    when = State()


class DealInput(StatesGroup):
    lost_reason = State()
    title = State()
    amount = State()
    close = State()


# Each dialog step's buttons carry the step's name: a button from a step already over is refused.
STEP = {
    NewDeal.client.state: "nd.client",
    NewDeal.title.state: "nd.title",
    NewDeal.amount.state: "nd.amount",
    NewDeal.stage.state: "nd.stage",
    NewDeal.close.state: "nd.close",
    NewDeal.step.state: "nd.step",
    NewDeal.when.state: "nd.when",
    DealInput.lost_reason.state: "dl.reason",
    DealInput.title.state: "de.title",
    DealInput.amount.state: "de.amount",
    DealInput.close.state: "de.close",
}
STEP_NAMES = frozenset(STEP.values())
# Refusals after which the card on screen is out of date and is drawn again.
REDRAW = frozenset({"deal_changed", "deal_same_stage"})


def step_button(state: State, value: str | None = None) -> Any:
    """The filter of a button of one dialog step (any value but Cancel, or exactly `value`)."""
    name = STEP[state.state or ""]
    if value is None:
        return ChoiceCb.filter((F.step == name) & (F.value != "cancel"))
    return ChoiceCb.filter((F.step == name) & (F.value == value))


on_current_step = OnStep(STEP)  # a filter: the button is of the step the dialog is at


def scope_for(ctx: Ctx, wanted: PipelineScope) -> PipelineScope:
    """Admins may look at everyone's deals; anyone else sees their own whatever they ask."""
    if wanted == PipelineScope.all and sees_everything(ctx.user):
        return PipelineScope.all
    return PipelineScope.mine


def new_deal_prompt(state: str, data: dict[str, Any], ctx: Ctx) -> tuple[str, InlineKeyboardMarkup]:
    """The question of a step of the new-deal dialog and its buttons."""
    settings = ctx.settings
    step = STEP[state]
    keyboard = views.dialog_keyboard(step)
    if state == NewDeal.client.state:
        text = _("💼 New deal. Which client is it with? Type a part of their name or company.")
        keyboard = views.dialog_keyboard(step, skip=False)
    elif state == NewDeal.title.state:
        text = _(
            "💼 New deal with <b>{client}</b>.\nWhat is it called? Up to 200 characters, "
            "e.g. “Website redesign”."
        ).format(client=h(data.get("client_name", "")))
        keyboard = views.dialog_keyboard(step, skip=False)
    elif state == NewDeal.amount.state:
        text = _(
            "Amount and currency? For example: 150000, 150 000 ₽, 1 500,50 USD, $2,000. "
            "Without a currency it is {currency}."
        ).format(currency=settings.default_currency)
    elif state == NewDeal.stage.state:
        text = _("Stage? Skip: {stage}.").format(stage=h(views.stage_name(settings.deal_stages[0])))
        keyboard = views.stage_choice_keyboard(step, settings.deal_stages)
    elif state == NewDeal.close.state:
        text = _("Expected close date? For example: 25.12.2026, 2026-12-25, tomorrow, in 2 weeks.")
    elif state == NewDeal.step.state:
        text = _(
            "Next step: what will you do? For example: “Send the proposal”. "
            "You can start with the time: “tomorrow at 10 call back”."
        )
    else:
        text = _("When? For example: tomorrow at 10, 25.12 15:00, friday. I'll remind you then.")
    return text, keyboard


def input_prompt(state: str, data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    """The question of a typed change of an existing deal (lost reason, title, amount, close date)."""
    step = STEP[state]
    if state == DealInput.lost_reason.state:
        text = _("Why was <b>{title}</b> lost? A few words for the history.").format(
            title=h(data.get("title", ""))
        )
        return text, views.dialog_keyboard(step, skip=False)
    if state == DealInput.title.state:
        text = _("New title for <b>{title}</b>? Up to 200 characters.").format(title=h(data.get("title", "")))
        return text, views.dialog_keyboard(step, skip=False)
    keyboard = views.dialog_keyboard(step, skip=False, extra=[(_("Remove"), "clear")])
    if state == DealInput.amount.state:
        text = _(
            "New amount and currency? Now: {amount}. For example: 150 000 ₽, 1 500,50 USD, $2,000."
        ).format(amount=data.get("now", "—"))
    else:
        text = _("New expected close date? Now: {date}. For example: 25.12.2026, tomorrow.").format(
            date=data.get("now", "—")
        )
    return text, keyboard


def prompt(state: str, data: dict[str, Any], ctx: Ctx) -> tuple[str, InlineKeyboardMarkup]:
    """The question of a dialog step and its buttons."""
    if state in (s.state for s in NewDeal.__states__):
        return new_deal_prompt(state, data, ctx)
    return input_prompt(state, data)


async def ask(message: Message, ctx: Ctx, new_state: State, note: str = "") -> None:
    await ctx.state.set_state(new_state)
    text, markup = prompt(new_state.state or "", await ctx.state.get_data(), ctx)
    await message.answer(f"{note}\n\n{text}" if note else text, reply_markup=markup)


async def repeat(message: Message, ctx: Ctx, problem: str) -> None:
    """Bad input: say what was wrong and ask the same question again."""
    current = await ctx.state.get_state()
    if current not in STEP:
        await message.answer(problem)
        return
    text, markup = prompt(current, await ctx.state.get_data(), ctx)
    await message.answer(f"{problem}\n\n{text}", reply_markup=markup)


async def draw_card(ctx: Ctx, deal_id: int) -> tuple[str, InlineKeyboardMarkup]:
    card = await reading.card(ctx.session, ctx.user, deal_id)
    text = views.card_text(card, ctx.tz, ctx.locale, show_owner=sees_everything(ctx.user))
    return text, views.card_keyboard(card.deal, card.client, ctx.settings.deal_stages)


async def send_card(message: Message, ctx: Ctx, deal_id: int, note: str = "") -> None:
    text, markup = await draw_card(ctx, deal_id)
    await message.answer(f"{note}\n\n{text}" if note else text, reply_markup=markup)


async def refuse(query: CallbackQuery, ctx: Ctx, e: DomainError, deal_id: int) -> None:
    """Say why an action was refused; a card that is out of date is drawn again as it is now."""
    await query.answer(views.error(e), show_alert=True)
    if e.code in REDRAW:
        try:
            text, markup = await draw_card(ctx, deal_id)
        except DomainError:
            return
        await edit_or_send(query, text, markup)
