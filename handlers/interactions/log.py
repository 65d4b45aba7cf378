"""/log (or the card's 📝 button) → the client → kind → outcome → note (text or voice) → next step.

The next step is a time and a text ("tomorrow 10am call back"): saved as a reminder with the entry."""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardAction, ChoiceCb, ClientCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.edit import edit_or_send
from bot.messages import error_text
from bot.views import interactions as views
from bot.views import reminders as reminder_views
from services import interactions as service
from services import reminders as reminders_service
from services.access import visible_client
from services.errors import DomainError
from services.timeparse.resolve import split_when

STAFF = {"role": "staff"}
TEXT_INPUT = F.text & ~F.text.startswith("/")

router = Router(name="interactions.log")


class LogForm(StatesGroup):
    client = State()
    kind = State()
    outcome = State()
    note = State()
    next = State()
    next_what = State()


# --- choosing the client ---


async def pick(message: Message, ctx: Ctx, text: str) -> None:
    clients = await service.pick_clients(ctx.session, ctx.user, text, ctx.settings.default_region)
    await message.answer(
        views.picked_text(clients), reply_markup=views.picked_markup(clients) if clients else None
    )


@router.message(Command("log"), flags=STAFF)
async def log_command(message: Message, command: CommandObject, ctx: Ctx) -> None:
    await begin_dialog(ctx.state, LogForm.client)
    if command.args and command.args.strip():
        await pick(message, ctx, command.args)
        return
    await message.answer(views.ask_client_text())


@router.message(LogForm.client, TEXT_INPUT, flags=STAFF)
async def client_typed(message: Message, ctx: Ctx) -> None:
    await pick(message, ctx, message.text or "")


@router.message(LogForm.client, ~F.text, flags=STAFF)
async def client_not_text(message: Message, ctx: Ctx) -> None:
    await message.answer(views.ask_client_text())


@router.callback_query(ClientCb.filter(F.action == CardAction.log), flags=STAFF)
async def start_log(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    try:
        client = await visible_client(ctx.session, ctx.user, callback_data.client_id)
    except DomainError as e:
        await query.answer(error_text(e), show_alert=True)
        return
    await begin_dialog(ctx.state, LogForm.kind, client_id=client.id, client_name=client.name)
    await query.message.answer(views.ask_kind_text(client), reply_markup=views.kind_markup())  # type: ignore[union-attr]
    await query.answer()


# --- kind, outcome ---


@router.callback_query(LogForm.kind, ChoiceCb.filter(F.step == views.STEP_KIND), flags=STAFF)
async def kind_chosen(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    try:
        kind = service.kind_of(callback_data.value)
    except DomainError as e:
        await query.answer(views.error_message(e), show_alert=True)
        return
    data = await ctx.state.get_data()
    await next_step(ctx.state, LogForm.outcome, kind=kind.value)
    await edit_or_send(
        query, views.ask_outcome_text(data.get("client_name", ""), kind), views.outcome_markup()
    )
    await query.answer()


@router.callback_query(LogForm.outcome, ChoiceCb.filter(F.step == views.STEP_OUTCOME), flags=STAFF)
async def outcome_chosen(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    try:
        outcome = service.outcome_of(callback_data.value)
    except DomainError as e:
        await query.answer(views.error_message(e), show_alert=True)
        return
    data = await ctx.state.get_data()
    await next_step(ctx.state, LogForm.note, outcome=outcome.value)
    text = views.ask_note_text(data.get("client_name", ""), service.kind_of(data["kind"]), outcome)
    await edit_or_send(query, text, views.skip_markup(views.STEP_NOTE))
    await query.answer()


# --- the note: text, a voice message, or skip ---


async def to_next_step(message: Message, ctx: Ctx, note: str | None, voice: str | None) -> None:
    await next_step(ctx.state, LogForm.next, note=note, voice=voice)
    await message.answer(views.ask_next_text(), reply_markup=views.skip_markup(views.STEP_NEXT))


@router.message(LogForm.note, TEXT_INPUT, flags=STAFF)
async def note_typed(message: Message, ctx: Ctx) -> None:
    try:
        note = service.clean_note(message.text)
    except DomainError as e:
        await message.answer(views.error_message(e))
        return
    await to_next_step(message, ctx, note, None)


@router.message(LogForm.note, F.voice, flags=STAFF)
async def note_voice(message: Message, ctx: Ctx) -> None:
    try:
        caption = service.clean_note(message.caption)
    except DomainError as e:
        await message.answer(views.error_message(e))
        return
    await to_next_step(message, ctx, caption, message.voice.file_id)  # type: ignore[union-attr]


@router.message(LogForm.note, ~F.text, flags=STAFF)
async def note_other(message: Message, ctx: Ctx) -> None:
    await message.answer(
        _("Please send the note as text or a voice message, or press Skip."),
        reply_markup=views.skip_markup(views.STEP_NOTE),
    )


@router.callback_query(LogForm.note, ChoiceCb.filter(F.step == views.STEP_NOTE), flags=STAFF)
async def note_skipped(query: CallbackQuery, ctx: Ctx) -> None:
    await next_step(ctx.state, LogForm.next, note=None, voice=None)
    await edit_or_send(query, views.ask_next_text(), views.skip_markup(views.STEP_NEXT))
    await query.answer()


# --- the next step, then save ---


async def save(message: Message, ctx: Ctx, step: service.NextStep | None) -> None:
    """Log the contact the dialog's data describes (with its next step), confirm, end the dialog."""
    now = ctx.now()
    data = await ctx.state.get_data()
    await end_dialog(ctx.state)
    try:
        logged = await service.log_contact(
            ctx.session,
            ctx.user,
            int(data["client_id"]),
            service.kind_of(data["kind"]),
            service.outcome_of(data["outcome"]),
            now,
            note=data.get("note"),
            voice_file_id=data.get("voice"),
            next_step=step,
        )
    except (KeyError, TypeError, ValueError):
        await message.answer(_("This dialog has expired. Start again from the client's card."))
        return
    except DomainError as e:
        await message.answer(error_text(e))
        return
    await message.answer(
        views.saved_text(logged, ctx.tz, ctx.locale, now), reply_markup=views.saved_markup(logged.client)
    )


@router.message(LogForm.next, TEXT_INPUT, flags=STAFF)
async def next_typed(message: Message, ctx: Ctx) -> None:
    now, tz = ctx.now(), ctx.tz
    try:
        due_at, rest = split_when(message.text or "", now, tz, ctx.locale)
        text = reminders_service.clean_text(rest) if rest else None
    except DomainError as e:
        await message.answer(reminder_views.error_message(e, tz, ctx.locale, now))
        return
    if text is None:
        await next_step(ctx.state, LogForm.next_what, next_due=due_at.isoformat())
        when = reminder_views.when_text(due_at, tz, ctx.locale, now)
        await message.answer(views.ask_next_what_text(when))
        return
    await save(message, ctx, service.NextStep(text=text, due_at=due_at))


@router.message(LogForm.next_what, TEXT_INPUT, flags=STAFF)
async def next_what_typed(message: Message, ctx: Ctx) -> None:
    now = ctx.now()
    try:
        text = reminders_service.clean_text(message.text or "")
    except DomainError as e:
        await message.answer(reminder_views.error_message(e))
        return
    data = await ctx.state.get_data()
    try:
        due_at = datetime.fromisoformat(data["next_due"])
    except (KeyError, TypeError, ValueError):
        due_at = now
    if due_at <= now:
        await next_step(ctx.state, LogForm.next)
        await message.answer(reminder_views.error_message(DomainError("time_past")))
        return
    await save(message, ctx, service.NextStep(text, due_at))


@router.message(LogForm.next, ~F.text, flags=STAFF)
@router.message(LogForm.next_what, ~F.text, flags=STAFF)
async def next_not_text(message: Message, ctx: Ctx) -> None:
    await message.answer(_("Please send the next step as text, or press Skip."))


@router.callback_query(LogForm.next, ChoiceCb.filter(F.step == views.STEP_NEXT), flags=STAFF)
async def next_skipped(query: CallbackQuery, ctx: Ctx) -> None:
    await edit_or_send(query, views.ask_next_text() + "\n" + _("Skipped."))
    await save(query.message, ctx, None)  # type: ignore[arg-type]
    await query.answer()


# --- cancel, and buttons of a dialog that is over ---


@router.callback_query(ChoiceCb.filter(F.step == views.STEP_CANCEL), flags=STAFF)
async def cancelled(query: CallbackQuery, ctx: Ctx) -> None:
    current = await ctx.state.get_state()
    if current is not None and current.startswith(LogForm.__name__):
        await end_dialog(ctx.state)
    await edit_or_send(query, _("Cancelled. Nothing was saved."))
    await query.answer()


@router.callback_query(ChoiceCb.filter(F.step.in_(views.STEPS)), flags=STAFF)
async def stale_step(query: CallbackQuery, ctx: Ctx) -> None:
    await query.answer(_("This step is over. Start again from the client's card."), show_alert=True)
