"""/loyalty (admins): the program's settings, each changed by a typed value, and the gift catalog
(show or hide a gift, add one)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LoyaltyAction, LoyaltyCb
from bot.context import Ctx
from bot.dialogs import begin_dialog, end_dialog
from bot.edit import edit_or_send
from bot.text import h
from bot.views import loyalty as views
from handlers.loyalty.common import ADMIN, STAFF, TYPED, Setup, ask, currency, prompt
from services.errors import DomainError
from services.loyalty import gifts
from services.loyalty import settings as program_settings

router = Router(name="loyalty.settings")
FIELDS = program_settings.SETTING_FIELDS


@router.message(Command("loyalty"), flags=ADMIN)
async def settings_command(message: Message, ctx: Ctx) -> None:
    prog = await program_settings.program(ctx.session)
    await message.answer(
        views.settings_text(prog, currency(ctx)), reply_markup=views.settings_keyboard(FIELDS)
    )


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.settings), flags=ADMIN)
async def settings_button(query: CallbackQuery, ctx: Ctx) -> None:
    prog = await program_settings.program(ctx.session)
    await edit_or_send(query, views.settings_text(prog, currency(ctx)), views.settings_keyboard(FIELDS))
    await query.answer()


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.set), flags=ADMIN)
async def setting_button(query: CallbackQuery, callback_data: LoyaltyCb, ctx: Ctx) -> None:
    if not 0 <= callback_data.arg < len(FIELDS):
        await query.answer(_("This button is no longer valid. Send /start to begin again."), show_alert=True)
        return
    await begin_dialog(ctx.state, Setup.value, field=FIELDS[callback_data.arg])
    await query.answer()
    if isinstance(query.message, Message):
        await ask(query.message, ctx)


@router.message(Setup.value, *TYPED, flags=STAFF)
async def value_typed(message: Message, ctx: Ctx) -> None:
    field = (await ctx.state.get_data())["field"]
    try:
        prog = await program_settings.set_setting(ctx.session, ctx.user, field, message.text, ctx.now())
    except DomainError as e:
        text, markup = await prompt(ctx)
        await message.answer(f"{views.error(e)}\n\n{text}", reply_markup=markup)
        return
    await end_dialog(ctx.state)
    await message.answer(
        _("✅ Saved.") + "\n\n" + views.settings_text(prog, currency(ctx)),
        reply_markup=views.settings_keyboard(FIELDS),
    )


# --- the gift catalog ---


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.catalog), flags=ADMIN)
async def catalog_button(query: CallbackQuery, ctx: Ctx) -> None:
    items = await gifts.catalog(ctx.session, active_only=False)
    await edit_or_send(query, views.catalog_text(items), views.catalog_keyboard(items))
    await query.answer()


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.gtoggle), flags=ADMIN)
async def gift_toggle(query: CallbackQuery, callback_data: LoyaltyCb, ctx: Ctx) -> None:
    try:
        gift = await gifts.toggle_gift(ctx.session, ctx.user, callback_data.id)
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        return
    items = await gifts.catalog(ctx.session, active_only=False)
    await edit_or_send(query, views.catalog_text(items), views.catalog_keyboard(items))
    await query.answer(_("Shown to customers.") if gift.active else _("Hidden from customers."))


@router.callback_query(LoyaltyCb.filter(F.action == LoyaltyAction.gadd), flags=ADMIN)
async def gift_add(query: CallbackQuery, ctx: Ctx) -> None:
    await begin_dialog(ctx.state, Setup.gift)
    await query.answer()
    if isinstance(query.message, Message):
        await ask(query.message, ctx)


@router.message(Setup.gift, *TYPED, flags=STAFF)
async def gift_typed(message: Message, ctx: Ctx) -> None:
    try:
        gift = await gifts.add_gift(ctx.session, ctx.user, message.text, ctx.now())
    except DomainError as e:
        text, markup = await prompt(ctx)
        await message.answer(f"{views.error(e)}\n\n{text}", reply_markup=markup)
        return
    await end_dialog(ctx.state)
    items = await gifts.catalog(ctx.session, active_only=False)
    note = _("✅ Added: {gift}.").format(gift=h(gift.name))
    await message.answer(f"{note}\n\n{views.catalog_text(items)}", reply_markup=views.catalog_keyboard(items))
