"""Deals: /newdeal and "New deal" on a client card (a dialog), the deal card with stage buttons,
edits and history, a client's deals, and /deals — the pipeline per stage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChoiceCb, ClientCb, DealCb, PipelineCb
from bot.config import Settings
from bot.edit import edit_or_send
from bot.text import h
from bot.views import deals as views
from models.users import User
from services import deals as deals_service
from services import timeparse
from services.access import sees_everything, visible_client
from services.clock import Clock
from services.errors import DomainError

STAFF = {"role": "staff"}


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
EDIT_STATES = {
    views.EDIT_TITLE: DealInput.title,
    views.EDIT_AMOUNT: DealInput.amount,
    views.EDIT_CLOSE: DealInput.close,
}
# Refusals after which the card on screen is out of date and is drawn again.
REDRAW = frozenset({"deal_changed", "deal_same_stage"})


@dataclass(slots=True)
class Ctx:
    """What one update's handlers pass around."""

    session: AsyncSession
    user: User
    state: FSMContext
    clock: Clock
    settings: Settings
    i18n: I18n

    @property
    def tz(self) -> str:
        return self.user.timezone or self.settings.default_timezone

    @property
    def locale(self) -> str:
        return self.i18n.current_locale

    @property
    def stages(self) -> tuple[str, ...]:
        return self.settings.deal_stages

    def scope(self, wanted: str) -> str:
        """Admins may look at everyone's deals; anyone else sees their own whatever they ask."""
        return "all" if wanted == "all" and sees_everything(self.user) else "mine"


def prompt(state: str, data: dict[str, Any], settings: Settings) -> tuple[str, InlineKeyboardMarkup]:
    """The question of a dialog step and its buttons."""
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
    elif state == NewDeal.when.state:
        text = _("When? For example: tomorrow at 10, 25.12 15:00, friday. I'll remind you then.")
    elif state == DealInput.lost_reason.state:
        text = _("Why was <b>{title}</b> lost? A few words for the history.").format(
            title=h(data.get("title", ""))
        )
        keyboard = views.dialog_keyboard(step, skip=False)
    elif state == DealInput.title.state:
        text = _("New title for <b>{title}</b>? Up to 200 characters.").format(title=h(data.get("title", "")))
        keyboard = views.dialog_keyboard(step, skip=False)
    else:
        remove = [(_("Remove"), "clear")]
        keyboard = views.dialog_keyboard(step, skip=False, extra=remove)
        if state == DealInput.amount.state:
            text = _(
                "New amount and currency? Now: {amount}. For example: 150 000 ₽, 1 500,50 USD, $2,000."
            ).format(amount=data.get("now", "—"))
        else:
            text = _("New expected close date? Now: {date}. For example: 25.12.2026, tomorrow.").format(
                date=data.get("now", "—")
            )
    return text, keyboard


async def ask(message: Message, ctx: Ctx, new_state: State, note: str = "") -> None:
    await ctx.state.set_state(new_state)
    text, markup = prompt(new_state.state or "", await ctx.state.get_data(), ctx.settings)
    await message.answer(f"{note}\n\n{text}" if note else text, reply_markup=markup)


async def repeat(message: Message, ctx: Ctx, problem: str) -> None:
    """Bad input: say what was wrong and ask the same question again."""
    current = await ctx.state.get_state()
    if current not in STEP:
        await message.answer(problem)
        return
    text, markup = prompt(current, await ctx.state.get_data(), ctx.settings)
    await message.answer(f"{problem}\n\n{text}", reply_markup=markup)


async def close_prompt(query: CallbackQuery) -> None:
    """The pressed prompt loses its buttons, so it isn't pressed again by accident."""
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest:
            pass


async def draw_card(ctx: Ctx, deal_id: int) -> tuple[str, InlineKeyboardMarkup]:
    card = await deals_service.card(ctx.session, ctx.user, deal_id)
    text = views.card_text(card, ctx.tz, ctx.locale, show_owner=sees_everything(ctx.user))
    return text, views.card_keyboard(card.deal, card.client, ctx.stages)


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


async def pipeline_view(
    ctx: Ctx, scope: str, stage_index: int, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    owner = None if scope == "all" else ctx.user.id
    if 0 <= stage_index < len(ctx.stages):
        stage = ctx.stages[stage_index]
        listed = await deals_service.stage_deals(ctx.session, owner, stage, page)
        return (
            views.stage_list_text(stage, scope, listed),
            views.stage_list_keyboard(listed, scope, stage_index, ctx.locale),
        )
    rows = await deals_service.pipeline(ctx.session, owner, ctx.stages)
    return (
        views.pipeline_text(rows, scope, ctx.locale),
        views.pipeline_keyboard(rows, ctx.stages, scope, can_see_all=sees_everything(ctx.user)),
    )


# --- the new-deal dialog ---


async def pick_client(message: Message, ctx: Ctx, text: str) -> None:
    clients, more = await deals_service.find_clients(ctx.session, ctx.user, text, ctx.settings.default_region)
    if not clients:
        problem = _("No client of yours matches “{text}”.").format(text=h(" ".join(text.split())[:100]))
        await repeat(message, ctx, problem)
        return
    lines = [_("Choose the client:")]
    if more:
        lines.append(
            _("Only the first {n} are shown; type more of the name to narrow it down.").format(n=len(clients))
        )
    await message.answer("\n".join(lines), reply_markup=views.client_choice_keyboard("nd.client", clients))


async def save_new_deal(
    message: Message, ctx: Ctx, step: tuple[str, datetime] | None, note: str = ""
) -> None:
    """The whole deal (and its next step's reminder) in this update's one transaction."""
    data = await ctx.state.get_data()
    draft = deals_service.Draft(
        title=data["title"],
        stage=data.get("stage") or ctx.stages[0],
        amount=Decimal(data["amount"]) if data.get("amount") is not None else None,
        currency=data.get("currency") or ctx.settings.default_currency,
        expected_close=date.fromisoformat(data["close"]) if data.get("close") else None,
    )
    await ctx.state.clear()  # the dialog is over whatever happens (its state is in this transaction too)
    try:
        deal = await deals_service.create(
            ctx.session, ctx.user, int(data["client_id"]), draft, ctx.stages, ctx.clock.now(), step=step
        )
    except DomainError as e:
        await message.answer(views.error(e) + "\n" + _("Nothing was saved."))
        return
    await send_card(message, ctx, deal.id, " ".join(filter(None, (_("✅ Deal created."), note))))


async def new_deal_text(message: Message, ctx: Ctx, current: str, text: str) -> None:
    """A typed answer to a step of the new-deal dialog; DomainError means "ask again"."""
    now = ctx.clock.now()
    if current == NewDeal.client.state:
        await pick_client(message, ctx, text)
    elif current == NewDeal.title.state:
        await ctx.state.update_data(title=deals_service.clean_title(text))
        await ask(message, ctx, NewDeal.amount)
    elif current == NewDeal.amount.state:
        amount, currency = deals_service.parse_amount(text, ctx.settings.default_currency)
        await ctx.state.update_data(amount=str(amount), currency=currency)
        note = _("Amount: {amount}").format(amount=views.money(amount, currency, ctx.locale))
        await ask(message, ctx, NewDeal.stage, note)
    elif current == NewDeal.stage.state:
        await repeat(message, ctx, _("Please choose a stage with the buttons."))
    elif current == NewDeal.close.state:
        day = timeparse.parse_date(text, now, ctx.tz, ctx.locale)
        await ctx.state.update_data(close=day.isoformat())
        note = _("Expected close: {date}").format(date=views.day_text(day, ctx.locale))
        await ask(message, ctx, NewDeal.step, note)
    elif current == NewDeal.step.state:
        step_text = deals_service.clean_text(text, deals_service.STEP_LIMIT)
        try:  # "tomorrow at 10 call back": the time and the step in one message
            when, rest = timeparse.split_when(step_text, now, ctx.tz, ctx.locale)
        except DomainError:
            when, rest = None, ""
        if when is not None and rest:
            await save_new_deal(message, ctx, (rest, when))
            return
        await ctx.state.update_data(step=step_text)
        await ask(message, ctx, NewDeal.when)
    elif current == NewDeal.when.state:
        when = timeparse.parse_when(text, now, ctx.tz, ctx.locale)
        await save_new_deal(message, ctx, ((await ctx.state.get_data())["step"], when))


# --- changing an existing deal through a typed answer (lost reason, title, amount, close date) ---


def prepare_input(
    ctx: Ctx, current: str, data: dict[str, Any], text: str | None
) -> tuple[Callable[[], Awaitable[Any]], str | None]:
    """Check the typed (None: removed) value — bad input raises DomainError and the step is asked
    again — and return the change to make, with the note to show with the card."""
    deal_id, version, now = data["deal_id"], data["version"], ctx.clock.now()
    s, u = ctx.session, ctx.user
    if current == DealInput.lost_reason.state:
        reason = deals_service.clean_text(text, deals_service.REASON_LIMIT)
        note = _("Stage: {stage}").format(stage=h(views.stage_name("lost")))
        return (
            lambda: deals_service.change_stage(s, u, deal_id, version, "lost", ctx.stages, now, reason=reason)
        ), note
    if current == DealInput.title.state:
        title = deals_service.clean_title(text)
        return (lambda: deals_service.set_title(s, u, deal_id, version, title, now)), None
    if current == DealInput.amount.state:
        amount, currency = (
            deals_service.parse_amount(text, ctx.settings.default_currency)
            if text is not None
            else (None, None)
        )
        return (lambda: deals_service.set_amount(s, u, deal_id, version, amount, currency, now)), None
    day = timeparse.parse_date(text, now, ctx.tz, ctx.locale) if text is not None else None
    return (lambda: deals_service.set_expected_close(s, u, deal_id, version, day, now)), None


async def finish_input(message: Message, ctx: Ctx, current: str, text: str | None) -> None:
    """Apply an answer that changes an existing deal; a deal changed meanwhile is shown as it is now."""
    data = await ctx.state.get_data()
    change, note = prepare_input(ctx, current, data, text)
    await ctx.state.clear()  # valid input: the dialog is over, whatever the change meets
    try:
        await change()
    except DomainError as e:
        if e.code in REDRAW:
            await send_card(message, ctx, data["deal_id"], views.error(e))
        else:
            await message.answer(views.error(e))
        return
    await send_card(message, ctx, data["deal_id"], note or _("✅ Saved."))


def router() -> Router:
    r = Router(name="deals")

    # --- the pipeline ---

    @r.message(Command("deals"), flags=STAFF)
    async def deals_command(
        message: Message,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings, i18n)
        text, markup = await pipeline_view(ctx, "mine", -1, 0)
        await message.answer(text, reply_markup=markup)

    @r.callback_query(PipelineCb.filter(), flags=STAFF)
    async def pipeline_button(
        query: CallbackQuery,
        callback_data: PipelineCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings, i18n)
        scope = ctx.scope(callback_data.scope)
        text, markup = await pipeline_view(ctx, scope, callback_data.stage, callback_data.page)
        await edit_or_send(query, text, markup)
        await query.answer()

    # --- a client's deals (the "Deals" button on a client card) ---

    @r.callback_query(ClientCb.filter(F.action == "deals"), flags=STAFF)
    async def client_deals(
        query: CallbackQuery, callback_data: ClientCb, session: AsyncSession, user: User, i18n: I18n
    ) -> None:
        try:
            client, page = await deals_service.client_deals(
                session, user, callback_data.client_id, callback_data.page
            )
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        markup = views.client_deals_keyboard(client, page, i18n.current_locale)
        await edit_or_send(query, views.client_deals_text(client, page), markup)
        await query.answer()

    @r.callback_query(ClientCb.filter(F.action == "newdeal"), flags=STAFF)
    async def new_deal_for_client(
        query: CallbackQuery,
        callback_data: ClientCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            client = await visible_client(session, user, callback_data.client_id)
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        await state.set_data({"client_id": client.id, "client_name": client.name})
        await query.answer()
        if isinstance(query.message, Message):
            await ask(query.message, Ctx(session, user, state, clock, settings, i18n), NewDeal.title)

    # --- the new-deal dialog ---

    @r.message(Command("newdeal"), flags=STAFF)
    async def new_deal(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings, i18n)
        await state.set_data({})
        if command.args and command.args.strip():  # "/newdeal Ivanov": search right away
            await state.set_state(NewDeal.client)
            await pick_client(message, ctx, command.args)
            return
        await ask(message, ctx, NewDeal.client)

    @r.callback_query(ChoiceCb.filter(F.step.in_(STEP_NAMES)), flags=STAFF)
    async def dialog_button(
        query: CallbackQuery,
        callback_data: ChoiceCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings, i18n)
        current = await state.get_state()
        message = query.message
        if current not in STEP or STEP[current] != callback_data.step or not isinstance(message, Message):
            await query.answer(_("This button is from a step that is already over."), show_alert=True)
            return
        value = callback_data.value
        if value == "cancel":
            await state.clear()
            await close_prompt(query)
            await query.answer()
            await message.answer(_("Cancelled. Nothing was saved."))
            return
        if current == NewDeal.client.state:
            try:
                client = await visible_client(session, user, int(value))
            except (DomainError, ValueError):
                await query.answer(views.error(DomainError("not_found")), show_alert=True)
                return
            await state.update_data(client_id=client.id, client_name=client.name)
            await close_prompt(query)
            await query.answer()
            await ask(message, ctx, NewDeal.title)
            return
        if current == NewDeal.stage.state:
            stages = ctx.stages
            if value == "skip":
                stage = stages[0]
            elif value.isdigit() and int(value) < len(stages) and stages[int(value)] != "lost":
                stage = stages[int(value)]
            else:
                await query.answer(views.error(DomainError("deal_bad_stage")), show_alert=True)
                return
            await state.update_data(stage=stage)
            await close_prompt(query)
            await query.answer()
            note = _("Stage: {stage}").format(stage=h(views.stage_name(stage)))
            await ask(message, ctx, NewDeal.close, note)
            return
        allowed = {
            NewDeal.amount.state: "skip",
            NewDeal.close.state: "skip",
            NewDeal.step.state: "skip",
            NewDeal.when.state: "skip",
            DealInput.amount.state: "clear",
            DealInput.close.state: "clear",
        }
        if allowed.get(current) != value:
            await query.answer(_("This button is from a step that is already over."), show_alert=True)
            return
        await close_prompt(query)
        await query.answer()
        if current == NewDeal.amount.state:
            await state.update_data(amount=None)
            await ask(message, ctx, NewDeal.stage)
        elif current == NewDeal.close.state:
            await state.update_data(close=None)
            await ask(message, ctx, NewDeal.step)
        elif current in (NewDeal.step.state, NewDeal.when.state):
            note = _("Without a date the next step was not saved.") if current == NewDeal.when.state else ""
            await save_new_deal(message, ctx, None, note)
        else:
            try:
                await finish_input(message, ctx, current, None)
            except DomainError as e:
                await repeat(message, ctx, views.error(e))

    # --- the deal card ---

    @r.callback_query(DealCb.filter(F.action == "open"), flags=STAFF)
    async def open_deal(
        query: CallbackQuery,
        callback_data: DealCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings, i18n)
        try:
            text, markup = await draw_card(ctx, callback_data.deal_id)
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        await edit_or_send(query, text, markup)
        await query.answer()

    @r.callback_query(DealCb.filter(F.action == "stage"), flags=STAFF)
    async def stage_button(
        query: CallbackQuery,
        callback_data: DealCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings, i18n)
        deal_id, version = callback_data.deal_id, callback_data.version
        try:
            deal, _client = await deals_service.visible_deal(session, user, deal_id)
            if not 0 <= callback_data.arg < len(ctx.stages):
                raise DomainError("deal_bad_stage")
            stage = ctx.stages[callback_data.arg]
            if stage == "lost":  # a reason first; the change itself is checked again then
                if deal.version != version:
                    raise DomainError("deal_changed")
                if deal.stage == stage:
                    raise DomainError("deal_same_stage")
                await state.set_state(DealInput.lost_reason)
                await state.set_data({"deal_id": deal.id, "version": deal.version, "title": deal.title})
                await query.answer()
                if isinstance(query.message, Message):
                    await ask(query.message, ctx, DealInput.lost_reason)
                return
            await deals_service.change_stage(session, user, deal_id, version, stage, ctx.stages, clock.now())
        except DomainError as e:
            await refuse(query, ctx, e, deal_id)
            return
        text, markup = await draw_card(ctx, deal_id)
        await edit_or_send(query, text, markup)
        await query.answer(_("Stage: {stage}").format(stage=views.stage_name(stage)))

    @r.callback_query(DealCb.filter(F.action == "edit"), flags=STAFF)
    async def edit_button(
        query: CallbackQuery,
        callback_data: DealCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings, i18n)
        try:
            deal, _client = await deals_service.visible_deal(session, user, callback_data.deal_id)
            if callback_data.arg and deal.version != callback_data.version:
                raise DomainError("deal_changed")
        except DomainError as e:
            await refuse(query, ctx, e, callback_data.deal_id)
            return
        target = EDIT_STATES.get(callback_data.arg)
        if target is None:  # the menu: what to change
            text, _markup = await draw_card(ctx, deal.id)
            await edit_or_send(query, text, views.edit_keyboard(deal))
            await query.answer()
            return
        shown = "—"
        if target is DealInput.amount and deal.amount is not None:
            shown = views.money(deal.amount, deal.currency, ctx.locale)
        elif target is DealInput.close and deal.expected_close is not None:
            shown = views.day_text(deal.expected_close, ctx.locale)
        await state.set_state(target)
        await state.set_data({"deal_id": deal.id, "version": deal.version, "title": deal.title, "now": shown})
        await query.answer()
        if isinstance(query.message, Message):
            await ask(query.message, ctx, target)

    @r.callback_query(DealCb.filter(F.action == "history"), flags=STAFF)
    async def history_button(
        query: CallbackQuery,
        callback_data: DealCb,
        session: AsyncSession,
        user: User,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        try:
            deal, page = await deals_service.history(session, user, callback_data.deal_id, callback_data.arg)
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        names = await deals_service.owner_names(session, [event for event, _actor in page.items])
        tz = user.timezone or settings.default_timezone
        await edit_or_send(
            query,
            views.history_text(deal, page, tz, i18n.current_locale, names),
            views.history_keyboard(deal, page),
        )
        await query.answer()

    @r.callback_query(DealCb.filter(), flags=STAFF)
    async def unknown_deal_button(query: CallbackQuery) -> None:
        await query.answer(_("This button is no longer valid. Send /start to begin again."), show_alert=True)

    # --- typed answers in the dialogs (after the command handlers, so commands still work) ---

    @r.message(StateFilter(NewDeal, DealInput), F.text, ~F.text.startswith("/"), flags=STAFF)
    async def dialog_text(
        message: Message,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings, i18n)
        current = await state.get_state()
        text = message.text or ""
        try:
            if current in (s.state for s in NewDeal.__states__):
                await new_deal_text(message, ctx, current or "", text)
            else:
                await finish_input(message, ctx, current or "", text)
        except DomainError as e:
            await repeat(message, ctx, views.error(e))

    @r.message(StateFilter(NewDeal, DealInput), ~F.text, flags=STAFF)
    async def dialog_not_text(
        message: Message,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings, i18n)
        await repeat(message, ctx, _("Please answer with text (or use the buttons)."))

    return r
