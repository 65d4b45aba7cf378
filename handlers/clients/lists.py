"""/clients with its filters (status, tag, stale), and the page buttons of that list and of /find's."""

from __future__ import annotations

from dataclasses import replace

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import PageCb
from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import clients as views
from handlers.clients.common import STAFF, list_key, spec_of
from handlers.clients.search import find_list
from models.clients import ClientStatus
from services import access, search
from services.clients.lists import ListFilter, ListRow, list_page
from services.errors import DomainError

router = Router(name="clients.lists")

LIST_PREFIXES = ("cl.", "cf.", "#cl", "#cf")  # PageCb keys: /clients ("cl.") and /find ("cf.") lists


def parse_clients_args(args: str) -> ListFilter | None:
    """`/clients`; `/clients active|prospect|inactive`; `/clients tag vip` or `#vip`; `/clients stale 30`."""
    words = args.split()
    if not words:
        return ListFilter()
    first = words[0].casefold()
    if (first in ("tag", "тег") and len(words) == 2) or (first.startswith("#") and len(words) == 1):
        tag = search.normalize_tag(words[-1])
        return ListFilter(tag=tag) if tag else None
    if first in ("stale", "давно"):
        days = words[1] if len(words) == 2 else "30" if len(words) == 1 else ""
        if days.isdigit() and 1 <= int(days) <= 3650:
            return ListFilter(stale_days=int(days))
        return None
    if len(words) == 1:
        for status in ClientStatus:
            names = {status.value, views.status_name(status).casefold()}
            if first in names or any(len(first) >= 5 and n[:5] == first[:5] for n in names):
                return ListFilter(status=status)
    return None


def clients_spec(flt: ListFilter) -> str:
    if flt.status is not None:
        return f"cl.{flt.status.value}"
    if flt.stale_days is not None:
        return f"cl.s{flt.stale_days}"
    if flt.tag:
        return f"cl.t.{flt.tag}"
    return "cl."


def filter_of(spec: str) -> ListFilter:
    rest = spec[3:]
    if rest.startswith("t."):
        return ListFilter(tag=rest[2:])
    if rest.startswith("s") and rest[1:].isdigit():
        return ListFilter(stale_days=int(rest[1:]))
    if rest in ClientStatus.__members__:
        return ListFilter(status=ClientStatus(rest))
    return ListFilter()


async def clients_list(ctx: Ctx, spec: str, page: int) -> tuple[str, InlineKeyboardMarkup]:
    flt = filter_of(spec)
    result = await list_page(ctx.session, ctx.user, flt, page, ctx.now())
    if not result.items and page > 0:
        result = await list_page(ctx.session, ctx.user, flt, 0, ctx.now())
    key = await list_key(ctx.state, spec)
    text = views.clients_title(
        flt.status, flt.tag, flt.stale_days, access.sees_everything(ctx.user), not result.items and page == 0
    )
    text += "\n" + _("Filters: /clients active · prospect · inactive · tag vip · stale 30")
    rows = [replace(ListRow.of(client), vip=client.id in result.vips) for client in result.items]
    markup = views.list_keyboard(rows, key, result.page, result.has_next, views.clients_filter_row(spec))
    return text, markup


@router.message(Command("clients"), flags=STAFF)
async def clients_command(message: Message, command: CommandObject, ctx: Ctx) -> None:
    flt = parse_clients_args(command.args or "")
    if flt is None:
        await message.answer(
            _(
                "I didn't understand the filter. Try: /clients, /clients active, /clients prospect, "
                "/clients inactive, /clients tag vip, /clients stale 30 (no contact for 30+ days)."
            )
        )
        return
    text, markup = await clients_list(ctx, clients_spec(flt), 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(PageCb.filter((F.key == "cl") | F.key.startswith(LIST_PREFIXES)), flags=STAFF)
async def page(query: CallbackQuery, callback_data: PageCb, ctx: Ctx) -> None:
    spec = await spec_of(ctx.state, callback_data.key)
    if spec is None:
        await query.answer(views.client_error(DomainError("list_expired")), show_alert=True)
        return
    if spec == "cl":
        spec = "cl."
    if spec.startswith("cl."):
        text, markup = await clients_list(ctx, spec, callback_data.page)
    else:
        text, maybe, _result = await find_list(ctx, spec[3:], callback_data.page)
        markup = maybe or InlineKeyboardMarkup(inline_keyboard=[])
    await edit_or_send(query, text, markup)
    await query.answer()
