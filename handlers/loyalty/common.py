"""What the bonus program's handlers share: the dialog states, each step's question, the points card."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiogram import F
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChoiceCb
from bot.context import Ctx
from bot.dialogs import OnStep, begin_dialog
from bot.edit import edit_or_send
from bot.views import loyalty as views
from services.access import sees_everything, visible_client
from services.errors import DomainError
from services.loyalty import ledger, purchases, reading
from services.loyalty import settings as program_settings

ANY = {"role": "any"}
STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}
TYPED = (F.text, ~F.text.startswith("/"))  # a typed answer, not a command


class Buy(StatesGroup):
    amount = State()
    points = State()
    confirm = State()


class Reverse(StatesGroup):
    points = State()


class Setup(StatesGroup):
    value = State()
    gift = State()


# Each dialog step's buttons carry the step's name: a button from a step already over is refused.
STEP = {
    Buy.amount.state: "ly.amount",
    Buy.points.state: "ly.points",
    Buy.confirm.state: "ly.confirm",
    Reverse.points.state: "ly.rev",
    Setup.value.state: "ly.set",
    Setup.gift.state: "ly.gift",
}
STEP_NAMES = frozenset(STEP.values())


def step_button(state: State, value: Any = None) -> Any:
    """The filter of a button of one dialog step: any but Cancel, or the values `value` accepts."""
    accepted = (F.value != "cancel") if value is None else value
    return ChoiceCb.filter((F.step == STEP[state.state or ""]) & accepted)


on_current_step = OnStep(STEP)  # a filter: the button is of the step the dialog is at


def currency(ctx: Ctx) -> str:
    return ctx.settings.default_currency


async def draw_card(ctx: Ctx, client_id: int) -> tuple[str, InlineKeyboardMarkup]:
    s = await reading.staff_summary(ctx.session, ctx.user, client_id, ctx.now())
    return views.card_text(s, currency(ctx)), views.card_keyboard(s.client, admin=sees_everything(ctx.user))


async def quote_from(ctx: Ctx, data: dict[str, Any], points: int = 0) -> tuple[purchases.Quote, int]:
    """The purchase of this dialog as it would be recorded now, and the client's balance."""
    acc = await ledger.account(ctx.session, int(data["client_id"]))
    prog = await program_settings.program(ctx.session)
    q = purchases.quote(prog, acc, Decimal(data["amount"]), currency(ctx), points)
    return q, acc.balance if acc else 0


async def prompt(ctx: Ctx) -> tuple[str, InlineKeyboardMarkup]:
    """The question of the current dialog step and its buttons."""
    current = await ctx.state.get_state() or ""
    data = await ctx.state.get_data()
    step = STEP[current]
    if current == Buy.amount.state:
        return views.ask_amount(data["name"], currency(ctx)), views.dialog_keyboard(step)
    if current == Buy.points.state:
        q, balance = await quote_from(ctx, data)
        return views.ask_points(q, balance), views.points_keyboard(step, q)
    if current == Buy.confirm.state:
        q, _balance = await quote_from(ctx, data, int(data["points"]))
        await ctx.state.update_data(quoted=purchases.quote_key(q))  # what Confirm then agrees to
        return views.confirm_text(data["name"], q), views.confirm_keyboard(step, data["token"])
    if current == Reverse.points.state:
        acc = await ledger.account(ctx.session, int(data["client_id"]))
        return views.ask_reversal(data["name"], acc.balance if acc else 0), views.dialog_keyboard(step)
    if current == Setup.value.state:
        prog = await program_settings.program(ctx.session)
        text = views.ask_setting(data["field"], prog, currency(ctx), program_settings.tiers_text(prog.tiers))
        return text, views.dialog_keyboard(step)
    return views.ask_gift(), views.dialog_keyboard(step)


async def ask(message: Message, ctx: Ctx, note: str = "") -> None:
    text, markup = await prompt(ctx)
    await message.answer(f"{note}\n\n{text}" if note else text, reply_markup=markup)


async def start_dialog(query: CallbackQuery, ctx: Ctx, client_id: int, version: int, step: State) -> None:
    """A purchase or a reversal from the points card drawn at `version` of the client."""
    try:
        client = await visible_client(ctx.session, ctx.user, client_id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    if client.version != version:  # drawn from an older card: show it as it is now
        await query.answer(_("This card has changed since it was shown. Here it is now."), show_alert=True)
        text, markup = await draw_card(ctx, client.id)
        await edit_or_send(query, text, markup)
        return
    await begin_dialog(ctx.state, step, client_id=client.id, name=client.name, token=purchases.new_token())
    await query.answer()
    if isinstance(query.message, Message):
        await ask(query.message, ctx)
