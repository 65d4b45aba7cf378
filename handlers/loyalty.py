"""The bonus program: the points card on a client (purchase, history, an admin's reversal), the
customer's /balance, /gifts and /referral, the gift hand-over buttons, and /loyalty (admins): settings
and the gift catalog."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChoiceCb, ClientCb, LoyaltyCb
from bot.config import Settings
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.edit import edit_or_send
from bot.text import h
from bot.views import customers as customer_views
from bot.views import loyalty as views
from models.users import User
from services import deals as deals_service
from services import loyalty as svc
from services.access import sees_everything, visible_client
from services.clock import Clock
from services.errors import DomainError

ANY = {"role": "any"}
STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}


class Buy(StatesGroup):
    amount = State()
    points = State()
    confirm = State()


class Reverse(StatesGroup):
    points = State()


class Setup(StatesGroup):
    value = State()
    gift = State()


STEP = {
    Buy.amount.state: "ly.amount",
    Buy.points.state: "ly.points",
    Buy.confirm.state: "ly.confirm",
    Reverse.points.state: "ly.rev",
    Setup.value.state: "ly.set",
    Setup.gift.state: "ly.gift",
}
STEP_NAMES = frozenset(STEP.values())


@dataclass(slots=True)
class Ctx:
    session: AsyncSession
    user: User
    state: FSMContext
    clock: Clock
    settings: Settings

    @property
    def currency(self) -> str:
        return self.settings.default_currency

    @property
    def tz(self) -> str:
        return self.user.timezone or self.settings.default_timezone


async def close_prompt(query: CallbackQuery) -> None:
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest:
            pass


async def draw_card(ctx: Ctx, client_id: int) -> tuple[str, InlineKeyboardMarkup]:
    s = await svc.staff_summary(ctx.session, ctx.user, client_id, ctx.clock.now())
    return views.card_text(s, ctx.currency), views.card_keyboard(s.client, admin=sees_everything(ctx.user))


async def quote_from(ctx: Ctx, data: dict, points: int = 0) -> tuple[svc.Quote, int]:
    acc = await svc.account(ctx.session, int(data["client_id"]))
    prog = await svc.program(ctx.session)
    q = svc.quote(prog, acc, Decimal(data["amount"]), ctx.currency, points)
    return q, acc.balance if acc else 0


async def prompt(ctx: Ctx) -> tuple[str, InlineKeyboardMarkup]:
    """The question of the current dialog step and its buttons."""
    current = await ctx.state.get_state() or ""
    data = await ctx.state.get_data()
    step = STEP[current]
    if current == Buy.amount.state:
        return views.ask_amount(data["name"], ctx.currency), views.dialog_keyboard(step)
    if current == Buy.points.state:
        q, balance = await quote_from(ctx, data)
        return views.ask_points(q, balance), views.points_keyboard(step, q)
    if current == Buy.confirm.state:
        q, _balance = await quote_from(ctx, data, int(data["points"]))
        return views.confirm_text(data["name"], q), views.confirm_keyboard(step, data["token"])
    if current == Reverse.points.state:
        acc = await svc.account(ctx.session, int(data["client_id"]))
        return views.ask_reversal(data["name"], acc.balance if acc else 0), views.dialog_keyboard(step)
    if current == Setup.value.state:
        prog = await svc.program(ctx.session)
        text = views.ask_setting(data["field"], prog, ctx.currency, svc.tiers_text(prog.tiers))
        return text, views.dialog_keyboard(step)
    return views.ask_gift(), views.dialog_keyboard(step)


async def ask(message: Message, ctx: Ctx, note: str = "") -> None:
    text, markup = await prompt(ctx)
    await message.answer(f"{note}\n\n{text}" if note else text, reply_markup=markup)


async def set_points(message: Message, ctx: Ctx, points: int) -> None:
    """A number of points to redeem: checked against the balance and the share limit, then confirm."""
    data = await ctx.state.get_data()
    q, balance = await quote_from(ctx, data, points)
    svc.check_points(q, balance, points)
    await next_step(ctx.state, Buy.confirm, points=points)
    await ask(message, ctx)


async def finish_purchase(query: CallbackQuery, ctx: Ctx, token: str) -> None:
    data = await ctx.state.get_data()
    await end_dialog(ctx.state)
    message = query.message
    try:
        done = await svc.record_purchase(
            ctx.session,
            ctx.user,
            int(data["client_id"]),
            token,
            Decimal(data["amount"]),
            ctx.currency,
            int(data["points"]),
            ctx.clock.now(),
        )
    except DomainError as e:
        await close_prompt(query)
        await query.answer()
        if isinstance(message, Message):
            await message.answer(views.error(e) + "\n" + _("Nothing was saved."))
        return
    await close_prompt(query)
    await query.answer(_("Recorded.") if done.created else None)
    note = views.recorded_text(done.balance, again=not done.created, rewarded=done.referral_rewarded)
    if isinstance(message, Message):
        text, markup = await draw_card(ctx, done.purchase.client_id)
        await message.answer(f"{note}\n\n{text}", reply_markup=markup)


async def typed(message: Message, ctx: Ctx, text: str) -> None:
    """A typed answer in one of the dialogs; DomainError means "say why and ask again"."""
    current = await ctx.state.get_state()
    data = await ctx.state.get_data()
    now = ctx.clock.now()
    if current == Buy.amount.state:
        amount, currency = deals_service.parse_amount(text, ctx.currency)
        if currency != ctx.currency:
            raise DomainError("purchase_currency", currency=ctx.currency)
        if amount <= 0:
            raise DomainError("purchase_amount_zero")
        await next_step(ctx.state, Buy.points, amount=str(amount))
        await ask(message, ctx)
    elif current == Buy.points.state:
        await set_points(message, ctx, svc.parse_int(text, 0, svc.MAX_POINTS))
    elif current == Buy.confirm.state:
        raise DomainError("use_buttons")
    elif current == Reverse.points.state:
        points, reason = svc.parse_reversal(text)
        entry = await svc.reverse(
            ctx.session, ctx.user, int(data["client_id"]), data["token"], points, reason, now
        )
        await end_dialog(ctx.state)
        note = _("✅ Points corrected.") if entry is not None else _("This correction was already made.")
        card, markup = await draw_card(ctx, int(data["client_id"]))
        await message.answer(f"{note}\n\n{card}", reply_markup=markup)
    elif current == Setup.value.state:
        prog = await svc.set_setting(ctx.session, ctx.user, data["field"], text, now)
        await end_dialog(ctx.state)
        await message.answer(
            _("✅ Saved.") + "\n\n" + views.settings_text(prog, ctx.currency),
            reply_markup=views.settings_keyboard(svc.SETTING_FIELDS),
        )
    elif current == Setup.gift.state:
        gift = await svc.add_gift(ctx.session, ctx.user, text, now)
        await end_dialog(ctx.state)
        gifts = await svc.catalog(ctx.session, active_only=False)
        note = _("✅ Added: {gift}.").format(gift=h(gift.name))
        await message.answer(
            f"{note}\n\n{views.catalog_text(gifts)}", reply_markup=views.catalog_keyboard(gifts)
        )


def router() -> Router:
    r = Router(name="loyalty")

    # --- the points card (staff) ---

    @r.callback_query(ClientCb.filter(F.action == "loyalty"), flags=STAFF)  # from the client card
    @r.callback_query(LoyaltyCb.filter(F.action == "card"), flags=STAFF)  # back from its own screens
    async def card_button(
        query: CallbackQuery,
        callback_data: ClientCb | LoyaltyCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings)
        client_id = callback_data.client_id if isinstance(callback_data, ClientCb) else callback_data.id
        try:
            text, markup = await draw_card(ctx, client_id)
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        await edit_or_send(query, text, markup)
        await query.answer()

    @r.callback_query(LoyaltyCb.filter(F.action == "hist"), flags=STAFF)
    async def history_button(
        query: CallbackQuery, callback_data: LoyaltyCb, session: AsyncSession, user: User, settings: Settings
    ) -> None:
        try:
            page = await svc.history(session, user, callback_data.id, callback_data.arg)
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        tz = user.timezone or settings.default_timezone
        await edit_or_send(query, views.history_text(page, tz), views.history_keyboard(page))
        await query.answer()

    async def start_dialog(query: CallbackQuery, ctx: Ctx, cb: LoyaltyCb, step: State) -> None:
        try:
            client = await visible_client(ctx.session, ctx.user, cb.id)
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        if client.version != cb.arg:  # drawn from an older card: show it as it is now
            await query.answer(
                _("This card has changed since it was shown. Here it is now."), show_alert=True
            )
            text, markup = await draw_card(ctx, client.id)
            await edit_or_send(query, text, markup)
            return
        await begin_dialog(ctx.state, step, client_id=client.id, name=client.name, token=svc.new_token())
        await query.answer()
        if isinstance(query.message, Message):
            await ask(query.message, ctx)

    @r.callback_query(LoyaltyCb.filter(F.action == "buy"), flags=STAFF)
    async def buy_button(
        query: CallbackQuery,
        callback_data: LoyaltyCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        await start_dialog(query, Ctx(session, user, state, clock, settings), callback_data, Buy.amount)

    @r.callback_query(LoyaltyCb.filter(F.action == "rev"), flags=ADMIN)
    async def reversal_button(
        query: CallbackQuery,
        callback_data: LoyaltyCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        await start_dialog(query, Ctx(session, user, state, clock, settings), callback_data, Reverse.points)

    # --- buttons inside the dialogs ---

    @r.callback_query(ChoiceCb.filter(F.step.in_(STEP_NAMES)), flags=STAFF)
    async def dialog_button(
        query: CallbackQuery,
        callback_data: ChoiceCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings)
        current = await state.get_state()
        message = query.message
        value = callback_data.value
        if current not in STEP or STEP[current] != callback_data.step or not isinstance(message, Message):
            if callback_data.step == "ly.confirm" and value != "cancel":
                # A second tap on Confirm (or one after the dialog ended): recorded once, said so.
                done = await svc.purchase_by_key(session, value)
                if done is not None:
                    await query.answer(_("This purchase is already recorded."), show_alert=True)
                    return
            await query.answer(_("This button is from a step that is already over."), show_alert=True)
            return
        if value == "cancel":
            await end_dialog(state)
            await close_prompt(query)
            await query.answer()
            await message.answer(_("Cancelled. Nothing was saved."))
            return
        if current == Buy.points.state and value.isdigit():
            await close_prompt(query)
            await query.answer()
            try:
                await set_points(message, ctx, int(value))
            except DomainError as e:
                text, markup = await prompt(ctx)
                await message.answer(f"{views.error(e)}\n\n{text}", reply_markup=markup)
            return
        if current == Buy.confirm.state and value == (await state.get_data()).get("token"):
            await finish_purchase(query, ctx, value)
            return
        await query.answer(_("This button is from a step that is already over."), show_alert=True)

    # --- gift hand-over (the owner manager's notice) ---

    @r.callback_query(LoyaltyCb.filter(F.action.in_({"ghand", "gcancel"})), flags=STAFF)
    async def gift_close_button(
        query: CallbackQuery, callback_data: LoyaltyCb, session: AsyncSession, user: User, clock: Clock
    ) -> None:
        handed = callback_data.action == "ghand"
        try:
            request = await svc.close_gift(session, user, callback_data.id, handed, clock.now())
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            if e.code == "gift_closed":
                await close_prompt(query)
            return
        await close_prompt(query)
        if handed:
            note = _("✅ Handed over: “{gift}”. The points are spent.")
        else:
            note = _("✖️ Cancelled: “{gift}”. The points went back to the customer.")
        await query.answer(note.format(gift=request.gift_name))
        if isinstance(query.message, Message):
            await query.message.answer(note.format(gift=h(request.gift_name)))

    # --- the customer ---

    @r.message(Command("balance"), flags=ANY)
    async def balance(
        message: Message, session: AsyncSession, user: User, clock: Clock, settings: Settings
    ) -> None:
        try:
            s = await svc.customer_summary(session, user, clock.now())
        except DomainError:
            text, markup = customer_views.not_linked()
            await message.answer(text, reply_markup=markup)
            return
        tz = s.client.timezone or user.timezone or settings.default_timezone
        await message.answer(views.balance_text(s, tz, settings.default_currency))

    @r.message(Command("gifts"), flags=ANY)
    async def gifts(message: Message, session: AsyncSession, user: User) -> None:
        try:
            _client, points, items = await svc.customer_gifts(session, user)
        except DomainError:
            text, markup = customer_views.not_linked()
            await message.answer(text, reply_markup=markup)
            return
        await message.answer(
            views.gifts_text(points, items), reply_markup=views.gifts_keyboard(points, items)
        )

    @r.callback_query(LoyaltyCb.filter(F.action == "gpick"), flags=ANY)
    async def gift_pick(
        query: CallbackQuery, callback_data: LoyaltyCb, session: AsyncSession, user: User
    ) -> None:
        try:
            _client, points, items = await svc.customer_gifts(session, user)
        except DomainError:
            await query.answer(customer_views.not_linked()[0], show_alert=True)
            return
        gift = next((g for g in items if g.id == callback_data.id), None)
        if gift is None:
            await query.answer(views.error(DomainError("gift_gone")), show_alert=True)
            return
        if gift.points > points:
            await query.answer(
                views.error(DomainError("points_over_balance", balance=points)), show_alert=True
            )
            return
        text, markup = views.gift_confirm(gift, secrets.randbelow(2**31 - 1) + 1)
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(text, reply_markup=markup)

    @r.callback_query(LoyaltyCb.filter(F.action == "greq"), flags=ANY)
    async def gift_request(
        query: CallbackQuery, callback_data: LoyaltyCb, session: AsyncSession, user: User, clock: Clock
    ) -> None:
        if callback_data.arg <= 0:
            await query.answer(
                _("This button is no longer valid. Send /start to begin again."), show_alert=True
            )
            return
        try:
            done = await svc.request_gift(session, user, callback_data.id, callback_data.arg, clock.now())
        except DomainError as e:
            text = customer_views.not_linked()[0] if e.code == "not_linked" else views.error(e)
            await query.answer(text, show_alert=True)
            return
        request = done.request
        text = views.gift_requested(request.gift_name, request.points, done.balance, again=not done.created)
        if not done.created:
            await query.answer(text, show_alert=True)
            return
        await query.answer()
        await edit_or_send(query, text)

    @r.callback_query(LoyaltyCb.filter(F.action == "gno"), flags=ANY)
    async def gift_no(query: CallbackQuery) -> None:
        await query.answer()
        await edit_or_send(query, _("OK, nothing was requested."))

    @r.message(Command("referral"), flags=ANY)
    async def referral(message: Message, session: AsyncSession, user: User, clock: Clock, bot: Bot) -> None:
        try:
            code = await svc.customer_referral_code(session, user, clock.now())
        except DomainError:
            text, markup = customer_views.not_linked()
            await message.answer(text, reply_markup=markup)
            return
        me = await bot.me()
        link = f"https://t.me/{me.username}?start={svc.REFERRAL_PREFIX}{code}"
        prog = await svc.program(session)
        await message.answer(
            views.referral_text(link, prog.referral_bonus), reply_markup=views.referral_keyboard(link)
        )

    # --- /loyalty: settings and the gift catalog (admins) ---

    @r.message(Command("loyalty"), flags=ADMIN)
    async def settings_command(message: Message, session: AsyncSession, settings: Settings) -> None:
        prog = await svc.program(session)
        await message.answer(
            views.settings_text(prog, settings.default_currency),
            reply_markup=views.settings_keyboard(svc.SETTING_FIELDS),
        )

    @r.callback_query(LoyaltyCb.filter(F.action == "settings"), flags=ADMIN)
    async def settings_button(query: CallbackQuery, session: AsyncSession, settings: Settings) -> None:
        prog = await svc.program(session)
        await edit_or_send(
            query,
            views.settings_text(prog, settings.default_currency),
            views.settings_keyboard(svc.SETTING_FIELDS),
        )
        await query.answer()

    @r.callback_query(LoyaltyCb.filter(F.action == "set"), flags=ADMIN)
    async def setting_button(
        query: CallbackQuery,
        callback_data: LoyaltyCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        if not 0 <= callback_data.arg < len(svc.SETTING_FIELDS):
            await query.answer(
                _("This button is no longer valid. Send /start to begin again."), show_alert=True
            )
            return
        await begin_dialog(state, Setup.value, field=svc.SETTING_FIELDS[callback_data.arg])
        await query.answer()
        if isinstance(query.message, Message):
            await ask(query.message, Ctx(session, user, state, clock, settings))

    @r.callback_query(LoyaltyCb.filter(F.action == "catalog"), flags=ADMIN)
    async def catalog_button(query: CallbackQuery, session: AsyncSession) -> None:
        gifts = await svc.catalog(session, active_only=False)
        await edit_or_send(query, views.catalog_text(gifts), views.catalog_keyboard(gifts))
        await query.answer()

    @r.callback_query(LoyaltyCb.filter(F.action == "gtoggle"), flags=ADMIN)
    async def gift_toggle(
        query: CallbackQuery, callback_data: LoyaltyCb, session: AsyncSession, user: User
    ) -> None:
        try:
            gift = await svc.toggle_gift(session, user, callback_data.id)
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        gifts = await svc.catalog(session, active_only=False)
        await edit_or_send(query, views.catalog_text(gifts), views.catalog_keyboard(gifts))
        await query.answer(_("Shown to customers.") if gift.active else _("Hidden from customers."))

    @r.callback_query(LoyaltyCb.filter(F.action == "gadd"), flags=ADMIN)
    async def gift_add(
        query: CallbackQuery,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        await begin_dialog(state, Setup.gift)
        await query.answer()
        if isinstance(query.message, Message):
            await ask(query.message, Ctx(session, user, state, clock, settings))

    @r.callback_query(LoyaltyCb.filter(), flags=ANY)
    async def unknown_button(query: CallbackQuery) -> None:
        await query.answer(_("This button is no longer valid. Send /start to begin again."), show_alert=True)

    # --- typed answers in the dialogs (after the commands, so commands still work) ---

    @r.message(StateFilter(Buy, Reverse, Setup), F.text, ~F.text.startswith("/"), flags=STAFF)
    async def dialog_text(
        message: Message,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings)
        try:
            await typed(message, ctx, message.text or "")
        except DomainError as e:
            problem = _("Please use the buttons.") if e.code == "use_buttons" else views.error(e)
            text, markup = await prompt(ctx)
            await message.answer(f"{problem}\n\n{text}", reply_markup=markup)

    @r.message(StateFilter(Buy, Reverse, Setup), ~F.text, flags=STAFF)
    async def dialog_not_text(
        message: Message,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        ctx = Ctx(session, user, state, clock, settings)
        text, markup = await prompt(ctx)
        await message.answer(
            f"{_('Please answer with text (or use the buttons).')}\n\n{text}", reply_markup=markup
        )

    return r
