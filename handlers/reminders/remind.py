"""/remind (or the card's ⏰ button): when → what, or both at once ("/remind tomorrow 10am call Ivan")."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardAction, ClientCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.messages import error_text
from bot.views import reminders as views
from services import reminders as reminders_service
from services.access import visible_client
from services.errors import DomainError
from services.timeparse.resolve import split_when

STAFF = {"role": "staff"}
TEXT_INPUT = F.text & ~F.text.startswith("/")

router = Router(name="reminders.remind")


class RemindForm(StatesGroup):
    when = State()
    what = State()


async def save(message: Message, ctx: Ctx, due_at: datetime, text: str) -> None:
    """Create the reminder (the dialog's data says which client), confirm, end the dialog."""
    data = await ctx.state.get_data()
    client = None
    if data.get("client_id"):
        try:
            client = await visible_client(ctx.session, ctx.user, int(data["client_id"]))
        except DomainError as e:
            await end_dialog(ctx.state)
            await message.answer(error_text(e))
            return
    await end_dialog(ctx.state)
    now = ctx.now()
    reminder = await reminders_service.create(
        ctx.session, ctx.user.id, text, due_at, now, client_id=client.id if client else None
    )
    when = views.when_text(due_at, ctx.tz, ctx.locale, now)
    await message.answer(
        views.created_text(reminder, client.name if client else None, when),
        reply_markup=views.created_markup(reminder),
    )


async def take_when(message: Message, ctx: Ctx, raw: str) -> None:
    """A time, maybe followed by the text. A bad time: say why and stay on this step."""
    now, tz = ctx.now(), ctx.tz
    try:
        due_at, rest = split_when(raw, now, tz, ctx.locale)
    except DomainError as e:
        await next_step(ctx.state, RemindForm.when)
        await message.answer(views.error_message(e, tz, ctx.locale))
        return
    data = await ctx.state.get_data()
    text = rest or data.get("text") or ""
    if not text:
        await next_step(ctx.state, RemindForm.what, due_at=due_at.isoformat())
        await message.answer(views.ask_what_text(views.when_text(due_at, tz, ctx.locale, now)))
        return
    try:
        text = reminders_service.clean_text(text)
    except DomainError as e:
        await next_step(ctx.state, RemindForm.what, due_at=due_at.isoformat(), text=None)
        await message.answer(views.error_message(e))
        return
    await save(message, ctx, due_at, text)


@router.message(Command("remind"), flags=STAFF)
async def remind(message: Message, command: CommandObject, ctx: Ctx) -> None:
    await begin_dialog(ctx.state, RemindForm.when)
    args = (command.args or "").strip()
    if not args:
        await message.answer(views.ask_when_text(None))
        return
    await take_when(message, ctx, args)


@router.callback_query(ClientCb.filter(F.action == CardAction.remind), flags=STAFF)
async def remind_from_card(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    try:
        client = await visible_client(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(error_text(e), show_alert=True)
        return
    await begin_dialog(ctx.state, RemindForm.when, client_id=client.id)
    await query.message.answer(views.ask_when_text(client.name))  # type: ignore[union-attr]
    await query.answer()


@router.message(RemindForm.when, TEXT_INPUT, flags=STAFF)
async def got_when(message: Message, ctx: Ctx) -> None:
    await take_when(message, ctx, message.text or "")


@router.message(RemindForm.what, TEXT_INPUT, flags=STAFF)
async def got_what(message: Message, ctx: Ctx) -> None:
    try:
        text = reminders_service.clean_text(message.text or "")
    except DomainError as e:
        await message.answer(views.error_message(e))
        return
    data = await ctx.state.get_data()
    try:
        due_at = datetime.fromisoformat(data["due_at"])
    except (KeyError, TypeError, ValueError):
        due_at = None
    if due_at is None or due_at <= ctx.now():
        # the time passed while they were typing: ask for it again, keep the text
        await next_step(ctx.state, RemindForm.when, text=text)
        await message.answer(views.error_message(DomainError("time_past")))
        return
    await save(message, ctx, due_at, text)


@router.message(RemindForm.when, ~F.text, flags=STAFF)
async def when_not_text(message: Message, ctx: Ctx) -> None:
    await message.answer(_("Please send the time as text.") + "\n" + views.examples())


@router.message(RemindForm.what, ~F.text, flags=STAFF)
async def what_not_text(message: Message, ctx: Ctx) -> None:
    await message.answer(_("Please send the reminder text as a message. /cancel to stop."))
