"""Drip sequences (admins): /sequences — the list, a new sequence (its name typed), a step (the delay
from buttons or typed, then the text in the default language, or a photo or a document with it as the
caption, and optionally the other one, the placeholders and limits checked as for broadcasts), a
step's screen (link buttons as in broadcasts, its texts replaced, the step as a customer gets it, the
step deleted after a confirmation), Rename, the trigger, Activate / Deactivate, the per-step figures.
On the client card (staff): the client's drips with Stop, and Enrol by hand. A recipient's "I'm
interested" press is recorded once.

The dialog data holds the sequence's id under "sequence", the chosen delay under "delay", the
texts typed so far under "texts", the step's photo or document, [kind, file_id], under "media"; when
editing a step, its id under "step_id" (and the language of the text replaced under "language")."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.callbacks import CardAction, ClientCb, SequenceAction, SequenceCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.edit import edit_or_send
from bot.views import campaigns as campaign_views
from bot.views import sequences as views
from models.segments import SavedSegment
from models.sequences import Sequence, SequenceStep, Trigger
from services.campaigns.texts import Values, render
from services.errors import DomainError
from services.segments import query as segment_query
from services.segments import saved
from services.sequences import build, sending
from services.users import SUPPORTED_LANGUAGES

router = Router(name="sequences")
ADMIN = {"role": "admin"}
STAFF = {"role": "staff"}
ANY = {"role": "any"}
TYPED = (F.text, ~F.text.startswith("/"))
KEY = "sequence"


class Drip(StatesGroup):
    name = State()  # the new sequence's name
    delay = State()  # a step's delay (buttons or typed)
    text = State()  # the step's text in the default language
    other = State()  # in the other language (or Skip)
    tag = State()  # the trigger's tag
    link = State()  # a link button for a step ("step_id": its id)
    retext = State()  # a step's new text ("step_id", "language")
    rename = State()  # the sequence's new name


def _cb(action: SequenceAction) -> Any:
    return SequenceCb.filter(F.action == action)


T = TypeVar("T")


def _other(sequence: Sequence) -> str | None:
    return next((code for code in SUPPORTED_LANGUAGES if code != sequence.default_language), None)


async def _basis(ctx: Ctx) -> segment_query.Basis:
    return await segment_query.basis(
        ctx.session, ctx.now(), ctx.settings.default_currency, ctx.settings.default_language
    )


async def _screen(ctx: Ctx, sequence: Sequence) -> tuple[str, Any]:
    figures, enrolments = await build.figures(ctx.session, sequence.id)
    segment = await ctx.session.get(SavedSegment, sequence.segment_id) if sequence.segment_id else None
    text = views.sequence_text(sequence, figures, enrolments, segment.name if segment else None)
    return text, views.sequence_keyboard(sequence, [f.step for f in figures])


async def _pressed(query: CallbackQuery, cb: SequenceCb, ctx: Ctx) -> Sequence | None:
    """The sequence a button is about; else the press is answered and None."""
    try:
        return await build.of_admin(ctx.session, ctx.user, cb.id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return None


async def _dialog_sequence(ctx: Ctx) -> Sequence | None:
    sequence_id = (await ctx.state.get_data()).get(KEY)
    if not isinstance(sequence_id, int):
        return None
    try:
        return await build.of_admin(ctx.session, ctx.user, sequence_id)
    except DomainError:
        return None


async def _answer_screen(message: Message, ctx: Ctx, sequence: Sequence, note: str | None = None) -> None:
    text, markup = await _screen(ctx, sequence)
    await message.answer(f"{note}\n\n{text}" if note else text, reply_markup=markup)


async def _changed(
    query: CallbackQuery,
    ctx: Ctx,
    sequence: Sequence,
    change: Awaitable[T],
    note: Callable[[T], str] | None = None,
) -> None:
    """Apply a pressed change: a refusal as an alert, else the sequence's screen again (and the note)."""
    try:
        result = await change
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await edit_or_send(query, *await _screen(ctx, sequence))
    if note is None:
        await query.answer()
    else:
        await query.answer(note(result), show_alert=True)


# --- /sequences ---


@router.message(Command("sequences"), flags=ADMIN)
async def sequences_command(message: Message, ctx: Ctx) -> None:
    await end_dialog(ctx.state)
    listed = await build.listing(ctx.session, ctx.user)
    await message.answer(views.list_text(listed), reply_markup=views.list_keyboard(listed))


@router.callback_query(_cb(SequenceAction.list), flags=ADMIN)
async def list_pressed(query: CallbackQuery, ctx: Ctx) -> None:
    await end_dialog(ctx.state)
    listed = await build.listing(ctx.session, ctx.user)
    await edit_or_send(query, views.list_text(listed), views.list_keyboard(listed))
    await query.answer()


@router.callback_query(_cb(SequenceAction.new), flags=ADMIN)
async def new_pressed(query: CallbackQuery, ctx: Ctx) -> None:
    await begin_dialog(ctx.state, Drip.name)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(views.name_prompt())


@router.message(StateFilter(Drip.name), *TYPED, flags=ADMIN)
async def name_typed(message: Message, ctx: Ctx) -> None:
    try:
        sequence = await build.create(
            ctx.session, ctx.user, message.text, ctx.settings.default_language, ctx.now()
        )
    except DomainError as e:
        await message.answer(views.error(e))
        return
    await end_dialog(ctx.state)
    await _answer_screen(message, ctx, sequence)


@router.message(StateFilter(Drip.text), F.photo | F.document, flags=ADMIN)
async def media_sent(message: Message, ctx: Ctx) -> None:
    """A photo or a document with the step's text as its caption (or none), as in broadcasts."""
    await text_typed(message, ctx)


@router.message(
    StateFilter(Drip.name, Drip.delay, Drip.text, Drip.other, Drip.tag, Drip.link, Drip.retext, Drip.rename),
    ~F.text,
    flags=ADMIN,
)
async def not_text(message: Message) -> None:
    await message.answer(views.typed_not_text())


@router.callback_query(_cb(SequenceAction.open), flags=ADMIN)
async def open_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    await end_dialog(ctx.state)
    await edit_or_send(query, *await _screen(ctx, sequence))
    await query.answer()


# --- a step ---


@router.callback_query(_cb(SequenceAction.step), flags=ADMIN)
async def step_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    steps = await build.steps_of(ctx.session, sequence.id)
    if len(steps) >= build.MAX_STEPS:
        await query.answer(
            views.error(DomainError("sequence_steps_full", limit=build.MAX_STEPS)), show_alert=True
        )
        return
    await begin_dialog(ctx.state, Drip.delay, **{KEY: sequence.id})
    await query.answer()
    if isinstance(query.message, Message):
        text, markup = views.delay_prompt(sequence, first=not steps)
        await query.message.answer(text, reply_markup=markup)


async def _delay_chosen(message: Message, ctx: Ctx, sequence: Sequence, minutes: int) -> None:
    await next_step(ctx.state, Drip.text, **{KEY: sequence.id, "delay": minutes, "texts": {}})
    await message.answer(views.text_prompt(sequence.default_language, minutes))


@router.callback_query(_cb(SequenceAction.delay), flags=ADMIN)
async def delay_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _dialog_sequence(ctx)
    in_step = await ctx.state.get_state() == Drip.delay.state
    if (
        sequence is None
        or not in_step
        or sequence.id != callback_data.id
        or callback_data.arg not in views.DELAYS
    ):
        await query.answer(views.dialog_over(), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await _delay_chosen(query.message, ctx, sequence, callback_data.arg)


@router.message(StateFilter(Drip.delay), *TYPED, flags=ADMIN)
async def delay_typed(message: Message, ctx: Ctx) -> None:
    sequence = await _dialog_sequence(ctx)
    if sequence is None:
        await end_dialog(ctx.state)
        await message.answer(views.dialog_over())
        return
    try:
        minutes = build.parse_delay(message.text)
    except DomainError as e:
        await message.answer(views.error(e))
        return
    await _delay_chosen(message, ctx, sequence, minutes)


async def _save_step(message: Message, ctx: Ctx, sequence: Sequence) -> None:
    data = await ctx.state.get_data()
    try:
        kind, file_id = data.get("media") or (None, None)
        step = await build.add_step(
            ctx.session, sequence, int(data.get("delay", 0)), dict(data.get("texts") or {}), (kind, file_id)
        )
    except DomainError as e:
        await end_dialog(ctx.state)
        await message.answer(views.error(e))
        return
    await end_dialog(ctx.state)
    await _answer_screen(message, ctx, sequence, views.step_added(step.position))


@router.message(StateFilter(Drip.text, Drip.other), *TYPED, flags=ADMIN)
async def text_typed(message: Message, ctx: Ctx) -> None:
    sequence = await _dialog_sequence(ctx)
    if sequence is None:
        await end_dialog(ctx.state)
        await message.answer(views.dialog_over())
        return
    default = await ctx.state.get_state() == Drip.text.state
    language = sequence.default_language if default else (_other(sequence) or sequence.default_language)
    data = await ctx.state.get_data()
    media = campaign_views.media_of(message) if default else data.get("media")
    try:
        text = build.check_texts({language: message.html_text}, media=media is not None)[language]
    except DomainError as e:
        await message.answer(views.error(e))
        return
    texts = {**(data.get("texts") or {}), language: text}
    other = _other(sequence)
    if default and other is not None:
        await next_step(ctx.state, Drip.other, texts=texts, media=list(media) if media else None)
        prompt, markup = views.other_prompt(sequence, other)
        await message.answer(prompt, reply_markup=markup)
        return
    await ctx.state.update_data(texts=texts, media=list(media) if media else None)
    await _save_step(message, ctx, sequence)


@router.callback_query(_cb(SequenceAction.skip), flags=ADMIN)
async def skip_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _dialog_sequence(ctx)
    if sequence is None or sequence.id != callback_data.id or await ctx.state.get_state() != Drip.other.state:
        await query.answer(views.dialog_over(), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        await _save_step(query.message, ctx, sequence)


@router.callback_query(_cb(SequenceAction.interest), flags=ADMIN)
async def interest_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    try:
        step = await build.step_of(ctx.session, sequence, callback_data.arg)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    step.interested = not step.interested
    await ctx.session.flush()
    await edit_or_send(query, *await _screen(ctx, sequence))
    await query.answer(views.interest_toggled())


# --- editing: a step's screen, its links and texts, deleting it; the sequence's name ---


async def _pressed_step(
    query: CallbackQuery, cb: SequenceCb, ctx: Ctx
) -> tuple[Sequence, SequenceStep] | None:
    """The sequence and the step a button is about; else the press is answered and None (a step
    deleted meanwhile, or a forged button)."""
    sequence = await _pressed(query, cb, ctx)
    if sequence is None:
        return None
    try:
        return sequence, await build.step_of(ctx.session, sequence, cb.arg)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return None


async def _dialog_step(message: Message, ctx: Ctx) -> tuple[Sequence, SequenceStep] | None:
    """The sequence and the step of the dialog in progress; else the dialog ends, said so, and None."""
    sequence = await _dialog_sequence(ctx)
    step_id = (await ctx.state.get_data()).get("step_id")
    try:
        if sequence is not None and isinstance(step_id, int):
            return sequence, await build.step_of(ctx.session, sequence, step_id)
    except DomainError:
        pass
    await end_dialog(ctx.state)
    await message.answer(views.dialog_over())
    return None


async def _answer_step(message: Message, sequence: Sequence, step: SequenceStep, note: str) -> None:
    await message.answer(
        f"{note}\n\n{views.step_text(sequence, step)}", reply_markup=views.step_keyboard(sequence, step)
    )


@router.callback_query(_cb(SequenceAction.edit), flags=ADMIN)
async def edit_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    found = await _pressed_step(query, callback_data, ctx)
    if found is None:
        return
    await end_dialog(ctx.state)
    await edit_or_send(query, views.step_text(*found), views.step_keyboard(*found))
    await query.answer()


@router.callback_query(_cb(SequenceAction.link), flags=ADMIN)
async def link_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    found = await _pressed_step(query, callback_data, ctx)
    if found is None:
        return
    sequence, step = found
    await begin_dialog(ctx.state, Drip.link, **{KEY: sequence.id, "step_id": step.id})
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(campaign_views.link_prompt())


@router.message(StateFilter(Drip.link), *TYPED, flags=ADMIN)
async def link_typed(message: Message, ctx: Ctx) -> None:
    found = await _dialog_step(message, ctx)
    if found is None:
        return
    try:
        build.add_link(found[1], message.text)
    except DomainError as e:
        await message.answer(views.error(e))
        return
    await ctx.session.flush()
    await end_dialog(ctx.state)
    await _answer_step(message, *found, views.saved())


@router.callback_query(_cb(SequenceAction.unlink), flags=ADMIN)
async def unlink_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    found = await _pressed_step(query, callback_data, ctx)
    if found is None:
        return
    build.clear_links(found[1])
    await ctx.session.flush()
    await edit_or_send(query, views.step_text(*found), views.step_keyboard(*found))
    await query.answer(views.saved())


@router.callback_query(_cb(SequenceAction.retext), flags=ADMIN)
@router.callback_query(_cb(SequenceAction.retext_other), flags=ADMIN)
async def retext_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    found = await _pressed_step(query, callback_data, ctx)
    if found is None:
        return
    sequence, step = found
    language = sequence.default_language
    if callback_data.action == SequenceAction.retext_other:
        language = _other(sequence) or language
    await begin_dialog(ctx.state, Drip.retext, **{KEY: sequence.id, "step_id": step.id, "language": language})
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(views.retext_prompt(language, step.media_kind is not None))


@router.message(StateFilter(Drip.retext), *TYPED, flags=ADMIN)
async def retext_typed(message: Message, ctx: Ctx) -> None:
    found = await _dialog_step(message, ctx)
    if found is None:
        return
    language = (await ctx.state.get_data()).get("language")
    try:
        build.set_step_text(found[1], str(language), message.html_text)
    except DomainError as e:
        await message.answer(views.error(e))
        return
    await ctx.session.flush()
    await end_dialog(ctx.state)
    await _answer_step(message, *found, views.saved())


@router.callback_query(_cb(SequenceAction.preview), flags=ADMIN)
async def preview_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    """The step as a recipient gets it (its photo or document, the caption, the buttons), in each
    language typed, with the admin's own name in the placeholders."""
    found = await _pressed_step(query, callback_data, ctx)
    if found is None:
        return
    step = found[1]
    await query.answer()
    if not isinstance(query.message, Message):
        return
    values = Values(first_name=ctx.user.first_name, points=0, tier="", manager=ctx.user.display_name)
    for language, template in (step.texts or {}).items():
        with ctx.i18n.use_locale(language):
            markup = views.recipient_markup(0, 0, step.interested, step.buttons or ())
            text = render(template, values)
            await campaign_views.show(query.message, (step.media_kind, step.media_file_id), text, markup)


@router.callback_query(_cb(SequenceAction.delete), flags=ADMIN)
async def delete_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    found = await _pressed_step(query, callback_data, ctx)
    if found is None:
        return
    await end_dialog(ctx.state)
    await edit_or_send(query, *views.delete_confirm(*found))
    await query.answer()


@router.callback_query(_cb(SequenceAction.sure), flags=ADMIN)
async def sure_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    try:
        position = await build.delete_step(ctx.session, sequence, callback_data.arg, ctx.now())
    except DomainError as e:  # deleted already (pressed twice), a forged button, being sent now
        await query.answer(views.error(e), show_alert=True)
        return
    text, markup = await _screen(ctx, sequence)
    await edit_or_send(query, f"{views.step_deleted(position)}\n\n{text}", markup)
    await query.answer()


@router.callback_query(_cb(SequenceAction.rename), flags=ADMIN)
async def rename_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    await begin_dialog(ctx.state, Drip.rename, **{KEY: sequence.id})
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(views.rename_prompt())


@router.message(StateFilter(Drip.rename), *TYPED, flags=ADMIN)
async def rename_typed(message: Message, ctx: Ctx) -> None:
    sequence = await _dialog_sequence(ctx)
    if sequence is None:
        await end_dialog(ctx.state)
        await message.answer(views.dialog_over())
        return
    try:
        await build.rename(ctx.session, sequence, message.text)
    except DomainError as e:
        await message.answer(views.error(e))
        return
    await end_dialog(ctx.state)
    await _answer_screen(message, ctx, sequence, views.saved())


# --- the trigger ---


@router.callback_query(_cb(SequenceAction.trigger), flags=ADMIN)
async def trigger_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    if sequence.active:
        await query.answer(views.error(DomainError("sequence_active")), show_alert=True)
        return
    if callback_data.arg == 0:
        await edit_or_send(query, *views.trigger_keyboard(sequence))
        await query.answer()
        return
    if not 1 <= callback_data.arg <= len(views.TRIGGERS):
        await query.answer(views.error(DomainError("not_found")), show_alert=True)
        return
    trigger = views.TRIGGERS[callback_data.arg - 1]
    if trigger == Trigger.tag:
        await begin_dialog(ctx.state, Drip.tag, **{KEY: sequence.id})
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(views.tag_prompt())
        return
    if trigger == Trigger.stage:
        await edit_or_send(query, *views.stage_keyboard(sequence, ctx.settings.deal_stages))
        await query.answer()
        return
    if trigger == Trigger.segment:
        listed = await saved.listing(ctx.session, ctx.user, 0)
        await edit_or_send(query, *views.segment_keyboard(sequence, listed.items))
        await query.answer()
        return
    await build.set_trigger(ctx.session, ctx.user, sequence, trigger)
    await edit_or_send(query, *await _screen(ctx, sequence))
    await query.answer()


@router.message(StateFilter(Drip.tag), *TYPED, flags=ADMIN)
async def tag_typed(message: Message, ctx: Ctx) -> None:
    sequence = await _dialog_sequence(ctx)
    if sequence is None:
        await end_dialog(ctx.state)
        await message.answer(views.dialog_over())
        return
    try:
        await build.set_trigger(ctx.session, ctx.user, sequence, Trigger.tag, arg=message.text)
    except DomainError as e:
        await message.answer(views.error(e))
        return
    await end_dialog(ctx.state)
    await _answer_screen(message, ctx, sequence)


@router.callback_query(_cb(SequenceAction.stage), flags=ADMIN)
async def stage_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    stages = ctx.settings.deal_stages
    stage = stages[callback_data.arg - 1] if 1 <= callback_data.arg <= len(stages) else None
    change = build.set_trigger(ctx.session, ctx.user, sequence, Trigger.stage, arg=stage, stages=stages)
    await _changed(query, ctx, sequence, change)


@router.callback_query(_cb(SequenceAction.segment), flags=ADMIN)
async def segment_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    change = build.set_trigger(ctx.session, ctx.user, sequence, Trigger.segment, segment_id=callback_data.arg)
    await _changed(query, ctx, sequence, change)


# --- activate / deactivate ---


@router.callback_query(_cb(SequenceAction.on), flags=ADMIN)
async def on_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    change = build.activate(ctx.session, sequence, ctx.now(), await _basis(ctx))
    await _changed(query, ctx, sequence, change, lambda _: views.activated())


@router.callback_query(_cb(SequenceAction.off), flags=ADMIN)
async def off_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    sequence = await _pressed(query, callback_data, ctx)
    if sequence is None:
        return
    await _changed(
        query, ctx, sequence, build.deactivate(ctx.session, sequence, ctx.now()), views.deactivated
    )


# --- the client card: the client's drips ---


async def _panel(query: CallbackQuery, ctx: Ctx, client_id: int, note: str | None = None) -> None:
    try:
        client, current, available = await build.client_panel(ctx.session, ctx.user, client_id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    text = views.panel_text(client, current, ctx.tz, ctx.locale)
    await edit_or_send(query, text, views.panel_keyboard(client, current, available))
    await query.answer(note)


@router.callback_query(ClientCb.filter(F.action == CardAction.drips), flags=STAFF)
async def panel_pressed(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    await _panel(query, ctx, callback_data.client_id)


@router.callback_query(_cb(SequenceAction.enrol), flags=STAFF)
async def enrol_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    try:
        enrolment = await build.enrol_by_hand(
            ctx.session, ctx.user, callback_data.arg, callback_data.id, ctx.now()
        )
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    sequence = await ctx.session.get(Sequence, enrolment.sequence_id)
    await _panel(query, ctx, enrolment.client_id, views.enrolled(sequence.name if sequence else "?"))


@router.callback_query(_cb(SequenceAction.stop), flags=STAFF)
async def stop_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    try:
        enrolment = await build.stop_by_hand(ctx.session, ctx.user, callback_data.id, ctx.now())
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    sequence = await ctx.session.get(Sequence, enrolment.sequence_id)
    await _panel(query, ctx, enrolment.client_id, views.stopped(sequence.name if sequence else "?"))


# --- a recipient's "I'm interested" ---


@router.callback_query(_cb(SequenceAction.interested), flags=ANY)
async def interested_pressed(query: CallbackQuery, callback_data: SequenceCb, ctx: Ctx) -> None:
    try:
        new = await sending.click(ctx.session, callback_data.id, ctx.user.id, ctx.now())
    except DomainError:
        await query.answer(campaign_views.interest_unknown(), show_alert=True)
        return
    await query.answer(
        campaign_views.interest_thanks() if new else campaign_views.interest_again(), show_alert=True
    )
