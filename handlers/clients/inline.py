"""Inline mode: @bot and a search in any chat; each result shares a client's card as text."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import InlineQuery, InlineQueryResultArticle, InputTextMessageContent

from bot.context import Ctx
from bot.keyboards import label
from bot.views import clients as views
from handlers.clients.common import STAFF
from models.clients import Client
from services import phones, search
from services.clients.card import CardData
from services.clients.lists import ListFilter, Page, list_page, search_page

router = Router(name="clients.inline")

INLINE_PAGE = 20


def article(client: Client, ctx: Ctx) -> InlineQueryResultArticle:
    card = CardData(client, None, None, None, [])
    first_phone = phones.display(client.phones[0].e164) if client.phones else None
    description = " · ".join(x for x in (client.company, first_phone) if x)
    return InlineQueryResultArticle(
        id=f"c{client.id}",
        title=label(client.name, 100),
        description=label(description, 100) or None,
        input_message_content=InputTextMessageContent(
            message_text=views.card_text(card, ctx.tz, ctx.locale, share=True),
            parse_mode="HTML",
        ),
    )


@router.inline_query(flags=STAFF)
async def inline(query: InlineQuery, ctx: Ctx) -> None:
    text = " ".join(query.query.split())[:200]
    page = int(query.offset) if query.offset.isdigit() and int(query.offset) < 1000 else 0
    if text:
        parsed = search.parse_query(text, ctx.settings.default_region)
        result = (
            await search_page(ctx.session, ctx.user, parsed, page, size=INLINE_PAGE)
            if not parsed.empty
            else Page([], page, False)
        )
    else:
        result = await list_page(ctx.session, ctx.user, ListFilter(), page, ctx.now())
    await query.answer(
        [article(client, ctx) for client in result.items],
        cache_time=5,
        is_personal=True,
        next_offset=str(page + 1) if result.has_next else "",
    )
