"""The new-deal dialog: /newdeal (or "New deal" on a client card) → client → title → amount → stage →
expected close → next step → when. The deal and its next step's reminder are saved together."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardAction, ChoiceCb, ClientCb
from bot.context import Ctx
from bot.dialogs import close_prompt
from bot.text import h
from bot.views import deals as views
from handlers.deals.common import (
    STAFF,
    STEP,
    TYPED,
    NewDeal,
    ask,
    on_current_step,
    repeat,
    send_card,
    step_button,
)
from services import timeparse
from services.access import visible_client
from services.deals import changes, parsing, reading, rules
from services.errors import DomainError

router = Router(name="deals.new_deal")


async def pick_client(message: Message, ctx: Ctx, text: str) -> None:
    clients, more = await reading.find_clients(ctx.session, ctx.user, text, ctx.settings.default_region)
    if not clients:
        problem = _("No client of yours matches “{text}”.").format(text=h(" ".join(text.split())[:100]))
        await repeat(message, ctx, problem)
        return
    lines = [_("Choose the client:")]
    if more:
        lines.append(
            _("Only the first {n} are shown; type more of the name to narrow it down.").format(n=len(clients))
        )
    markup = views.client_choice_keyboard(STEP[NewDeal.client.state], clients)
    await message.answer("\n".join(lines), reply_markup=markup)


async def save_new_deal(
    message: Message, ctx: Ctx, step: tuple[str, datetime] | None, note: str = ""
) -> None:
    """The whole deal (and its next step's reminder) in this update's one transaction."""
    data = await ctx.state.get_data()
    stages = ctx.settings.deal_stages
    draft = changes.Draft(
        title=data["title"],
        stage=data.get("stage") or stages[0],
        amount=Decimal(data["amount"]) if data.get("amount") is not None else None,
        currency=data.get("currency") or ctx.settings.default_currency,
        expected_close=date.fromisoformat(data["close"]) if data.get("close") else None,
    )
    await ctx.state.clear()  # the dialog is over whatever happens (its state is in this transaction too)
    try:
        deal = await changes.create(
            ctx.session, ctx.user, int(data["client_id"]), draft, stages, ctx.now(), step=step
        )
    except DomainError as e:
        await message.answer(views.error(e) + "\n" + _("Nothing was saved."))
        return
    await send_card(message, ctx, deal.id, " ".join(filter(None, (_("✅ Deal created."), note))))


# --- the start ---


@router.message(Command("newdeal"), flags=STAFF)
async def new_deal(message: Message, command: CommandObject, ctx: Ctx) -> None:
    await ctx.state.set_data({})
    if command.args and command.args.strip():  # "/newdeal Ivanov": search right away
        await ctx.state.set_state(NewDeal.client)
        await pick_client(message, ctx, command.args)
        return
    await ask(message, ctx, NewDeal.client)


@router.callback_query(ClientCb.filter(F.action == CardAction.newdeal), flags=STAFF)
async def new_deal_for_client(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    try:
        client = await visible_client(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await ctx.state.set_data({"client_id": client.id, "client_name": client.name})
    await query.answer()
    if isinstance(query.message, Message):
        await ask(query.message, ctx, NewDeal.title)


# --- the client ---


@router.message(NewDeal.client, *TYPED, flags=STAFF)
async def client_typed(message: Message, ctx: Ctx) -> None:
    try:
        await pick_client(message, ctx, message.text or "")
    except DomainError as e:
        await repeat(message, ctx, views.error(e))


@router.callback_query(step_button(NewDeal.client), on_current_step, flags=STAFF)
async def client_chosen(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    try:
        client = await visible_client(ctx.session, ctx.user, int(callback_data.value))
    except (DomainError, ValueError):
        await query.answer(views.error(DomainError("not_found")), show_alert=True)
        return
    await ctx.state.update_data(client_id=client.id, client_name=client.name)
    await close_prompt(query)
    await query.answer()
    assert isinstance(query.message, Message)
    await ask(query.message, ctx, NewDeal.title)


# --- title, amount, stage ---


@router.message(NewDeal.title, *TYPED, flags=STAFF)
async def title_typed(message: Message, ctx: Ctx) -> None:
    try:
        title = parsing.clean_title(message.text)
    except DomainError as e:
        await repeat(message, ctx, views.error(e))
        return
    await ctx.state.update_data(title=title)
    await ask(message, ctx, NewDeal.amount)


@router.message(NewDeal.amount, *TYPED, flags=STAFF)
async def amount_typed(message: Message, ctx: Ctx) -> None:
    try:
        amount, currency = parsing.parse_amount(message.text or "", ctx.settings.default_currency)
    except DomainError as e:
        await repeat(message, ctx, views.error(e))
        return
    await ctx.state.update_data(amount=str(amount), currency=currency)
    note = _("Amount: {amount}").format(amount=views.money(amount, currency, ctx.locale))
    await ask(message, ctx, NewDeal.stage, note)


@router.callback_query(step_button(NewDeal.amount, "skip"), on_current_step, flags=STAFF)
async def amount_skipped(query: CallbackQuery, ctx: Ctx) -> None:
    await close_prompt(query)
    await query.answer()
    await ctx.state.update_data(amount=None)
    assert isinstance(query.message, Message)
    await ask(query.message, ctx, NewDeal.stage)


@router.message(NewDeal.stage, *TYPED, flags=STAFF)
async def stage_typed(message: Message, ctx: Ctx) -> None:
    await repeat(message, ctx, _("Please choose a stage with the buttons."))


@router.callback_query(step_button(NewDeal.stage), on_current_step, flags=STAFF)
async def stage_chosen(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    stages, value = ctx.settings.deal_stages, callback_data.value
    if value == "skip":
        stage = stages[0]
    elif value.isdigit() and int(value) < len(stages) and stages[int(value)] != "lost":
        stage = stages[int(value)]
    else:
        await query.answer(views.error(DomainError("deal_bad_stage")), show_alert=True)
        return
    await ctx.state.update_data(stage=stage)
    await close_prompt(query)
    await query.answer()
    note = _("Stage: {stage}").format(stage=h(views.stage_name(stage)))
    assert isinstance(query.message, Message)
    await ask(query.message, ctx, NewDeal.close, note)


# --- the expected close, the next step and when ---


@router.message(NewDeal.close, *TYPED, flags=STAFF)
async def close_typed(message: Message, ctx: Ctx) -> None:
    try:
        day = timeparse.parse_date(message.text or "", ctx.now(), ctx.tz, ctx.locale)
    except DomainError as e:
        await repeat(message, ctx, views.error(e))
        return
    await ctx.state.update_data(close=day.isoformat())
    note = _("Expected close: {date}").format(date=views.day_text(day, ctx.locale))
    await ask(message, ctx, NewDeal.step, note)


@router.callback_query(step_button(NewDeal.close, "skip"), on_current_step, flags=STAFF)
async def close_skipped(query: CallbackQuery, ctx: Ctx) -> None:
    await close_prompt(query)
    await query.answer()
    await ctx.state.update_data(close=None)
    assert isinstance(query.message, Message)
    await ask(query.message, ctx, NewDeal.step)


@router.message(NewDeal.step, *TYPED, flags=STAFF)
async def step_typed(message: Message, ctx: Ctx) -> None:
    now = ctx.now()
    try:
        step_text = parsing.clean_text(message.text, rules.STEP_LIMIT)
    except DomainError as e:
        await repeat(message, ctx, views.error(e))
        return
    try:  # "tomorrow at 10 call back": the time and the step in one message
        when, rest = timeparse.split_when(step_text, now, ctx.tz, ctx.locale)
    except DomainError:
        when, rest = None, ""
    if when is not None and rest:
        await save_new_deal(message, ctx, (rest, when))
        return
    await ctx.state.update_data(step=step_text)
    await ask(message, ctx, NewDeal.when)


@router.message(NewDeal.when, *TYPED, flags=STAFF)
async def when_typed(message: Message, ctx: Ctx) -> None:
    try:
        when = timeparse.parse_when(message.text or "", ctx.now(), ctx.tz, ctx.locale)
    except DomainError as e:
        await repeat(message, ctx, views.error(e))
        return
    await save_new_deal(message, ctx, ((await ctx.state.get_data())["step"], when))


@router.callback_query(step_button(NewDeal.step, "skip"), on_current_step, flags=STAFF)
@router.callback_query(step_button(NewDeal.when, "skip"), on_current_step, flags=STAFF)
async def step_skipped(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    """No next step (or no time for it): the deal is saved without one."""
    await close_prompt(query)
    await query.answer()
    no_time = callback_data.step == STEP[NewDeal.when.state]
    note = _("Without a date the next step was not saved.") if no_time else ""
    assert isinstance(query.message, Message)
    await save_new_deal(query.message, ctx, None, note)
