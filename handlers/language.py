"""/language: the person's choice, stored, and applied to menus too."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import keyboards
from bot.callbacks import LanguageCb
from bot.context import Ctx
from bot.edit import edit_or_send
from services import notify
from services import users as users_service
from services.users import SUPPORTED_LANGUAGES

ANY = {"role": "any"}

router = Router(name="language")


@router.message(Command("language"), flags=ANY)
async def ask(message: Message, ctx: Ctx) -> None:
    await message.answer(_("Choose your language:"), reply_markup=keyboards.languages(ctx.locale))


@router.callback_query(LanguageCb.filter(F.code.in_(SUPPORTED_LANGUAGES)), flags=ANY)
async def choose(query: CallbackQuery, callback_data: LanguageCb, ctx: Ctx) -> None:
    await users_service.set_language(ctx.session, ctx.user, callback_data.code)
    await notify.sync_commands(ctx.session, ctx.user.id, ctx.now())
    with ctx.i18n.use_locale(callback_data.code):  # the answer is already in the new language
        text = _("Language: English. Send /help to see what I can do.")
        await edit_or_send(query, text, keyboards.languages(callback_data.code))
        await query.answer()
