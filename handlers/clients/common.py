"""What the client base's handler modules share: role flags, filters, drawing the card, the
duplicate notice, loading the client a card button points at, and the keys of list pages."""

from __future__ import annotations

import hashlib

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ClientCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.text import split_message
from bot.views import clients as views
from models.clients import Client
from services import access
from services import card as card_service
from services.clients.card import CardData
from services.clients.dedupe import Duplicate
from services.clients.records import Stale
from services.errors import DomainError

STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}
KEEP_LISTS = 20
DIRECT_KEY_BYTES = 50  # "pg:" + key + ":" + page (any int) stays within Telegram's 64 bytes


# --- filters ---


async def is_staff(_event: object, ctx: Ctx) -> bool:
    """Shared contacts and files from customers are not for us: the fallback answers them."""
    return ctx.user.is_staff


def is_plain_text(message: Message) -> bool:
    return message.text is not None and not message.text.startswith("/")


def is_vcf(message: Message) -> bool:
    doc = message.document
    if doc is None:
        return False
    name = (doc.file_name or "").lower()
    return name.endswith((".vcf", ".vcard")) or (doc.mime_type or "").lower() in (
        "text/vcard",
        "text/x-vcard",
    )


def chat_of(event: Message | CallbackQuery) -> int:
    if isinstance(event, CallbackQuery):
        if isinstance(event.message, Message):
            return event.message.chat.id
        return event.from_user.id
    return event.chat.id


# --- drawing ---


def render_card(data: CardData, ctx: Ctx) -> tuple[str, InlineKeyboardMarkup]:
    return views.card_text(data, ctx.tz, ctx.locale), views.card_keyboard(data, ctx.user)


async def card_view(ctx: Ctx, client: Client) -> tuple[str, InlineKeyboardMarkup]:
    return render_card(await card_service.card(ctx.session, ctx.user, client), ctx)


async def send_card(ctx: Ctx, chat_id: int, client: Client, header: str | None = None) -> None:
    text, markup = await card_view(ctx, client)
    if header:
        text = f"{header}\n\n{text}"
    await ctx.bot.send_message(chat_id, text, reply_markup=markup)


async def send_added(ctx: Ctx, chat_id: int, client: Client) -> None:
    await send_card(ctx, chat_id, client, _("✅ Client added."))


async def send_long(ctx: Ctx, chat_id: int, text: str) -> None:
    for chunk in split_message(text):
        await ctx.bot.send_message(chat_id, chunk)


async def show_duplicate(ctx: Ctx, chat_id: int, dup: Duplicate) -> None:
    """A known client: their card when the person may see it, else only who owns it."""
    if dup.visible:
        await send_card(ctx, chat_id, dup.existing, views.duplicate_text(dup))
    else:
        await ctx.bot.send_message(chat_id, views.duplicate_text(dup))


async def say_cancelled(query: CallbackQuery, ctx: Ctx) -> None:
    await query.answer()
    await ctx.bot.send_message(chat_of(query), _("Cancelled. Nothing was saved."))


async def dialog_over(query: CallbackQuery) -> None:
    await query.answer(views.client_error(DomainError("dialog_over")), show_alert=True)


# --- the client a card button points at ---


async def load(query: CallbackQuery, ctx: Ctx, client_id: int) -> Client | None:
    try:
        return await access.visible_client(ctx.session, ctx.user, client_id)
    except DomainError as e:
        await query.answer(views.client_error(e), show_alert=True)
        return None


async def stale(query: CallbackQuery, ctx: Ctx, client: Client) -> None:
    """The card changed since the button was drawn: say so and draw it as it is now."""
    await query.answer(views.client_error(Stale()), show_alert=True)
    text, markup = await card_view(ctx, client)
    await edit_or_send(query, text, markup)


async def current_client(query: CallbackQuery, callback_data: ClientCb, ctx: Ctx) -> Client | None:
    """The client of a button that changes data, at the version the button was drawn with; None (and
    the person told) when it's gone or changed since."""
    client = await load(query, ctx, callback_data.client_id)
    if client is None:
        return None
    if client.version != callback_data.version:
        await stale(query, ctx, client)
        return None
    return client


async def show_in_place(query: CallbackQuery, ctx: Ctx, client: Client, note: str | None = None) -> None:
    text, markup = await card_view(ctx, client)
    await edit_or_send(query, text, markup)
    await query.answer(note)


# --- list pages: list queries survive dialogs ending ---
#
# Without Redis the state lives in the database and is written through the update's own session
# (bot/fsm_storage.py), so a step's state change commits or rolls back together with its action.


async def list_key(state: FSMContext, spec: str) -> str:
    """The PageCb key of a list: the spec itself when short (page buttons then work forever), else a
    hash whose spec is kept in the dialog data (a button pressed after that is gone says so)."""
    if len(spec.encode()) <= DIRECT_KEY_BYTES and ":" not in spec:
        return spec
    digest = "#" + spec[:2] + hashlib.sha256(spec.encode()).hexdigest()[:12]
    data = await state.get_data()
    lists = dict(data.get("lists") or {})
    lists.pop(digest, None)
    lists[digest] = spec
    while len(lists) > KEEP_LISTS:
        lists.pop(next(iter(lists)))
    await state.update_data(lists=lists)
    return digest


async def spec_of(state: FSMContext, key: str) -> str | None:
    if not key.startswith("#"):
        return key
    return (await state.get_data()).get("lists", {}).get(key)
