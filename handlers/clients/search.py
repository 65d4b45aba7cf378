"""/find: a name, company, email, #tag or the last 4+ digits of a phone; without arguments, a dialog
that asks for it. A single hit opens the card; more are a paged list (see lists.page)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ChoiceCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog
from bot.text import h
from bot.views import clients as views
from handlers.clients.common import STAFF, dialog_over, is_plain_text, list_key, render_card, say_cancelled
from services import card as card_service
from services import search
from services.clients.lists import Page, search_rows
from services.errors import DomainError

router = Router(name="clients.search")

QUERY_LIMIT = 200


class FindClient(StatesGroup):
    query = State()


async def find_list(ctx: Ctx, query_text: str, page: int) -> tuple[str, InlineKeyboardMarkup | None, Page]:
    query = search.parse_query(query_text, ctx.settings.default_region)
    result = await search_rows(ctx.session, ctx.user, query, page) if not query.empty else Page([], 0, False)
    if not result.items and page > 0:
        result = await search_rows(ctx.session, ctx.user, query, 0)
    if not result.items:
        text = _(
            "🔎 Nothing found for «{query}». Search by name, company, email, tag (#vip) or the last 4+ "
            "digits of a phone."
        ).format(query=h(query_text))
        return text, None, result
    key = await list_key(ctx.state, "cf." + query_text)
    text = _("🔎 Found for «{query}»:").format(query=h(query_text))
    return text, views.list_keyboard(result.items, key, result.page, result.has_next), result


async def answer_find(ctx: Ctx, chat_id: int, text: str) -> None:
    reply, markup, result = await find_list(ctx, text, 0)
    if len(result.items) == 1 and not result.has_next:
        data = await card_service.open_card(ctx.session, ctx.user, result.items[0].id)
        card_text, card_markup = render_card(data, ctx)
        await ctx.bot.send_message(chat_id, card_text, reply_markup=card_markup)
        return
    await ctx.bot.send_message(chat_id, reply, reply_markup=markup)


def too_long(text: str) -> str | None:
    if len(text) > QUERY_LIMIT:
        return views.client_error(DomainError("too_long", limit=QUERY_LIMIT, length=len(text)))
    return None


@router.message(Command("find"), flags=STAFF)
async def find(message: Message, command: CommandObject, ctx: Ctx) -> None:
    text = " ".join((command.args or "").split())
    if not text:
        await begin_dialog(ctx.state, FindClient.query)
        await message.answer(
            _(
                "🔎 Whom are you looking for? Send a name, company, email, #tag "
                "or the last 4+ digits of a phone."
            ),
            reply_markup=views.step_keyboard("find", skip=False),
        )
        return
    if error := too_long(text):
        await message.answer(error)
        return
    await answer_find(ctx, message.chat.id, text)


@router.message(FindClient.query, is_plain_text, flags=STAFF)
async def find_text(message: Message, ctx: Ctx) -> None:
    text = " ".join((message.text or "").split())
    if error := too_long(text):
        await message.answer(error)
        return
    await end_dialog(ctx.state)
    await answer_find(ctx, message.chat.id, text)


@router.message(FindClient.query, ~F.text, flags=STAFF)
async def find_not_text(message: Message) -> None:
    await message.answer(
        views.client_error(DomainError("send_text")), reply_markup=views.step_keyboard("find", skip=False)
    )


@router.callback_query(ChoiceCb.filter((F.step == "find") & (F.value == "cancel")), flags=STAFF)
async def find_cancel(query: CallbackQuery, ctx: Ctx) -> None:
    if await ctx.state.get_state() != FindClient.query.state:
        await dialog_over(query)
        return
    await end_dialog(ctx.state)
    await say_cancelled(query, ctx)
