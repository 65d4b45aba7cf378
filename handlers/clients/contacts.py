"""A shared Telegram contact and a .vcf file from staff become clients. These catch any contact or
matching document, so their router comes late (customers' shared contacts are handled earlier, by
handlers/customers)."""

from __future__ import annotations

from io import BytesIO

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import Message

from bot.context import Ctx
from bot.views import clients as views
from handlers.clients.common import STAFF, is_staff, is_vcf, send_added, send_card, send_long, show_duplicate
from services import phones, vcard
from services.clients.create import create
from services.clients.dedupe import Duplicate
from services.clients.fields import ClientData
from services.errors import DomainError

router = Router(name="clients.contacts")


@router.message(F.contact, is_staff, flags=STAFF)
async def shared_contact(message: Message, ctx: Ctx) -> None:
    contact = message.contact
    assert contact is not None
    e164 = phones.normalize(contact.phone_number, ctx.settings.default_region)
    if e164 is None:
        await message.answer(views.client_error(DomainError("bad_phone", value=contact.phone_number)))
        return
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    data = ClientData(name=name, phones=[e164], telegram_id=contact.user_id)
    try:
        client = await create(ctx.session, ctx.user, data, ctx.now())
    except Duplicate as dup:
        await show_duplicate(ctx, message.chat.id, dup)
        return
    except DomainError as e:
        await message.answer(views.client_error(e))
        return
    await send_added(ctx, message.chat.id, client)


@router.message(F.document, is_staff, is_vcf, flags=STAFF)
async def vcf_file(message: Message, ctx: Ctx) -> None:
    doc = message.document
    assert doc is not None
    if doc.file_size and doc.file_size > vcard.MAX_BYTES:
        await message.answer(views.vcf_error("vcf_too_big", limit=vcard.MAX_BYTES // 1000))
        return
    try:
        buffer = await ctx.bot.download(doc, destination=BytesIO())
    except TelegramBadRequest:
        await message.answer(views.vcf_error("vcf_unreadable"))
        return
    assert isinstance(buffer, BytesIO)
    try:
        report = await vcard.import_vcf(
            ctx.session, ctx.user, buffer.getvalue(), ctx.now(), ctx.settings.default_region
        )
    except DomainError as e:
        await message.answer(views.vcf_error(e.code, **e.params))
        return
    await send_long(ctx, message.chat.id, views.import_report(report))
    if len(report.added) == 1:
        await send_card(ctx, message.chat.id, report.added[0])
