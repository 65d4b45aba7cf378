"""/add: one line ("/add Иван Петров +7 999 123-45-67 ООО Ромашка"), or without arguments a dialog
of five steps (name, phone, email, company, tags), each but the name skippable. A phone or email that
is already known stops the dialog with that client's card (or who owns it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChoiceCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.views import clients as views
from handlers.clients.common import (
    STAFF,
    chat_of,
    dialog_over,
    is_plain_text,
    say_cancelled,
    send_added,
    show_duplicate,
)
from services.clients.create import create
from services.clients.dedupe import Duplicate, duplicate_error, find_existing
from services.clients.fields import ClientData, clean_email, clean_name, clean_phones, clean_tags, clean_text
from services.clients.line import parse_line
from services.errors import DomainError

router = Router(name="clients.add")


class AddClient(StatesGroup):
    name = State()
    phone = State()
    email = State()
    company = State()
    tags = State()


ADD_STEPS = ("name", "phone", "email", "company", "tags")
ADD_STATES = {
    "name": AddClient.name,
    "phone": AddClient.phone,
    "email": AddClient.email,
    "company": AddClient.company,
    "tags": AddClient.tags,
}


def step_of(state_name: str | None) -> str | None:
    return next((s for s, st in ADD_STATES.items() if st.state == state_name), None)


# --- /add ---


@router.message(Command("add"), flags=STAFF)
async def add(message: Message, command: CommandObject, ctx: Ctx) -> None:
    if not (command.args or "").strip():
        await begin_dialog(ctx.state, AddClient.name, add={})
        await message.answer(
            views.add_prompt("name"), reply_markup=views.step_keyboard("add_name", skip=False)
        )
        return
    try:
        data = parse_line(command.args or "", ctx.settings.default_region)
        client = await create(ctx.session, ctx.user, data, ctx.now())
    except Duplicate as dup:
        await show_duplicate(ctx, message.chat.id, dup)
        return
    except DomainError as e:
        await message.answer(views.client_error(e))
        return
    await send_added(ctx, message.chat.id, client)


# --- the dialog's steps ---


async def prompt_step(ctx: Ctx, chat_id: int, step: str, error: str | None = None) -> None:
    text = views.add_prompt(step)
    if error:
        text = f"{error}\n\n{text}"
    await ctx.bot.send_message(
        chat_id, text, reply_markup=views.step_keyboard(f"add_{step}", skip=step != "name")
    )


async def advance(ctx: Ctx, chat_id: int, step: str, draft: dict[str, Any] | None = None) -> None:
    """The step after `step` (the draft saved with it), or after the last one the client itself."""
    following = ADD_STEPS.index(step) + 1
    if following < len(ADD_STEPS):
        data = {"add": draft} if draft is not None else {}
        await next_step(ctx.state, ADD_STATES[ADD_STEPS[following]], **data)
        await prompt_step(ctx, chat_id, ADD_STEPS[following])
        return
    if draft is None:
        draft = (await ctx.state.get_data()).get("add") or {}
    await finish_add(ctx, chat_id, draft)


async def finish_add(ctx: Ctx, chat_id: int, draft: dict[str, Any]) -> None:
    await end_dialog(ctx.state)
    data = ClientData(
        name=draft.get("name", ""),
        phones=list(draft.get("phones") or []),
        email=draft.get("email"),
        company=draft.get("company"),
        position=draft.get("position"),
        tags=list(draft.get("tags") or []),
    )
    try:
        client = await create(ctx.session, ctx.user, data, ctx.now())
    except Duplicate as dup:
        await show_duplicate(ctx, chat_id, dup)
        return
    await send_added(ctx, chat_id, client)


async def known_stops_dialog(ctx: Ctx, chat_id: int, **keys: Any) -> bool:
    """A phone or email already stored: the dialog ends with that client shown."""
    found = await find_existing(ctx.session, **keys)
    if found is None:
        return False
    dup = await duplicate_error(ctx.session, ctx.user, found)
    await end_dialog(ctx.state)
    await show_duplicate(ctx, chat_id, dup)
    return True


async def take(
    message: Message,
    ctx: Ctx,
    step: str,
    values: Callable[[str, Ctx], dict[str, Any]],
    known: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """One step's answer: `values` reads it into the draft (a DomainError asks again); `known` gives
    the keys a stored client may already have (then the dialog stops); then the next step."""
    chat = message.chat.id
    draft: dict[str, Any] = dict((await ctx.state.get_data()).get("add") or {})
    try:
        update = values(message.text or "", ctx)
    except DomainError as e:
        await prompt_step(ctx, chat, step, views.client_error(e))
        return
    draft.update(update)
    if known is not None and await known_stops_dialog(ctx, chat, **known(update)):
        return
    await advance(ctx, chat, step, draft)


# What each step's answer puts into the draft, and which keys may find a stored client.


def name_values(text: str, _ctx: Ctx) -> dict[str, Any]:
    return {"name": clean_name(text)}


def phone_values(text: str, ctx: Ctx) -> dict[str, Any]:
    return {"phones": clean_phones(text, ctx.settings.default_region)}


def phone_keys(update: dict[str, Any]) -> dict[str, Any]:
    return {"phones_e164": update["phones"]}


def email_values(text: str, _ctx: Ctx) -> dict[str, Any]:
    return {"email": clean_email(text)}


def email_keys(update: dict[str, Any]) -> dict[str, Any]:
    return {"email": update["email"]}


def company_values(text: str, _ctx: Ctx) -> dict[str, Any]:
    """The company, and after a comma the position (both optional)."""
    company, _sep, position = text.partition(",")
    return {"company": clean_text(company, "company"), "position": clean_text(position, "position")}


def tags_values(text: str, _ctx: Ctx) -> dict[str, Any]:
    return {"tags": clean_tags(text)}


@router.message(AddClient.name, is_plain_text, flags=STAFF)
async def add_name(message: Message, ctx: Ctx) -> None:
    await take(message, ctx, "name", name_values)


@router.message(AddClient.phone, is_plain_text, flags=STAFF)
async def add_phone(message: Message, ctx: Ctx) -> None:
    await take(message, ctx, "phone", phone_values, known=phone_keys)


@router.message(AddClient.email, is_plain_text, flags=STAFF)
async def add_email(message: Message, ctx: Ctx) -> None:
    await take(message, ctx, "email", email_values, known=email_keys)


@router.message(AddClient.company, is_plain_text, flags=STAFF)
async def add_company(message: Message, ctx: Ctx) -> None:
    await take(message, ctx, "company", company_values)


@router.message(AddClient.tags, is_plain_text, flags=STAFF)
async def add_tags(message: Message, ctx: Ctx) -> None:
    await take(message, ctx, "tags", tags_values)


@router.message(StateFilter(AddClient), ~F.text, flags=STAFF)
async def add_step_not_text(message: Message, ctx: Ctx) -> None:
    step = step_of(await ctx.state.get_state()) or "name"
    await prompt_step(ctx, message.chat.id, step, views.client_error(DomainError("send_text")))


# --- the dialog's buttons: Skip, Cancel ---


@router.callback_query(ChoiceCb.filter(F.step.startswith("add_") & (F.value == "cancel")), flags=STAFF)
async def add_cancel(query: CallbackQuery, ctx: Ctx) -> None:
    if step_of(await ctx.state.get_state()) is None:
        await dialog_over(query)
        return
    await end_dialog(ctx.state)
    await say_cancelled(query, ctx)


@router.callback_query(ChoiceCb.filter(F.step.startswith("add_")), flags=STAFF)
async def add_skip(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    step = callback_data.step.removeprefix("add_")
    current = step_of(await ctx.state.get_state())
    chat = chat_of(query)
    if current is None:
        await dialog_over(query)
        return
    if step == "name" and callback_data.value == "skip":
        await query.answer(_("The name can't be skipped."))
        await prompt_step(ctx, chat, "name")
        return
    if step != current:
        # Pressed twice, or an old step's button: say so and ask the current step again.
        await query.answer(_("That step is already done."))
        await prompt_step(ctx, chat, current)
        return
    await query.answer()
    await advance(ctx, chat, step)
