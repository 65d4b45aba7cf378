"""Edit on the card: the field menu, a field's dialog step (with Clear, and ru/en for the language),
the phones menu (remove a number, add some), and Note (a dated paragraph added to the note)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import CardAction, ChoiceCb, ClientCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog
from bot.edit import edit_or_send
from bot.formatting import local_dt
from bot.text import h
from bot.views import clients as views
from handlers.clients.common import (
    STAFF,
    chat_of,
    current_client,
    dialog_over,
    is_plain_text,
    say_cancelled,
    send_card,
    stale,
)
from models.clients import Client
from services import access
from services.clients.dedupe import Duplicate
from services.clients.edit import add_phones, append_note, remove_phone, set_field
from services.clients.fields import EDITABLE, NOTE_LIMIT, REQUIRED
from services.clients.records import Stale
from services.errors import DomainError

router = Router(name="clients.edit")


class EditClient(StatesGroup):
    value = State()
    phone = State()
    note = State()


Prompt = Callable[[Client], str]


# --- prompts ---


def edit_phone_prompt(client: Client) -> str:
    return _("📞 <b>{name}</b> — send the number to add (several: separate them with commas).").format(
        name=h(client.name)
    )


def note_prompt(client: Client) -> str:
    left = NOTE_LIMIT - (len(client.note) + 2 if client.note else 0)
    return _("🗒 <b>{name}</b> — send the text to add to the note ({left} characters left).").format(
        name=h(client.name), left=max(0, left)
    )


def edit_step(field: str, client: Client, ctx: Ctx, error: str | None = None) -> dict[str, Any]:
    text = views.edit_prompt(field, client, ctx.tz, ctx.locale)
    if error:
        text = f"{error}\n\n{text}"
    extra = [("🇷🇺 ru", "ru"), ("🇬🇧 en", "en")] if field == "language" else []
    markup = views.step_keyboard("edit", skip=False, clear=field not in REQUIRED, extra=extra)
    return {"text": text, "reply_markup": markup}


async def ask_again(message: Message, error: str, prompt: str) -> None:
    await message.answer(error + "\n\n" + prompt, reply_markup=views.step_keyboard("edit", skip=False))


# --- the card's buttons ---


@router.callback_query(ClientCb.filter(F.action == CardAction.edit), flags=STAFF)
async def edit_menu(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    """arg 0: the field menu; else the field's place in EDITABLE (from 1): its step, or its menu."""
    client = await current_client(query, callback_data, ctx)
    if client is None:
        return
    if callback_data.arg == 0:
        await edit_or_send(query, _("✏️ What do you want to change?"), views.edit_menu(client))
        await query.answer()
        return
    if not 1 <= callback_data.arg <= len(EDITABLE):
        await query.answer(views.client_error(DomainError("bad_field")), show_alert=True)
        return
    field = EDITABLE[callback_data.arg - 1]
    if field in ("phones", "status"):
        text, markup = views.phones_menu(client) if field == "phones" else views.status_menu(client)
        await edit_or_send(query, text, markup)
        await query.answer()
        return
    await begin_dialog(
        ctx.state, EditClient.value, edit={"id": client.id, "v": client.version, "field": field}
    )
    await query.answer()
    await ctx.bot.send_message(chat_of(query), **edit_step(field, client, ctx))


@router.callback_query(ClientCb.filter(F.action == CardAction.delphone), flags=STAFF)
async def delete_phone(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    """arg = the phone's id."""
    client = await current_client(query, callback_data, ctx)
    if client is None:
        return
    try:
        await remove_phone(ctx.session, ctx.user, client, callback_data.version, callback_data.arg, ctx.now())
    except Stale:
        await stale(query, ctx, client)
        return
    text, markup = views.phones_menu(client)
    await edit_or_send(query, text, markup)
    await query.answer(_("Removed."))


@router.callback_query(ClientCb.filter(F.action == CardAction.addphone), flags=STAFF)
async def ask_phone(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    await ask_for(query, callback_data, ctx, EditClient.phone, "phones", edit_phone_prompt)


@router.callback_query(ClientCb.filter(F.action == CardAction.note), flags=STAFF)
async def ask_note(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> None:
    await ask_for(query, callback_data, ctx, EditClient.note, "note", note_prompt)


async def ask_for(
    query: CallbackQuery, callback_data: ClientCb, ctx: Ctx, step: State, field: str, prompt: Prompt
) -> None:
    """Start the one-step dialog that edits `field` of the pressed card's client."""
    client = await current_client(query, callback_data, ctx)
    if client is None:
        return
    await begin_dialog(ctx.state, step, edit={"id": client.id, "v": client.version, "field": field})
    await query.answer()
    await ctx.bot.send_message(
        chat_of(query), prompt(client), reply_markup=views.step_keyboard("edit", skip=False)
    )


# --- the dialog's steps ---


async def editing(ctx: Ctx, chat_id: int) -> tuple[dict[str, Any], Client | None]:
    """The edit draft and its client; when the client is gone (merged, reassigned), the dialog
    ends and the person is told, and the client is None."""
    draft: dict[str, Any] = (await ctx.state.get_data()).get("edit") or {}
    try:
        client = await access.visible_client(ctx.session, ctx.user, int(draft.get("id", 0)))
    except DomainError as e:
        await end_dialog(ctx.state)
        await ctx.bot.send_message(chat_id, views.client_error(e))
        return draft, None
    return draft, client


async def stale_dialog(ctx: Ctx, chat_id: int, client: Client, e: Stale) -> None:
    """The card changed while the dialog was open: it ends, and the card is shown as it is now."""
    await end_dialog(ctx.state)
    await send_card(ctx, chat_id, client, views.client_error(e))


async def saved(ctx: Ctx, chat_id: int, client: Client, header: str) -> None:
    await end_dialog(ctx.state)
    await send_card(ctx, chat_id, client, header)


async def save_edit(event: Message | CallbackQuery, ctx: Ctx, value: str | None) -> None:
    chat = chat_of(event)
    draft, client = await editing(ctx, chat)
    if client is None:
        return
    field = draft.get("field", "")
    now = ctx.now()
    try:
        await set_field(
            ctx.session,
            ctx.user,
            client,
            int(draft.get("v", 0)),
            field,
            value,
            now,
            region=ctx.settings.default_region,
            today=now.date(),
        )
    except Stale as e:
        await stale_dialog(ctx, chat, client, e)
        return
    except Duplicate as dup:
        await ctx.bot.send_message(chat, **edit_step(field, client, ctx, views.duplicate_text(dup)))
        return
    except DomainError as e:
        await ctx.bot.send_message(chat, **edit_step(field, client, ctx, views.client_error(e)))
        return
    await saved(ctx, chat, client, _("✅ Saved."))


@router.message(EditClient.value, is_plain_text, flags=STAFF)
async def edit_value(message: Message, ctx: Ctx) -> None:
    await save_edit(message, ctx, message.text)


@router.callback_query(ChoiceCb.filter((F.step == "edit") & F.value.in_({"clear", "ru", "en"})), flags=STAFF)
async def edit_choice(query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> None:
    """Clear the field, or the language's ru/en buttons."""
    if await ctx.state.get_state() != EditClient.value.state:
        await dialog_over(query)
        return
    await query.answer()
    await save_edit(query, ctx, None if callback_data.value == "clear" else callback_data.value)


@router.message(EditClient.phone, is_plain_text, flags=STAFF)
async def edit_phone(message: Message, ctx: Ctx) -> None:
    chat = message.chat.id
    draft, client = await editing(ctx, chat)
    if client is None:
        return
    try:
        await add_phones(
            ctx.session,
            ctx.user,
            client,
            int(draft.get("v", 0)),
            message.text or "",
            ctx.now(),
            ctx.settings.default_region,
        )
    except Stale as e:
        await stale_dialog(ctx, chat, client, e)
        return
    except Duplicate as dup:
        await ask_again(message, views.duplicate_text(dup), edit_phone_prompt(client))
        return
    except DomainError as e:
        await ask_again(message, views.client_error(e), edit_phone_prompt(client))
        return
    await saved(ctx, chat, client, _("✅ Saved."))


@router.message(EditClient.note, is_plain_text, flags=STAFF)
async def add_note(message: Message, ctx: Ctx) -> None:
    chat = message.chat.id
    draft, client = await editing(ctx, chat)
    if client is None:
        return
    now = ctx.now()
    header = f"— {local_dt(now, ctx.tz, ctx.locale, 'd MMM y')}, {ctx.user.display_name[:60]}"
    try:
        await append_note(
            ctx.session, ctx.user, client, int(draft.get("v", 0)), message.text or "", header, now
        )
    except Stale as e:
        await stale_dialog(ctx, chat, client, e)
        return
    except DomainError as e:
        await ask_again(message, views.client_error(e), note_prompt(client))
        return
    await saved(ctx, chat, client, _("✅ Note added."))


@router.message(StateFilter(EditClient), ~F.text, flags=STAFF)
async def edit_not_text(message: Message, ctx: Ctx) -> None:
    draft, client = await editing(ctx, message.chat.id)
    if client is None:
        return
    error = views.client_error(DomainError("send_text"))
    current = await ctx.state.get_state()
    if current == EditClient.value.state:
        await message.answer(**edit_step(draft.get("field", "name"), client, ctx, error))
    elif current == EditClient.note.state:
        await ask_again(message, error, note_prompt(client))
    else:
        await ask_again(message, error, edit_phone_prompt(client))


@router.callback_query(ChoiceCb.filter((F.step == "edit") & (F.value == "cancel")), flags=STAFF)
async def edit_cancel(query: CallbackQuery, ctx: Ctx) -> None:
    if await ctx.state.get_state() not in {s.state for s in EditClient.__states__}:
        await dialog_over(query)
        return
    await end_dialog(ctx.state)
    await say_cancelled(query, ctx)
