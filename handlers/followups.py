"""/followups (admins): the rules for neglected clients, days per client class, changed with a button
and a typed number; and the morning digest's Open (the card as a new message, so the digest stays)
and "Snooze 7 days" buttons (the client's owner or an admin); its Log contact is the card's own.
The digests themselves are jobs (scheduler/followups.py)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.callbacks import FollowupAction, FollowupCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog
from bot.views import clients as client_views
from bot.views import followups as views
from handlers.clients.common import render_card
from services import card as card_service
from services import followups
from services.errors import DomainError

STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}
TYPED = (F.text, ~F.text.startswith("/"))

router = Router(name="followups")


class RuleForm(StatesGroup):
    days = State()


async def send_rules(message: Message, ctx: Ctx) -> None:
    rules = await followups.rules(ctx.session)
    await message.answer(views.rules_text(rules), reply_markup=views.rules_keyboard(rules))


@router.message(Command("followups"), flags=ADMIN)
async def followups_command(message: Message, ctx: Ctx) -> None:
    await send_rules(message, ctx)


@router.callback_query(FollowupCb.filter(F.action == FollowupAction.edit), flags=ADMIN)
async def edit_button(query: CallbackQuery, callback_data: FollowupCb, ctx: Ctx) -> None:
    if not 0 <= callback_data.arg < len(followups.SEGMENTS) or not isinstance(query.message, Message):
        await query.answer(views.stale_button(), show_alert=True)
        return
    segment = followups.SEGMENTS[callback_data.arg]
    await begin_dialog(ctx.state, RuleForm.days, segment=segment)
    rules = await followups.rules(ctx.session)
    await query.message.answer(views.days_prompt(segment, rules[segment]))
    await query.answer()


async def prompt_again(message: Message, ctx: Ctx, error: DomainError) -> None:
    segment = (await ctx.state.get_data()).get("segment", followups.VIP)
    rules = await followups.rules(ctx.session)
    await message.answer(f"{views.error(error)}\n\n{views.days_prompt(segment, rules[segment])}")


@router.message(RuleForm.days, *TYPED, flags=ADMIN)
async def days_typed(message: Message, ctx: Ctx) -> None:
    segment = (await ctx.state.get_data()).get("segment", "")
    try:
        days = await followups.set_rule(ctx.session, ctx.user, segment, message.text, ctx.now())
    except DomainError as e:
        if e.code == "bad_choice":
            await end_dialog(ctx.state)
            await message.answer(views.stale_button())
            return
        await prompt_again(message, ctx, e)
        return
    await end_dialog(ctx.state)
    await message.answer(views.rule_saved(segment, days))
    await send_rules(message, ctx)


@router.message(RuleForm.days, flags=ADMIN)
async def days_not_text(message: Message, ctx: Ctx) -> None:
    await prompt_again(message, ctx, DomainError("followup_days_empty"))


@router.callback_query(FollowupCb.filter(F.action == FollowupAction.snooze), flags=STAFF)
async def snooze_button(query: CallbackQuery, callback_data: FollowupCb, ctx: Ctx) -> None:
    try:
        done = await followups.snooze(ctx.session, ctx.user, callback_data.client_id, ctx.now())
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await query.answer(
        views.snoozed(done.client.name, done.until, ctx.tz, ctx.locale, done.changed), show_alert=True
    )


@router.callback_query(FollowupCb.filter(F.action == FollowupAction.open), flags=STAFF)
async def open_button(query: CallbackQuery, callback_data: FollowupCb, ctx: Ctx) -> None:
    try:
        data = await card_service.open_card(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(client_views.client_error(e), show_alert=True)
        return
    text, markup = render_card(data, ctx)
    if isinstance(query.message, Message):
        await query.message.answer(text, reply_markup=markup)
    await query.answer()
