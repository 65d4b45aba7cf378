"""The segment editor (new or a saved one): add a condition (a field from buttons, then its values from
buttons; tags and sources may be typed, ranges are typed), remove one, name it, save. The live counts
are shown after every change. Each screen's buttons carry its number: a button from an earlier screen
or from an editing already over is answered so, never applied to the draft as it is now."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message

from bot.callbacks import SegmentAction, SegmentCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.edit import edit_or_send
from bot.views import saved_segments as views
from handlers.segments.common import (
    STAFF,
    TYPED,
    SegmentEdit,
    guard,
    list_screen,
    new_draft,
    prompt,
    put_draft,
    segment_screen,
    start_pick,
)
from services.access import sees_everything
from services.errors import DomainError
from services.segments import saved
from services.segments.conditions import (
    FLAG_FIELDS,
    MAX_VALUES,
    Conditions,
    Field,
    Flag,
    TagMode,
    clean_value,
    dump,
    parse,
    parse_condition,
    parse_range,
)

router = Router(name="segments.editor")
EDITOR = StateFilter(*SegmentEdit.__states__)


def _cb(action: SegmentAction) -> Any:
    return SegmentCb.filter(F.action == action)


async def show(query: CallbackQuery, ctx: Ctx, answer: str | None = None) -> None:
    """Draw the editor's current screen in place of the pressed message."""
    await edit_or_send(query, *await prompt(ctx))
    await query.answer(answer)


async def ask(message: Message, ctx: Ctx, note: str = "") -> None:
    """The editor's current screen as a new message (after a typed answer), `note` above it."""
    text, markup = await prompt(ctx)
    await message.answer(f"{note}\n\n{text}" if note else text, reply_markup=markup)


def _conditions(draft: dict[str, Any]) -> Conditions:
    return parse(draft["conditions"])


async def _back_to_draft(ctx: Ctx, draft: dict[str, Any], conditions: Conditions | None = None) -> None:
    if conditions is not None:
        draft["conditions"] = dump(conditions)
    draft["pick"], draft["then_save"] = None, False
    await put_draft(ctx, draft)
    await next_step(ctx.state, SegmentEdit.draft)


# --- starting ---


@router.callback_query(_cb(SegmentAction.new), flags=STAFF)
async def new_button(query: CallbackQuery, ctx: Ctx) -> None:
    await begin_dialog(ctx.state, SegmentEdit.draft, segment=new_draft())
    await show(query, ctx)


@router.callback_query(_cb(SegmentAction.edit), flags=STAFF)
async def edit_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    try:
        segment = await saved.visible(ctx.session, ctx.user, callback_data.id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        await edit_or_send(query, *await list_screen(ctx, 0))
        return
    if segment.version != callback_data.v:
        await query.answer(views.changed_since(), show_alert=True)
        await edit_or_send(query, *await segment_screen(ctx, segment))
        return
    try:
        conditions = saved.conditions_of(segment)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await begin_dialog(ctx.state, SegmentEdit.draft, segment=new_draft(segment, conditions))
    await show(query, ctx)


# --- the editor's buttons ---


@router.callback_query(_cb(SegmentAction.add), flags=STAFF)
async def add_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    draft = await guard(query, callback_data, ctx, SegmentEdit.draft)
    if draft is None:
        return
    try:
        _conditions(draft).adding(Flag(Field.linked, True))  # is there room for one more?
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await next_step(ctx.state, SegmentEdit.field)
    await show(query, ctx)


@router.callback_query(_cb(SegmentAction.field), flags=STAFF)
async def field_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    draft = await guard(query, callback_data, ctx, SegmentEdit.field)
    if draft is None:
        return
    if not 0 <= callback_data.arg < len(views.FIELDS):
        await query.answer(views.stale_button(), show_alert=True)
        return
    field = views.FIELDS[callback_data.arg]
    if field == Field.owner and not sees_everything(ctx.user):
        await query.answer(views.error(DomainError("segment_admin_field")), show_alert=True)
        return
    step = await start_pick(ctx, draft, field)
    await put_draft(ctx, draft)
    await next_step(ctx.state, step)
    await show(query, ctx)


@router.callback_query(_cb(SegmentAction.pick), flags=STAFF)
async def pick_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    """A value on or off; for a yes/no field the answer, which adds the condition."""
    draft = await guard(query, callback_data, ctx, SegmentEdit.pick)
    if draft is None:
        return
    pick = draft["pick"]
    field = Field(pick["field"])
    if field in FLAG_FIELDS:
        if callback_data.arg not in (0, 1):
            await query.answer(views.stale_button(), show_alert=True)
            return
        try:
            conditions = _conditions(draft).adding(Flag(field, callback_data.arg == 1))
        except DomainError as e:
            await query.answer(views.error(e), show_alert=True)
            return
        await _back_to_draft(ctx, draft, conditions)
        await show(query, ctx)
        return
    if not 0 <= callback_data.arg < len(pick["options"]):
        await query.answer(views.stale_button(), show_alert=True)
        return
    chosen = set(pick["chosen"]) ^ {callback_data.arg}
    pick["chosen"] = sorted(chosen)
    await put_draft(ctx, draft)
    await show(query, ctx)


@router.callback_query(_cb(SegmentAction.mode), flags=STAFF)
async def mode_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    draft = await guard(query, callback_data, ctx, SegmentEdit.pick)
    if draft is None:
        return
    if draft["pick"]["field"] != Field.tags or not 0 <= callback_data.arg < len(views.MODES):
        await query.answer(views.stale_button(), show_alert=True)
        return
    draft["pick"]["mode"] = views.MODES[callback_data.arg].value
    await put_draft(ctx, draft)
    await show(query, ctx)


@router.callback_query(_cb(SegmentAction.done), flags=STAFF)
async def done_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    """The values chosen: the condition is added (checked like a stored one)."""
    draft = await guard(query, callback_data, ctx, SegmentEdit.pick)
    if draft is None:
        return
    pick = draft["pick"]
    if pick["field"] in FLAG_FIELDS:
        await query.answer(views.earlier_screen(), show_alert=True)
        return
    raw: dict[str, Any] = {"field": pick["field"], "values": [pick["options"][i][0] for i in pick["chosen"]]}
    if pick["field"] == Field.tags:
        raw["mode"] = pick.get("mode", TagMode.any.value)
    try:
        conditions = _conditions(draft).adding(parse_condition(raw))
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await _back_to_draft(ctx, draft, conditions)
    await show(query, ctx)


@router.callback_query(_cb(SegmentAction.back), flags=STAFF)
async def back_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    draft = await guard(
        query, callback_data, ctx, SegmentEdit.field, SegmentEdit.pick, SegmentEdit.number, SegmentEdit.name
    )
    if draft is None:
        return
    await _back_to_draft(ctx, draft)
    await show(query, ctx)


@router.callback_query(_cb(SegmentAction.remove), flags=STAFF)
async def remove_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    draft = await guard(query, callback_data, ctx, SegmentEdit.draft)
    if draft is None:
        return
    try:
        conditions = _conditions(draft).without(callback_data.arg)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await _back_to_draft(ctx, draft, conditions)
    await show(query, ctx)


@router.callback_query(_cb(SegmentAction.rename), flags=STAFF)
async def rename_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    draft = await guard(query, callback_data, ctx, SegmentEdit.draft)
    if draft is None:
        return
    draft["then_save"] = False
    await put_draft(ctx, draft)
    await next_step(ctx.state, SegmentEdit.name)
    await show(query, ctx)


async def _save(ctx: Ctx, draft: dict[str, Any]) -> tuple[str, Any]:
    """Save the draft and end the editing: the saved segment's screen. DomainError when refused."""
    conditions = _conditions(draft)
    if draft["id"]:
        segment = await saved.update(
            ctx.session, ctx.user, draft["id"], draft["version"], draft["name"], conditions, ctx.now()
        )
    else:
        segment = await saved.create(ctx.session, ctx.user, draft["name"], conditions, ctx.now())
    await end_dialog(ctx.state)
    return await segment_screen(ctx, segment, views.saved_note())


@router.callback_query(_cb(SegmentAction.save), flags=STAFF)
async def save_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    draft = await guard(query, callback_data, ctx, SegmentEdit.draft)
    if draft is None:
        return
    if not draft.get("name"):  # named first, then saved
        draft["then_save"] = True
        await put_draft(ctx, draft)
        await next_step(ctx.state, SegmentEdit.name)
        await show(query, ctx)
        return
    try:
        text, markup = await _save(ctx, draft)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    await edit_or_send(query, text, markup)
    await query.answer(views.saved_note())


@router.callback_query(_cb(SegmentAction.leave), flags=STAFF)
async def leave_button(query: CallbackQuery, callback_data: SegmentCb, ctx: Ctx) -> None:
    draft = await guard(query, callback_data, ctx, *SegmentEdit.__states__)
    if draft is None:
        return
    await end_dialog(ctx.state)
    note = views.left_note()
    if draft["id"]:
        try:
            segment = await saved.visible(ctx.session, ctx.user, draft["id"])
        except DomainError:
            segment = None
        if segment is not None:
            await edit_or_send(query, *await segment_screen(ctx, segment, note))
            await query.answer(note)
            return
    await edit_or_send(query, *await list_screen(ctx, 0, note))
    await query.answer(note)


# --- typed answers ---


@router.message(SegmentEdit.number, *TYPED, flags=STAFF)
async def range_typed(message: Message, ctx: Ctx) -> None:
    draft = (await ctx.state.get_data())["segment"]
    field = Field(draft["pick"]["field"])
    try:
        conditions = _conditions(draft).adding(parse_range(field, message.text))
    except DomainError as e:
        await ask(message, ctx, views.error(e))
        return
    await _back_to_draft(ctx, draft, conditions)
    await ask(message, ctx)


@router.message(SegmentEdit.name, *TYPED, flags=STAFF)
async def name_typed(message: Message, ctx: Ctx) -> None:
    draft = (await ctx.state.get_data())["segment"]
    try:
        draft["name"] = await saved.check_name(ctx.session, ctx.user, message.text or "", draft["id"] or None)
    except DomainError as e:
        await ask(message, ctx, views.error(e))
        return
    then_save = bool(draft.get("then_save"))
    await _back_to_draft(ctx, draft)
    if not then_save:
        await ask(message, ctx)
        return
    try:
        text, markup = await _save(ctx, draft)
    except DomainError as e:
        await ask(message, ctx, views.error(e))
        return
    await message.answer(text, reply_markup=markup)


@router.message(SegmentEdit.pick, *TYPED, flags=STAFF)
async def value_typed(message: Message, ctx: Ctx) -> None:
    """A tag or a source typed in: offered and chosen at once."""
    draft = (await ctx.state.get_data())["segment"]
    pick = draft["pick"]
    field = Field(pick["field"])
    if field not in views.TYPED_VALUES:
        await ask(message, ctx, views.use_buttons())
        return
    try:
        value = clean_value(field, message.text)
        values = [v for v, _n in pick["options"]]
        if value not in values:
            if len(values) >= MAX_VALUES + saved.TOP_VALUES:
                raise DomainError("segment_values_many", limit=MAX_VALUES)
            pick["options"].append([value, ""])
            values.append(value)
    except DomainError as e:
        await ask(message, ctx, views.error(e))
        return
    pick["chosen"] = sorted(set(pick["chosen"]) | {values.index(value)})
    await put_draft(ctx, draft)
    await ask(message, ctx)


@router.message(StateFilter(SegmentEdit.draft, SegmentEdit.field), *TYPED, flags=STAFF)
async def text_on_buttons(message: Message, ctx: Ctx) -> None:
    await ask(message, ctx, views.use_buttons())


@router.message(EDITOR, ~F.text, flags=STAFF)
async def not_text(message: Message, ctx: Ctx) -> None:
    await ask(message, ctx, views.use_buttons())
