"""/segments: the saved segments with their live counts, one segment (conditions, counts, its clients,
edit, delete), and the editor (add a condition from buttons, typed ranges and names, remove, save).

Conditions are described in plain text (button labels) and escaped for messages: tags, sources, tier
and segment names are what people typed. (The RFM segment names are in bot/views/segments.py.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import SegmentAction, SegmentCb
from bot.keyboards import LANGUAGE_NAMES, label
from bot.messages import error_text
from bot.text import h
from bot.views.clients import open_button, status_name
from bot.views.deals import stage_name
from bot.views.segments import abc_label, segment_label
from models.clients import ClientStatus
from models.segments import SavedSegment
from services.errors import DomainError
from services.segments.conditions import (
    FLAG_FIELDS,
    Choice,
    Condition,
    Conditions,
    Field,
    Flag,
    TagMode,
    Tags,
)
from services.segments.query import Figures
from services.segments.saved import ClientsPage, ListPage

# The editor's field buttons, in this order (SegmentCb.arg of "field" is the place here).
FIELDS = (
    Field.status,
    Field.tags,
    Field.rfm,
    Field.abc,
    Field.vip,
    Field.tier,
    Field.points,
    Field.purchase_days,
    Field.contact_days,
    Field.deal_stage,
    Field.birthday_month,
    Field.language,
    Field.linked,
    Field.source,
    Field.owner,
)
MODES = tuple(TagMode)
TYPED_VALUES = frozenset({Field.tags, Field.source})  # a value may also be typed
Names = Mapping[int, str]  # user id -> name (owners, creators)


def field_name(field: Field) -> str:
    return {
        Field.status: _("Status"),
        Field.tags: _("Tags"),
        Field.owner: _("Owner"),
        Field.rfm: _("RFM segment"),
        Field.abc: _("ABC class"),
        Field.vip: _("VIP"),
        Field.tier: _("Tier"),
        Field.points: _("Points balance"),
        Field.purchase_days: _("Days since the last purchase"),
        Field.contact_days: _("Days since the last contact"),
        Field.deal_stage: _("Open deal in stage"),
        Field.birthday_month: _("Birthday this month"),
        Field.language: _("Language"),
        Field.linked: _("Linked to the bot"),
        Field.source: _("Source"),
    }[field]


def value_label(field: Field, value: Any, names: Names) -> str:
    """One value of a condition as people read it (plain text)."""
    if field == Field.status and value in ClientStatus.__members__:
        return status_name(ClientStatus(value))
    if field == Field.rfm:
        return segment_label(str(value))
    if field == Field.abc:
        return abc_label(str(value))
    if field == Field.language:
        return LANGUAGE_NAMES.get(str(value), str(value))
    if field == Field.deal_stage:
        return stage_name(str(value))
    if field == Field.tags:
        return f"#{value}"
    if field == Field.owner:
        return names.get(int(value), _("person {id}").format(id=value))
    return str(value)


def range_text(low: int | None, high: int | None) -> str:
    if high is None:
        return _("{low} and more").format(low=low)
    if low in (None, 0):
        return _("up to {high}").format(high=high)
    if low == high:
        return _("exactly {n}").format(n=low)
    return f"{low}–{high}"


def describe(c: Condition, names: Names) -> str:
    """A condition in plain text: "Status: active or prospect", "Tags: none of #vip"."""
    field = field_name(c.field)
    if isinstance(c, Tags):
        tags = ", ".join(value_label(Field.tags, v, names) for v in c.values)
        how = {
            TagMode.any: _("any of {tags}"),
            TagMode.all: _("all of {tags}"),
            TagMode.none: _("none of {tags}"),
        }
        return f"{field}: " + how[c.mode].format(tags=tags)
    if isinstance(c, Choice):
        values = _(" or ").join(value_label(c.field, v, names) for v in c.values)
        return f"{field}: {values}"
    if isinstance(c, Flag):
        return f"{field}: " + (_("yes") if c.value else _("no"))
    return f"{field}: {range_text(c.low, c.high)}"


def owner_ids(conditions: Conditions) -> set[int]:
    return {
        int(v) for c in conditions.items if c.field == Field.owner and isinstance(c, Choice) for v in c.values
    }


def conditions_text(conditions: Conditions, names: Names) -> str:
    if not conditions.items:
        return _("No conditions: every client you see.")
    lines = [_("Conditions (all must hold):")]
    lines += [f"{i}. {h(describe(c, names))}" for i, c in enumerate(conditions.items, 1)]
    return "\n".join(lines)


def figures_text(fig: Figures, own_only: bool) -> str:
    lines = [
        _("👥 Clients: <b>{n}</b>").format(n=fig.clients)
        + (" " + _("(only your clients count)") if own_only else ""),
        _("📣 Reachable for offers now: <b>{n}</b>").format(n=fig.marketing),
        _("📝 Reachable for surveys now: <b>{n}</b>").format(n=fig.surveys),
    ]
    if fig.clients == 0:
        lines.append(_("⚠️ Nobody matches these conditions now."))
    lines.append(_("<i>Reachable: linked to the bot, hasn't blocked it, and agreed to such messages.</i>"))
    return "\n".join(lines)


# --- /segments: the list ---


def _cb(action: SegmentAction, **values: int) -> str:
    return SegmentCb(action=action, **values).pack()


def list_text(page: ListPage, figures: Mapping[int, Figures | None], creators: Names, viewer_id: int) -> str:
    lines = [
        _("🎯 <b>Segments</b>"),
        _("Saved filters over clients, each with its live count: campaigns pick their audience from them."),
        "",
    ]
    if not page.items:
        lines.append(_("No segments yet. Press «➕ New segment» to make one."))
        return "\n".join(lines)
    for seg in page.items:
        fig = figures.get(seg.id)
        if fig is None:
            counts = _("can't be read")
        else:
            counts = _("clients: {n}, reachable for offers: {m}").format(n=fig.clients, m=fig.marketing)
        by = ""
        if seg.created_by != viewer_id:
            by = " · " + h(creators.get(seg.created_by, str(seg.created_by)))
        lines.append(f"• <b>{h(seg.name)}</b> — {counts}{by}")
    return "\n".join(lines)


def list_keyboard(page: ListPage, figures: Mapping[int, Figures | None]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for seg in page.items:
        fig = figures.get(seg.id)
        count = f" ({fig.clients})" if fig is not None else ""
        kb.row(
            InlineKeyboardButton(
                text=label(f"🎯 {seg.name}{count}"), callback_data=_cb(SegmentAction.open, id=seg.id)
            )
        )
    nav = []
    if page.page > 0:
        nav.append(
            InlineKeyboardButton(
                text=_("◀ Previous"), callback_data=_cb(SegmentAction.list, page=page.page - 1)
            )
        )
    if page.has_next:
        nav.append(
            InlineKeyboardButton(text=_("Next ▶"), callback_data=_cb(SegmentAction.list, page=page.page + 1))
        )
    if nav:
        kb.row(*nav)
    kb.row(InlineKeyboardButton(text=_("➕ New segment"), callback_data=_cb(SegmentAction.new)))
    return kb.as_markup()


# --- one saved segment ---


def segment_text(
    seg: SavedSegment, conditions: Conditions, fig: Figures, names: Names, own_only: bool, by: str | None
) -> str:
    lines = [_("🎯 <b>{name}</b>").format(name=h(seg.name))]
    if by:
        lines.append(_("Made by {name}").format(name=h(by)))
    lines += ["", conditions_text(conditions, names), "", figures_text(fig, own_only)]
    return "\n".join(lines)


def segment_keyboard(seg: SavedSegment) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(
        InlineKeyboardButton(text=_("👥 Clients"), callback_data=_cb(SegmentAction.clients, id=seg.id)),
        InlineKeyboardButton(
            text=_("✏️ Edit"), callback_data=_cb(SegmentAction.edit, id=seg.id, v=seg.version)
        ),
    )
    kb.row(
        InlineKeyboardButton(
            text=_("🗑 Delete"), callback_data=_cb(SegmentAction.delete, id=seg.id, v=seg.version)
        )
    )
    kb.row(InlineKeyboardButton(text=_("« Segments"), callback_data=_cb(SegmentAction.list)))
    return kb.as_markup()


def unreadable_text(seg: SavedSegment, e: DomainError) -> str:
    return _("🎯 <b>{name}</b>").format(name=h(seg.name)) + "\n\n" + error(e)


def unreadable_keyboard(seg: SavedSegment) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(
        InlineKeyboardButton(
            text=_("🗑 Delete"), callback_data=_cb(SegmentAction.delete, id=seg.id, v=seg.version)
        )
    )
    kb.row(InlineKeyboardButton(text=_("« Segments"), callback_data=_cb(SegmentAction.list)))
    return kb.as_markup()


def clients_text(seg: SavedSegment, page: ClientsPage) -> str:
    title = _("👥 <b>{name}</b>: clients").format(name=h(seg.name))
    if not page.items:
        return (
            title
            + "\n"
            + (_("Nobody matches this segment now.") if page.page == 0 else _("No more clients."))
        )
    return title + "\n" + _("Page {n}. Open a client:").format(n=page.page + 1)


def clients_keyboard(seg: SavedSegment, page: ClientsPage) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for row in page.items:
        kb.row(open_button(row))
    nav = []
    if page.page > 0:
        nav.append(
            InlineKeyboardButton(
                text=_("◀ Previous"), callback_data=_cb(SegmentAction.clients, id=seg.id, page=page.page - 1)
            )
        )
    if page.has_next:
        nav.append(
            InlineKeyboardButton(
                text=_("Next ▶"), callback_data=_cb(SegmentAction.clients, id=seg.id, page=page.page + 1)
            )
        )
    if nav:
        kb.row(*nav)
    kb.row(
        InlineKeyboardButton(text=label(f"« {seg.name}"), callback_data=_cb(SegmentAction.open, id=seg.id))
    )
    return kb.as_markup()


def delete_text(seg: SavedSegment) -> str:
    return _("Delete the segment <b>{name}</b>? This can't be undone.").format(name=h(seg.name))


def delete_keyboard(seg: SavedSegment) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(
        InlineKeyboardButton(
            text=_("🗑 Yes, delete"), callback_data=_cb(SegmentAction.drop, id=seg.id, v=seg.version)
        ),
        InlineKeyboardButton(text=_("« Keep it"), callback_data=_cb(SegmentAction.open, id=seg.id)),
    )
    return kb.as_markup()


def deleted_note(name: str) -> str:
    return _("🗑 The segment <b>{name}</b> is deleted.").format(name=h(name))


def deleted_note_short() -> str:
    return _("Deleted.")


def saved_note() -> str:
    return _("✅ Saved.")


# --- the editor ---


def editor_text(
    name: str | None, editing: str | None, conditions: Conditions, fig: Figures, names: Names, own_only: bool
) -> str:
    if editing is None:
        title = _("🎯 <b>New segment</b>")
    else:
        title = _("✏️ <b>{name}</b>: editing").format(name=h(editing))
    named = _("Name: <b>{name}</b>").format(name=h(name)) if name else _("Name: not given yet")
    return "\n".join([title, named, "", conditions_text(conditions, names), "", figures_text(fig, own_only)])


def editor_keyboard(screen: int, conditions: Conditions, names: Names) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(InlineKeyboardButton(text=_("➕ Add a condition"), callback_data=_cb(SegmentAction.add, v=screen)))
    for i, c in enumerate(conditions.items):
        kb.row(
            InlineKeyboardButton(
                text=label(f"✖ {i + 1}. {describe(c, names)}"),
                callback_data=_cb(SegmentAction.remove, v=screen, arg=i),
            )
        )
    kb.row(
        InlineKeyboardButton(text=_("✏️ Name"), callback_data=_cb(SegmentAction.rename, v=screen)),
        InlineKeyboardButton(text=_("💾 Save"), callback_data=_cb(SegmentAction.save, v=screen)),
    )
    kb.row(
        InlineKeyboardButton(
            text=_("✖ Leave without saving"), callback_data=_cb(SegmentAction.leave, v=screen)
        )
    )
    return kb.as_markup()


def _back(screen: int) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("« Back"), callback_data=_cb(SegmentAction.back, v=screen))


def fields_text() -> str:
    return _("➕ What should the condition be on?")


def fields_keyboard(screen: int, admin: bool) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    buttons = [
        InlineKeyboardButton(
            text=label(field_name(f), 30), callback_data=_cb(SegmentAction.field, v=screen, arg=i)
        )
        for i, f in enumerate(FIELDS)
        if admin or f != Field.owner
    ]
    for i in range(0, len(buttons), 2):
        kb.row(*buttons[i : i + 2])
    kb.row(_back(screen))
    return kb.as_markup()


def pick_text(field: Field, has_options: bool) -> str:
    if field in FLAG_FIELDS:
        return _("<b>{field}</b>: yes or no?").format(field=h(field_name(field)))
    if field == Field.tags:
        text = _("<b>Tags</b>: press the tags, then choose any of / all of / none of them.")
    else:
        text = _("<b>{field}</b>: press one or more values (any of them will do).").format(
            field=h(field_name(field))
        )
    if field in TYPED_VALUES:
        if not has_options:
            text += "\n" + _("None among your clients yet: type one.")
        else:
            text += "\n" + _("Not in the list? Type it.")
    elif not has_options:
        text += "\n" + _("There is nothing to choose here yet.")
    return text


def pick_keyboard(
    screen: int,
    field: Field,
    options: Sequence[tuple[Any, str]],
    chosen: set[int],
    mode: TagMode,
) -> InlineKeyboardMarkup:
    """The values offered, each [value, its name when it is data (an owner)], the chosen ones ticked."""
    kb = InlineKeyboardBuilder()
    if field in FLAG_FIELDS:
        kb.row(
            InlineKeyboardButton(text=_("Yes"), callback_data=_cb(SegmentAction.pick, v=screen, arg=1)),
            InlineKeyboardButton(text=_("No"), callback_data=_cb(SegmentAction.pick, v=screen, arg=0)),
        )
        kb.row(_back(screen))
        return kb.as_markup()
    buttons = []
    for i, (value, name) in enumerate(options):
        text = name or value_label(field, value, {})
        buttons.append(
            InlineKeyboardButton(
                text=label(("✅ " if i in chosen else "") + text, 30),
                callback_data=_cb(SegmentAction.pick, v=screen, arg=i),
            )
        )
    for i in range(0, len(buttons), 2):
        kb.row(*buttons[i : i + 2])
    if field == Field.tags:
        words = {TagMode.any: _("any of"), TagMode.all: _("all of"), TagMode.none: _("none of")}
        kb.row(
            *[
                InlineKeyboardButton(
                    text=("🔘 " if m == mode else "⚪ ") + words[m],
                    callback_data=_cb(SegmentAction.mode, v=screen, arg=i),
                )
                for i, m in enumerate(MODES)
            ]
        )
    kb.row(
        InlineKeyboardButton(text=_("✅ Add the condition"), callback_data=_cb(SegmentAction.done, v=screen)),
        _back(screen),
    )
    return kb.as_markup()


def range_prompt(field: Field) -> str:
    if field == Field.points:
        return _(
            "<b>Points balance</b>: type a range, for example 100-500, 100+ (100 and more) "
            "or 0-100 (up to 100)."
        )
    if field == Field.purchase_days:
        return _(
            "<b>Days since the last purchase</b>: type a range, for example 30-90, 30+ (30 days and more) "
            "or 0-7 (within the last week). Clients who never bought don't match."
        )
    return _(
        "<b>Days since the last contact</b>: type a range, for example 14+ (no contact for 14 days and more) "
        "or 0-7 (within the last week). Clients never contacted don't match."
    )


def name_prompt(current: str | None, limit: int) -> str:
    text = _("Type the segment's name, up to {limit} characters.").format(limit=limit)
    if current:
        text += "\n" + _("Now: <b>{name}</b>").format(name=h(current))
    return text


def back_keyboard(screen: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.row(_back(screen))
    return kb.as_markup()


def left_note() -> str:
    return _("Left without saving.")


# --- answers ---


def error(e: DomainError) -> str:
    p = e.params
    texts = {
        "not_found": _("This segment no longer exists."),
        "segment_changed": _(
            "This segment was changed meanwhile (by you in another message, or by an admin). "
            "Nothing was saved: open it again."
        ),
        "segment_name_empty": _("The name can't be empty. Type a name."),
        "segment_name_long": _("The name is too long: at most {limit} characters.").format(
            limit=p.get("limit", "?")
        ),
        "segment_name_taken": _("You already have a segment called «{name}». Choose another name.").format(
            name=h(p.get("name", ""))
        ),
        "segment_admin_field": _("Only admins can make a condition on the owner."),
        "segment_owner_admin_only": _(
            "Only admins can have a condition on the owner: your segments count only your clients anyway. "
            "Remove it to save."
        ),
        "segment_too_many": _("At most {limit} conditions in a segment.").format(limit=p.get("limit", "?")),
        "segment_no_condition": _("That condition is no longer there."),
        "segment_values_empty": _("Choose at least one value."),
        "segment_values_many": _("At most {limit} values in one condition.").format(
            limit=p.get("limit", "?")
        ),
        "segment_value_invalid": _("That value can't be used here."),
        "segment_range_invalid": _(
            "That isn't a range of whole numbers. Type it like 100-500, 100+ or 0-100."
        ),
        "segment_range_negative": _("The numbers can't be negative. Type it like 100-500, 100+ or 0-100."),
        "segment_range_reversed": _(
            "The range is reversed: {low} is more than {high}. Type it like {high}-{low}."
        ).format(low=p.get("low", "?"), high=p.get("high", "?")),
        "segment_range_too_big": _("Too big: at most {limit}.").format(limit=p.get("limit", "?")),
        "segment_invalid": _("This segment can't be read. Delete it and make a new one."),
        "segment_field_unknown": _(
            "This segment has a condition this bot doesn't know. Delete it and make a new one."
        ),
        "segment_version": _("This segment was saved by a newer version of the bot and can't be read here."),
    }
    return texts.get(e.code) or error_text(e)


def stale_button() -> str:
    return _("This button is no longer valid. Send /segments to begin again.")


def editing_over() -> str:
    return _("This editing is over (saved or left). Send /segments to begin again.")


def earlier_screen() -> str:
    return _("This button is from an earlier screen: use the latest message.")


def use_buttons() -> str:
    return _("Please use the buttons of the latest message (or /cancel).")


def changed_since() -> str:
    return _("This segment changed since it was shown. Here it is now.")
