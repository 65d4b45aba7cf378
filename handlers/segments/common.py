"""What the /segments handlers share: the editor's dialog states and its draft, drawing each screen,
and the guard that refuses a button from an editing that is over or from an earlier screen.

The draft lives in the dialog data under "segment" until it is saved: {"id": 0 for a new segment,
"version": the version being edited, "editing": its name then, "name", "conditions": the versioned
JSON, "screen": the number of the screen drawn last (its buttons carry it), "pick": the condition
being made, "then_save": save once the name is typed}.
"""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup

from bot.callbacks import SegmentCb
from bot.context import Ctx
from bot.views import saved_segments as views
from models.clients import ClientStatus
from models.segments import SavedSegment
from services.access import sees_everything
from services.analytics.rfm import ABC
from services.analytics.segments import ORDER
from services.deals.rules import CLOSED_STAGES
from services.errors import DomainError
from services.segments import query, saved
from services.segments.conditions import FLAG_FIELDS, RANGE_FIELDS, Conditions, Field, TagMode, dump, parse
from services.users import SUPPORTED_LANGUAGES

STAFF = {"role": "staff"}
TYPED = (F.text, ~F.text.startswith("/"))  # a typed answer, not a command
KEY = "segment"


class SegmentEdit(StatesGroup):
    draft = State()  # the editor: name, conditions, live counts
    field = State()  # choosing what a new condition is on
    pick = State()  # choosing its values (tags and sources may be typed)
    number = State()  # typing a range
    name = State()  # typing the name


EDITOR_STATES = frozenset(s.state for s in SegmentEdit.__states__)


def scope_is_own(ctx: Ctx) -> bool:
    return not sees_everything(ctx.user)


async def basis(ctx: Ctx) -> query.Basis:
    return await query.basis(
        ctx.session, ctx.now(), ctx.settings.default_currency, ctx.settings.default_language
    )


def new_draft(segment: SavedSegment | None = None, conditions: Conditions | None = None) -> dict[str, Any]:
    if segment is None:
        return {
            "id": 0,
            "version": 0,
            "editing": None,
            "name": None,
            "conditions": dump(Conditions()),
            "screen": 0,
        }
    return {
        "id": segment.id,
        "version": segment.version,
        "editing": segment.name,
        "name": segment.name,
        "conditions": dump(conditions or Conditions()),
        "screen": 0,
    }


async def get_draft(ctx: Ctx) -> dict[str, Any] | None:
    if await ctx.state.get_state() not in EDITOR_STATES:
        return None
    draft = (await ctx.state.get_data()).get(KEY)
    return draft if isinstance(draft, dict) else None


async def put_draft(ctx: Ctx, draft: dict[str, Any]) -> None:
    await ctx.state.update_data(**{KEY: draft})


async def guard(query: CallbackQuery, cb: SegmentCb, ctx: Ctx, *states: State) -> dict[str, Any] | None:
    """The draft, when the button is of the editor's current screen at one of `states`; else the
    press is answered (the editing is over, or the button is from an earlier screen) and None."""
    draft = await get_draft(ctx)
    if draft is None:
        await query.answer(views.editing_over(), show_alert=True)
        return None
    if cb.v != draft.get("screen") or await ctx.state.get_state() not in {s.state for s in states}:
        await query.answer(views.earlier_screen(), show_alert=True)
        return None
    return draft


async def options_for(ctx: Ctx, field: Field, b: query.Basis) -> list[list[Any]]:
    """The values offered for a condition on `field`: [[value, its name if it is data], ...]."""
    if field == Field.status:
        return [[s.value, ""] for s in ClientStatus]
    if field == Field.rfm:
        return [[s.value, ""] for s in ORDER]
    if field == Field.abc:
        return [[c, ""] for c in ABC]
    if field == Field.tier:
        return [[t.name, ""] for t in b.tiers]
    if field == Field.language:
        return [[code, ""] for code in SUPPORTED_LANGUAGES]
    if field == Field.deal_stage:
        return [[s, ""] for s in ctx.settings.deal_stages if s not in CLOSED_STAGES]
    if field == Field.owner:
        return [[u.id, u.display_name] for u in await saved.owner_choices(ctx.session)]
    return [[v, ""] for v in await saved.top_values(ctx.session, ctx.user, field)]


async def start_pick(ctx: Ctx, draft: dict[str, Any], field: Field) -> State:
    """Begin a condition on `field`: the state its values are asked in."""
    if field in RANGE_FIELDS:
        draft["pick"] = {"field": field.value}
        return SegmentEdit.number
    if field in FLAG_FIELDS:
        draft["pick"] = {"field": field.value}
        return SegmentEdit.pick
    options = await options_for(ctx, field, await basis(ctx))
    draft["pick"] = {"field": field.value, "options": options, "chosen": [], "mode": TagMode.any.value}
    return SegmentEdit.pick


async def prompt(ctx: Ctx) -> tuple[str, InlineKeyboardMarkup]:
    """The editor's current screen (a new number: the buttons of the one before stop working)."""
    state = await ctx.state.get_state()
    draft = await get_draft(ctx)
    if draft is None:  # not reachable from the handlers: each checks the draft first
        raise DomainError("segment_invalid")
    draft["screen"] = int(draft.get("screen", 0)) + 1
    await put_draft(ctx, draft)
    screen = draft["screen"]
    pick = draft.get("pick") or {}
    if state == SegmentEdit.field.state:
        return views.fields_text(), views.fields_keyboard(screen, sees_everything(ctx.user))
    if state == SegmentEdit.pick.state:
        field = Field(pick["field"])
        options = [(v, n) for v, n in pick.get("options", [])]
        text = views.pick_text(field, bool(options))
        chosen, mode = set(pick.get("chosen", [])), TagMode(pick.get("mode", "any"))
        return text, views.pick_keyboard(screen, field, options, chosen, mode)
    if state == SegmentEdit.number.state:
        return views.range_prompt(Field(pick["field"])), views.back_keyboard(screen)
    if state == SegmentEdit.name.state:
        return views.name_prompt(draft.get("name"), saved.NAME_LIMIT), views.back_keyboard(screen)
    conditions = parse(draft["conditions"])
    names = await saved.names_of(ctx.session, views.owner_ids(conditions))
    fig = await query.figures(ctx.session, conditions, ctx.user, await basis(ctx))
    text = views.editor_text(
        draft.get("name"), draft.get("editing"), conditions, fig, names, scope_is_own(ctx)
    )
    return text, views.editor_keyboard(screen, conditions, names)


# --- saved segments ---


async def list_screen(ctx: Ctx, page: int, note: str = "") -> tuple[str, InlineKeyboardMarkup]:
    listed = await saved.listing(ctx.session, ctx.user, page)
    if not listed.items and listed.page > 0:
        listed = await saved.listing(ctx.session, ctx.user, 0)
    b = await basis(ctx)
    figures: dict[int, query.Figures | None] = {}
    for seg in listed.items:
        try:
            figures[seg.id] = await query.figures(ctx.session, saved.conditions_of(seg), ctx.user, b)
        except DomainError:
            figures[seg.id] = None
    creators = await saved.names_of(
        ctx.session, {s.created_by for s in listed.items if s.created_by != ctx.user.id}
    )
    text = views.list_text(listed, figures, creators, ctx.user.id)
    return (f"{note}\n\n{text}" if note else text), views.list_keyboard(listed, figures)


async def segment_screen(ctx: Ctx, segment: SavedSegment, note: str = "") -> tuple[str, InlineKeyboardMarkup]:
    try:
        conditions = saved.conditions_of(segment)
    except DomainError as e:
        return views.unreadable_text(segment, e), views.unreadable_keyboard(segment)
    names = await saved.names_of(ctx.session, views.owner_ids(conditions) | {segment.created_by})
    fig = await query.figures(ctx.session, conditions, ctx.user, await basis(ctx))
    by = names.get(segment.created_by) if segment.created_by != ctx.user.id else None
    text = views.segment_text(segment, conditions, fig, names, scope_is_own(ctx), by)
    return (f"{note}\n\n{text}" if note else text), views.segment_keyboard(segment)
