"""The client base: /add (a dialog, or one line), shared contacts, .vcf files, /find, /clients, inline
mode, and the card's Open, Edit, Note, Owner and Merge buttons.

Handlers stay thin: services.clients does the work, bot.views.clients draws the replies.
"""

from __future__ import annotations

import hashlib
from io import BytesIO
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
)
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.callbacks import ChoiceCb, ClientCb, PageCb
from bot.config import Settings
from bot.dialogs import begin_dialog, end_dialog, next_step
from bot.edit import edit_or_send
from bot.formatting import local_dt
from bot.keyboards import label
from bot.text import h, split_message
from bot.views import clients as views
from models.clients import Client, ClientStatus
from models.users import User
from services import access, notify, phones, search, vcard
from services import card as card_service
from services import clients as svc
from services import merge as merge_service
from services.clock import Clock
from services.errors import DomainError

STAFF = {"role": "staff"}
ADMIN = {"role": "admin"}
ADD_STEPS = ("name", "phone", "email", "company", "tags")
CARD_ACTIONS = {"open", "edit", "status", "delphone", "addphone", "note", "merge", "mergeok"}
LIST_PREFIXES = ("cl.", "cf.", "#cl", "#cf")
INLINE_PAGE = 20
KEEP_LISTS = 20
DIRECT_KEY_BYTES = 50  # "pg:" + key + ":" + page (any int) stays within Telegram's 64 bytes


class AddClient(StatesGroup):
    name = State()
    phone = State()
    email = State()
    company = State()
    tags = State()


class EditClient(StatesGroup):
    value = State()
    phone = State()
    note = State()


class FindClient(StatesGroup):
    query = State()


ADD_STATES = {
    "name": AddClient.name,
    "phone": AddClient.phone,
    "email": AddClient.email,
    "company": AddClient.company,
    "tags": AddClient.tags,
}


async def is_staff(_event: object, user: User) -> bool:
    """Shared contacts and files from customers are not for us: the fallback answers them."""
    return user.is_staff


def is_vcf(message: Message) -> bool:
    doc = message.document
    if doc is None:
        return False
    name = (doc.file_name or "").lower()
    return name.endswith((".vcf", ".vcard")) or (doc.mime_type or "").lower() in (
        "text/vcard",
        "text/x-vcard",
    )


def tz_of(user: User, settings: Settings) -> str:
    return user.timezone or settings.default_timezone


def is_plain_text(message: Message) -> bool:
    return message.text is not None and not message.text.startswith("/")


# --- dialog state: each dialog keeps its own key; list queries survive dialogs ending ---
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


# --- drawing ---


async def card_view(
    session: AsyncSession, user: User, client: Client, settings: Settings, i18n: I18n
) -> tuple[str, InlineKeyboardMarkup]:
    return render_card(await card_service.card(session, user, client), user, settings, i18n)


def render_card(
    data: svc.CardData, user: User, settings: Settings, i18n: I18n
) -> tuple[str, InlineKeyboardMarkup]:
    return views.card_text(data, tz_of(user, settings), i18n.current_locale), views.card_keyboard(data, user)


async def send_card(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    user: User,
    client: Client,
    settings: Settings,
    i18n: I18n,
    header: str | None = None,
) -> None:
    text, markup = await card_view(session, user, client, settings, i18n)
    if header:
        text = f"{header}\n\n{text}"
    await bot.send_message(chat_id, text, reply_markup=markup)


async def send_long(bot: Bot, chat_id: int, text: str) -> None:
    for chunk in split_message(text):
        await bot.send_message(chat_id, chunk)


async def show_duplicate(
    bot: Bot,
    chat_id: int,
    session: AsyncSession,
    user: User,
    dup: svc.Duplicate,
    settings: Settings,
    i18n: I18n,
) -> None:
    """A known client: their card when the person may see it, else only who owns it."""
    if dup.visible:
        await send_card(bot, chat_id, session, user, dup.existing, settings, i18n, views.duplicate_text(dup))
    else:
        await bot.send_message(chat_id, views.duplicate_text(dup))


def chat_of(event: Message | CallbackQuery) -> int:
    if isinstance(event, CallbackQuery):
        if isinstance(event.message, Message):
            return event.message.chat.id
        return event.from_user.id
    return event.chat.id


# --- lists ---


def parse_clients_args(args: str) -> svc.ListFilter | None:
    """`/clients`; `/clients active|prospect|inactive`; `/clients tag vip` or `#vip`; `/clients stale 30`."""
    words = args.split()
    if not words:
        return svc.ListFilter()
    first = words[0].casefold()
    if (first in ("tag", "тег") and len(words) == 2) or (first.startswith("#") and len(words) == 1):
        tag = search.normalize_tag(words[-1])
        return svc.ListFilter(tag=tag) if tag else None
    if first in ("stale", "давно"):
        days = words[1] if len(words) == 2 else "30" if len(words) == 1 else ""
        if days.isdigit() and 1 <= int(days) <= 3650:
            return svc.ListFilter(stale_days=int(days))
        return None
    if len(words) == 1:
        for status in ClientStatus:
            names = {status.value, views.status_name(status).casefold()}
            if first in names or any(len(first) >= 5 and n[:5] == first[:5] for n in names):
                return svc.ListFilter(status=status)
    return None


def clients_spec(flt: svc.ListFilter) -> str:
    if flt.status is not None:
        return f"cl.{flt.status.value}"
    if flt.stale_days is not None:
        return f"cl.s{flt.stale_days}"
    if flt.tag:
        return f"cl.t.{flt.tag}"
    return "cl."


def filter_of(spec: str) -> svc.ListFilter:
    rest = spec[3:]
    if rest.startswith("t."):
        return svc.ListFilter(tag=rest[2:])
    if rest.startswith("s") and rest[1:].isdigit():
        return svc.ListFilter(stale_days=int(rest[1:]))
    if rest in ClientStatus.__members__:
        return svc.ListFilter(status=ClientStatus(rest))
    return svc.ListFilter()


async def clients_list(
    session: AsyncSession, user: User, state: FSMContext, spec: str, page: int, clock: Clock
) -> tuple[str, InlineKeyboardMarkup]:
    flt = filter_of(spec)
    result = await svc.list_page(session, user, flt, page, clock.now())
    if not result.items and page > 0:
        result = await svc.list_page(session, user, flt, 0, clock.now())
    key = await list_key(state, spec)
    text = views.clients_title(
        flt.status, flt.tag, flt.stale_days, access.sees_everything(user), not result.items and page == 0
    )
    text += "\n" + _("Filters: /clients active · prospect · inactive · tag vip · stale 30")
    rows = [svc.ListRow.of(client) for client in result.items]
    markup = views.list_keyboard(rows, key, result.page, result.has_next, views.clients_filter_row(spec))
    return text, markup


async def find_list(
    session: AsyncSession, user: User, state: FSMContext, query_text: str, page: int, settings: Settings
) -> tuple[str, InlineKeyboardMarkup | None, svc.Page]:
    query = search.parse_query(query_text, settings.default_region)
    result = await svc.search_rows(session, user, query, page) if not query.empty else svc.Page([], 0, False)
    if not result.items and page > 0:
        result = await svc.search_rows(session, user, query, 0)
    if not result.items:
        text = _(
            "🔎 Nothing found for «{query}». Search by name, company, email, tag (#vip) or the last 4+ "
            "digits of a phone."
        ).format(query=h(query_text))
        return text, None, result
    key = await list_key(state, "cf." + query_text)
    text = _("🔎 Found for «{query}»:").format(query=h(query_text))
    return text, views.list_keyboard(result.items, key, result.page, result.has_next), result


def router() -> Router:
    r = Router(name="clients")

    # --- /add: one line, or a dialog ---

    @r.message(Command("add"), flags=STAFF)
    async def add(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        if not (command.args or "").strip():
            await begin_dialog(state, AddClient.name, add={})
            await message.answer(
                views.add_prompt("name"), reply_markup=views.step_keyboard("add_name", skip=False)
            )
            return
        try:
            data = svc.parse_line(command.args or "", settings.default_region)
            client = await svc.create(session, user, data, clock.now())
        except svc.Duplicate as dup:
            await show_duplicate(bot, message.chat.id, session, user, dup, settings, i18n)
            return
        except DomainError as e:
            await message.answer(views.client_error(e))
            return
        await send_card(bot, message.chat.id, session, user, client, settings, i18n, _("✅ Client added."))

    async def prompt_step(bot: Bot, chat_id: int, step: str, error: str | None = None) -> None:
        text = views.add_prompt(step)
        if error:
            text = f"{error}\n\n{text}"
        await bot.send_message(
            chat_id, text, reply_markup=views.step_keyboard(f"add_{step}", skip=step != "name")
        )

    async def next_add_step(bot: Bot, chat_id: int, state: FSMContext, step: str, **data: Any) -> None:
        await next_step(state, ADD_STATES[step], **data)
        await prompt_step(bot, chat_id, step)

    async def finish_add(
        bot: Bot,
        chat_id: int,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        draft: dict[str, Any],
    ) -> None:
        await end_dialog(state)
        data = svc.ClientData(
            name=draft.get("name", ""),
            phones=list(draft.get("phones") or []),
            email=draft.get("email"),
            company=draft.get("company"),
            position=draft.get("position"),
            tags=list(draft.get("tags") or []),
        )
        try:
            client = await svc.create(session, user, data, clock.now())
        except svc.Duplicate as dup:
            await show_duplicate(bot, chat_id, session, user, dup, settings, i18n)
            return
        await send_card(bot, chat_id, session, user, client, settings, i18n, _("✅ Client added."))

    async def known_stops_dialog(
        bot: Bot,
        chat_id: int,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        settings: Settings,
        i18n: I18n,
        **keys: Any,
    ) -> bool:
        found = await svc.find_existing(session, **keys)
        if found is None:
            return False
        dup = await svc.duplicate_error(session, user, found)
        await end_dialog(state)
        await show_duplicate(bot, chat_id, session, user, dup, settings, i18n)
        return True

    @r.message(StateFilter(AddClient), is_plain_text, flags=STAFF)
    async def add_step(
        message: Message,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        current = await state.get_state()
        step = next(s for s, st in ADD_STATES.items() if st.state == current)
        draft: dict[str, Any] = dict((await state.get_data()).get("add") or {})
        text = message.text or ""
        chat = message.chat.id
        try:
            if step == "name":
                draft["name"] = svc.clean_name(text)
            elif step == "phone":
                draft["phones"] = svc.clean_phones(text, settings.default_region)
                if await known_stops_dialog(
                    bot, chat, session, user, state, settings, i18n, phones_e164=draft["phones"]
                ):
                    return
            elif step == "email":
                draft["email"] = svc.clean_email(text)
                if await known_stops_dialog(
                    bot, chat, session, user, state, settings, i18n, email=draft["email"]
                ):
                    return
            elif step == "company":
                company, _sep, position = text.partition(",")
                draft["company"] = svc.clean_text(company, "company")
                draft["position"] = svc.clean_text(position, "position")
            elif step == "tags":
                draft["tags"] = svc.clean_tags(text)
        except DomainError as e:
            await prompt_step(bot, chat, step, views.client_error(e))
            return
        following = ADD_STEPS.index(step) + 1
        if following < len(ADD_STEPS):
            await next_add_step(bot, chat, state, ADD_STEPS[following], add=draft)
        else:
            await finish_add(bot, chat, session, user, state, clock, settings, i18n, draft)

    @r.message(StateFilter(AddClient), ~F.text, flags=STAFF)
    async def add_step_not_text(message: Message, state: FSMContext, bot: Bot) -> None:
        current = await state.get_state()
        step = next(s for s, st in ADD_STATES.items() if st.state == current)
        await prompt_step(bot, message.chat.id, step, views.client_error(DomainError("send_text")))

    @r.callback_query(ChoiceCb.filter(F.step.startswith("add_")), flags=STAFF)
    async def add_choice(
        query: CallbackQuery,
        callback_data: ChoiceCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        step = callback_data.step.removeprefix("add_")
        current = await state.get_state()
        chat = chat_of(query)
        if current not in {st.state for st in ADD_STATES.values()}:
            await query.answer(views.client_error(DomainError("dialog_over")), show_alert=True)
            return
        if callback_data.value == "cancel":
            await end_dialog(state)
            await query.answer()
            await bot.send_message(chat, _("Cancelled. Nothing was saved."))
            return
        if step == "name" and callback_data.value == "skip":
            await query.answer(_("The name can't be skipped."))
            await prompt_step(bot, chat, "name")
            return
        if step not in ADD_STATES or ADD_STATES[step].state != current:
            # Pressed twice, or an old step's button: say so and ask the current step again.
            now_step = next(s for s, st in ADD_STATES.items() if st.state == current)
            await query.answer(_("That step is already done."))
            await prompt_step(bot, chat, now_step)
            return
        await query.answer()
        following = ADD_STEPS.index(step) + 1
        if following < len(ADD_STEPS):
            await next_add_step(bot, chat, state, ADD_STEPS[following])
        else:
            draft = (await state.get_data()).get("add") or {}
            await finish_add(bot, chat, session, user, state, clock, settings, i18n, draft)

    # --- a shared Telegram contact, a .vcf file ---

    @r.message(F.contact, is_staff, flags=STAFF)
    async def shared_contact(
        message: Message,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        bot: Bot,
    ) -> None:
        contact = message.contact
        assert contact is not None
        e164 = phones.normalize(contact.phone_number, settings.default_region)
        if e164 is None:
            await message.answer(views.client_error(DomainError("bad_phone", value=contact.phone_number)))
            return
        name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
        data = svc.ClientData(name=name, phones=[e164], telegram_id=contact.user_id)
        try:
            client = await svc.create(session, user, data, clock.now())
        except svc.Duplicate as dup:
            await show_duplicate(bot, message.chat.id, session, user, dup, settings, i18n)
            return
        except DomainError as e:
            await message.answer(views.client_error(e))
            return
        await send_card(bot, message.chat.id, session, user, client, settings, i18n, _("✅ Client added."))

    @r.message(F.document, is_staff, is_vcf, flags=STAFF)
    async def vcf_file(
        message: Message,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        bot: Bot,
    ) -> None:
        doc = message.document
        assert doc is not None
        if doc.file_size and doc.file_size > vcard.MAX_BYTES:
            await message.answer(views.vcf_error("vcf_too_big", limit=vcard.MAX_BYTES // 1000))
            return
        try:
            buffer = await bot.download(doc, destination=BytesIO())
        except TelegramBadRequest:
            await message.answer(views.vcf_error("vcf_unreadable"))
            return
        assert isinstance(buffer, BytesIO)
        try:
            report = await vcard.import_vcf(
                session, user, buffer.getvalue(), clock.now(), settings.default_region
            )
        except DomainError as e:
            await message.answer(views.vcf_error(e.code, **e.params))
            return
        await send_long(bot, message.chat.id, views.import_report(report))
        if len(report.added) == 1:
            await send_card(bot, message.chat.id, session, user, report.added[0], settings, i18n)

    # --- /find, /clients and their pages ---

    async def answer_find(
        bot: Bot,
        chat_id: int,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        text: str,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        reply, markup, result = await find_list(session, user, state, text, 0, settings)
        if len(result.items) == 1 and not result.has_next:
            data = await card_service.open_card(session, user, result.items[0].id)
            card_text, card_markup = render_card(data, user, settings, i18n)
            await bot.send_message(chat_id, card_text, reply_markup=card_markup)
            return
        await bot.send_message(chat_id, reply, reply_markup=markup)

    @r.message(Command("find"), flags=STAFF)
    async def find(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        user: User,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        text = " ".join((command.args or "").split())
        if not text:
            await begin_dialog(state, FindClient.query)
            await message.answer(
                _(
                    "🔎 Whom are you looking for? Send a name, company, email, #tag "
                    "or the last 4+ digits of a phone."
                ),
                reply_markup=views.step_keyboard("find", skip=False),
            )
            return
        if len(text) > 200:
            await message.answer(views.client_error(DomainError("too_long", limit=200, length=len(text))))
            return
        await answer_find(bot, message.chat.id, session, user, state, text, settings, i18n)

    @r.message(StateFilter(FindClient.query), is_plain_text, flags=STAFF)
    async def find_text(
        message: Message,
        session: AsyncSession,
        user: User,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        text = " ".join((message.text or "").split())
        if len(text) > 200:
            await message.answer(views.client_error(DomainError("too_long", limit=200, length=len(text))))
            return
        await end_dialog(state)
        await answer_find(bot, message.chat.id, session, user, state, text, settings, i18n)

    @r.message(StateFilter(FindClient.query), ~F.text, flags=STAFF)
    async def find_not_text(message: Message) -> None:
        await message.answer(
            views.client_error(DomainError("send_text")), reply_markup=views.step_keyboard("find", skip=False)
        )

    @r.callback_query(ChoiceCb.filter(F.step.in_({"find", "edit"}) & (F.value == "cancel")), flags=STAFF)
    async def cancel_step(query: CallbackQuery, callback_data: ChoiceCb, state: FSMContext, bot: Bot) -> None:
        group = FindClient if callback_data.step == "find" else EditClient
        if await state.get_state() not in {s.state for s in group.__states__}:
            await query.answer(views.client_error(DomainError("dialog_over")), show_alert=True)
            return
        await end_dialog(state)
        await query.answer()
        await bot.send_message(chat_of(query), _("Cancelled. Nothing was saved."))

    @r.message(Command("clients"), flags=STAFF)
    async def clients_command(
        message: Message,
        command: CommandObject,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
    ) -> None:
        flt = parse_clients_args(command.args or "")
        if flt is None:
            await message.answer(
                _(
                    "I didn't understand the filter. Try: /clients, /clients active, /clients prospect, "
                    "/clients inactive, /clients tag vip, /clients stale 30 (no contact for 30+ days)."
                )
            )
            return
        text, markup = await clients_list(session, user, state, clients_spec(flt), 0, clock)
        await message.answer(text, reply_markup=markup)

    @r.callback_query(PageCb.filter((F.key == "cl") | F.key.startswith(LIST_PREFIXES)), flags=STAFF)
    async def page(
        query: CallbackQuery,
        callback_data: PageCb,
        session: AsyncSession,
        user: User,
        state: FSMContext,
        clock: Clock,
        settings: Settings,
    ) -> None:
        spec = await spec_of(state, callback_data.key)
        if spec is None:
            await query.answer(views.client_error(DomainError("list_expired")), show_alert=True)
            return
        if spec == "cl":
            spec = "cl."
        if spec.startswith("cl."):
            text, markup = await clients_list(session, user, state, spec, callback_data.page, clock)
        else:
            text, maybe, _result = await find_list(
                session, user, state, spec[3:], callback_data.page, settings
            )
            markup = maybe or InlineKeyboardMarkup(inline_keyboard=[])
        await edit_or_send(query, text, markup)
        await query.answer()

    # --- inline mode: @bot text in any chat ---

    @r.inline_query(flags=STAFF)
    async def inline(
        query: InlineQuery, session: AsyncSession, user: User, settings: Settings, i18n: I18n, clock: Clock
    ) -> None:
        text = " ".join(query.query.split())[:200]
        page = int(query.offset) if query.offset.isdigit() and int(query.offset) < 1000 else 0
        if text:
            parsed = search.parse_query(text, settings.default_region)
            result = (
                await svc.search_page(session, user, parsed, page, size=INLINE_PAGE)
                if not parsed.empty
                else svc.Page([], page, False)
            )
        else:
            result = await svc.list_page(session, user, svc.ListFilter(), page, clock.now())
        tz = tz_of(user, settings)
        results = []
        for client in result.items:
            card = svc.CardData(client, None, None, None, [])
            description = " · ".join(
                x
                for x in (client.company, phones.display(client.phones[0].e164) if client.phones else None)
                if x
            )
            results.append(
                InlineQueryResultArticle(
                    id=f"c{client.id}",
                    title=label(client.name, 100),
                    description=label(description, 100) or None,
                    input_message_content=InputTextMessageContent(
                        message_text=views.card_text(card, tz, i18n.current_locale, share=True),
                        parse_mode="HTML",
                    ),
                )
            )
        await query.answer(
            results,
            cache_time=5,
            is_personal=True,
            next_offset=str(page + 1) if result.has_next else "",
        )

    # --- the card ---

    async def load(query: CallbackQuery, session: AsyncSession, user: User, client_id: int) -> Client | None:
        try:
            return await access.visible_client(session, user, client_id)
        except DomainError as e:
            await query.answer(views.client_error(e), show_alert=True)
            return None

    async def stale(
        query: CallbackQuery,
        session: AsyncSession,
        user: User,
        client: Client,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        await query.answer(views.client_error(svc.Stale()), show_alert=True)
        text, markup = await card_view(session, user, client, settings, i18n)
        await edit_or_send(query, text, markup)

    async def show_in_place(
        query: CallbackQuery,
        session: AsyncSession,
        user: User,
        client: Client,
        settings: Settings,
        i18n: I18n,
        note: str | None = None,
    ) -> None:
        text, markup = await card_view(session, user, client, settings, i18n)
        await edit_or_send(query, text, markup)
        await query.answer(note)

    @r.callback_query(ClientCb.filter(F.action.in_(CARD_ACTIONS)), flags=STAFF)
    async def card_action(
        query: CallbackQuery,
        callback_data: ClientCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        action = callback_data.action
        if action == "open":  # the card in one statement (access checked as load() does)
            try:
                data = await card_service.open_card(session, user, callback_data.client_id)
            except DomainError as e:
                await query.answer(views.client_error(e), show_alert=True)
                return
            text, markup = render_card(data, user, settings, i18n)
            await edit_or_send(query, text, markup)
            await query.answer()
            return
        client = await load(query, session, user, callback_data.client_id)
        if client is None:
            return
        if client.version != callback_data.version:
            await stale(query, session, user, client, settings, i18n)
            return
        tz = tz_of(user, settings)
        chat = chat_of(query)
        if action == "edit":
            await edit_field_menu(query, callback_data, client, state, bot, tz, i18n)
        elif action == "status":
            statuses = list(ClientStatus)
            if not 1 <= callback_data.arg <= len(statuses):
                await query.answer(views.client_error(DomainError("bad_status")), show_alert=True)
                return
            await svc.set_field(
                session,
                user,
                client,
                callback_data.version,
                "status",
                statuses[callback_data.arg - 1].value,
                clock.now(),
                region=settings.default_region,
                today=clock.now().date(),
            )
            await show_in_place(query, session, user, client, settings, i18n, _("Saved."))
        elif action == "delphone":
            try:
                await svc.remove_phone(
                    session, user, client, callback_data.version, callback_data.arg, clock.now()
                )
            except svc.Stale:
                await stale(query, session, user, client, settings, i18n)
                return
            text, markup = views.phones_menu(client)
            await edit_or_send(query, text, markup)
            await query.answer(_("Removed."))
        elif action == "addphone":
            draft = {"id": client.id, "v": client.version, "field": "phones"}
            await begin_dialog(state, EditClient.phone, edit=draft)
            await query.answer()
            await bot.send_message(
                chat, edit_phone_prompt(client), reply_markup=views.step_keyboard("edit", skip=False)
            )
        elif action == "note":
            draft = {"id": client.id, "v": client.version, "field": "note"}
            await begin_dialog(state, EditClient.note, edit=draft)
            await query.answer()
            await bot.send_message(
                chat, note_prompt(client), reply_markup=views.step_keyboard("edit", skip=False)
            )
        elif action == "merge":
            try:
                other = await access.visible_client(session, user, callback_data.arg)
            except DomainError as e:
                await query.answer(views.client_error(e), show_alert=True)
                return
            if other.id == client.id:
                await query.answer(views.client_error(DomainError("merge_self")), show_alert=True)
                return
            text, markup = views.merge_confirm(client, other, tz, i18n.current_locale)
            await edit_or_send(query, text, markup)
            await query.answer()
        elif action == "mergeok":
            try:
                survivor = await merge_service.merge(
                    session, user, client.id, callback_data.arg, callback_data.version, clock.now()
                )
            except svc.Stale:
                await stale(query, session, user, client, settings, i18n)
                return
            except DomainError as e:
                await query.answer(views.client_error(e), show_alert=True)
                return
            await show_in_place(query, session, user, survivor, settings, i18n, _("Merged."))

    def edit_phone_prompt(client: Client) -> str:
        return _("📞 <b>{name}</b> — send the number to add (several: separate them with commas).").format(
            name=h(client.name)
        )

    def note_prompt(client: Client) -> str:
        left = svc.NOTE_LIMIT - (len(client.note) + 2 if client.note else 0)
        return _("🗒 <b>{name}</b> — send the text to add to the note ({left} characters left).").format(
            name=h(client.name), left=max(0, left)
        )

    async def edit_field_menu(
        query: CallbackQuery,
        callback_data: ClientCb,
        client: Client,
        state: FSMContext,
        bot: Bot,
        tz: str,
        i18n: I18n,
    ) -> None:
        if callback_data.arg == 0:
            await edit_or_send(query, _("✏️ What do you want to change?"), views.edit_menu(client))
            await query.answer()
            return
        if not 1 <= callback_data.arg <= len(svc.EDITABLE):
            await query.answer(views.client_error(DomainError("bad_field")), show_alert=True)
            return
        field = svc.EDITABLE[callback_data.arg - 1]
        if field == "phones":
            text, markup = views.phones_menu(client)
            await edit_or_send(query, text, markup)
            await query.answer()
            return
        if field == "status":
            text, markup = views.status_menu(client)
            await edit_or_send(query, text, markup)
            await query.answer()
            return
        await begin_dialog(
            state, EditClient.value, edit={"id": client.id, "v": client.version, "field": field}
        )
        await query.answer()
        await bot.send_message(chat_of(query), **edit_step(field, client, tz, i18n.current_locale))

    def edit_step(
        field: str, client: Client, tz: str, locale: str, error: str | None = None
    ) -> dict[str, Any]:
        text = views.edit_prompt(field, client, tz, locale)
        if error:
            text = f"{error}\n\n{text}"
        extra = [("🇷🇺 ru", "ru"), ("🇬🇧 en", "en")] if field == "language" else []
        markup = views.step_keyboard("edit", skip=False, clear=field not in svc.REQUIRED, extra=extra)
        return {"text": text, "reply_markup": markup}

    async def editing(
        state: FSMContext, session: AsyncSession, user: User, bot: Bot, chat_id: int
    ) -> tuple[dict[str, Any], Client | None]:
        """The edit draft and its client; when the client is gone (merged, reassigned), the dialog
        ends and the person is told, and the client is None."""
        draft: dict[str, Any] = (await state.get_data()).get("edit") or {}
        try:
            client = await access.visible_client(session, user, int(draft.get("id", 0)))
        except DomainError as e:
            await end_dialog(state)
            await bot.send_message(chat_id, views.client_error(e))
            return draft, None
        return draft, client

    async def save_edit(
        event: Message | CallbackQuery,
        value: str | None,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        chat = chat_of(event)
        draft, client = await editing(state, session, user, bot, chat)
        if client is None:
            return
        field = draft.get("field", "")
        tz = tz_of(user, settings)
        try:
            await svc.set_field(
                session,
                user,
                client,
                int(draft.get("v", 0)),
                field,
                value,
                clock.now(),
                region=settings.default_region,
                today=clock.now().date(),
            )
        except svc.Stale as e:
            await end_dialog(state)
            await send_card(bot, chat, session, user, client, settings, i18n, views.client_error(e))
            return
        except svc.Duplicate as dup:
            await bot.send_message(
                chat, **edit_step(field, client, tz, i18n.current_locale, views.duplicate_text(dup))
            )
            return
        except DomainError as e:
            await bot.send_message(
                chat, **edit_step(field, client, tz, i18n.current_locale, views.client_error(e))
            )
            return
        await end_dialog(state)
        await send_card(bot, chat, session, user, client, settings, i18n, _("✅ Saved."))

    @r.message(StateFilter(EditClient.value), is_plain_text, flags=STAFF)
    async def edit_value(
        message: Message,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        await save_edit(message, message.text, session, user, clock, settings, i18n, state, bot)

    @r.callback_query(ChoiceCb.filter((F.step == "edit") & F.value.in_({"clear", "ru", "en"})), flags=STAFF)
    async def edit_choice(
        query: CallbackQuery,
        callback_data: ChoiceCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        if await state.get_state() != EditClient.value.state:
            await query.answer(views.client_error(DomainError("dialog_over")), show_alert=True)
            return
        await query.answer()
        value = None if callback_data.value == "clear" else callback_data.value
        await save_edit(query, value, session, user, clock, settings, i18n, state, bot)

    @r.message(StateFilter(EditClient.phone), is_plain_text, flags=STAFF)
    async def edit_phone(
        message: Message,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        draft, client = await editing(state, session, user, bot, message.chat.id)
        if client is None:
            return
        try:
            await svc.add_phones(
                session,
                user,
                client,
                int(draft.get("v", 0)),
                message.text or "",
                clock.now(),
                settings.default_region,
            )
        except svc.Stale as e:
            await end_dialog(state)
            await send_card(
                bot, message.chat.id, session, user, client, settings, i18n, views.client_error(e)
            )
            return
        except svc.Duplicate as dup:
            await message.answer(
                views.duplicate_text(dup) + "\n\n" + edit_phone_prompt(client),
                reply_markup=views.step_keyboard("edit", skip=False),
            )
            return
        except DomainError as e:
            await message.answer(
                views.client_error(e) + "\n\n" + edit_phone_prompt(client),
                reply_markup=views.step_keyboard("edit", skip=False),
            )
            return
        await end_dialog(state)
        await send_card(bot, message.chat.id, session, user, client, settings, i18n, _("✅ Saved."))

    @r.message(StateFilter(EditClient.note), is_plain_text, flags=STAFF)
    async def add_note(
        message: Message,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
        state: FSMContext,
        bot: Bot,
    ) -> None:
        draft, client = await editing(state, session, user, bot, message.chat.id)
        if client is None:
            return
        now = clock.now()
        header = local_dt(now, tz_of(user, settings), i18n.current_locale, "d MMM y")
        header = f"— {header}, {user.display_name[:60]}"
        try:
            await svc.append_note(
                session, user, client, int(draft.get("v", 0)), message.text or "", header, now
            )
        except svc.Stale as e:
            await end_dialog(state)
            await send_card(
                bot, message.chat.id, session, user, client, settings, i18n, views.client_error(e)
            )
            return
        except DomainError as e:
            await message.answer(
                views.client_error(e) + "\n\n" + note_prompt(client),
                reply_markup=views.step_keyboard("edit", skip=False),
            )
            return
        await end_dialog(state)
        await send_card(bot, message.chat.id, session, user, client, settings, i18n, _("✅ Note added."))

    @r.message(StateFilter(EditClient), ~F.text, flags=STAFF)
    async def edit_not_text(
        message: Message, session: AsyncSession, user: User, settings: Settings, i18n: I18n, state: FSMContext
    ) -> None:
        draft, client = await editing(state, session, user, message.bot, message.chat.id)
        if client is None:
            return
        error = views.client_error(DomainError("send_text"))
        current = await state.get_state()
        if current == EditClient.value.state:
            step = edit_step(
                draft.get("field", "name"), client, tz_of(user, settings), i18n.current_locale, error
            )
            await message.answer(**step)
        else:
            prompt = note_prompt(client) if current == EditClient.note.state else edit_phone_prompt(client)
            await message.answer(
                error + "\n\n" + prompt, reply_markup=views.step_keyboard("edit", skip=False)
            )

    # --- owner (admins) ---

    @r.callback_query(ClientCb.filter(F.action == "owner"), flags=ADMIN)
    async def owner(
        query: CallbackQuery,
        callback_data: ClientCb,
        session: AsyncSession,
        user: User,
        clock: Clock,
        settings: Settings,
        i18n: I18n,
    ) -> None:
        client = await load(query, session, user, callback_data.client_id)
        if client is None:
            return
        if client.version != callback_data.version:
            await stale(query, session, user, client, settings, i18n)
            return
        if callback_data.arg == 0:
            text, markup = views.owner_menu(client, await svc.assignable_staff(session))
            await edit_or_send(query, text, markup)
            await query.answer()
            return
        now = clock.now()
        try:
            client, previous = await svc.set_owner(
                session, user, client, callback_data.version, callback_data.arg, now
            )
        except DomainError as e:
            await query.answer(views.client_error(e), show_alert=True)
            return
        new_owner = await session.get(User, client.owner_id)
        new_name = new_owner.display_name if new_owner else "?"
        if client.owner_id != user.id:
            await notify.notify(
                session,
                client.owner_id,
                "client_assigned",
                now,
                admin=user.display_name,
                name=client.name,
                client_id=client.id,
            )
        if previous != user.id:
            await notify.notify(
                session,
                previous,
                "client_unassigned",
                now,
                admin=user.display_name,
                name=client.name,
                owner=new_name,
            )
        await show_in_place(query, session, user, client, settings, i18n, _("Done."))

    return r
