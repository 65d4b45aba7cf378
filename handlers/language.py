"""/language: the person's choice, stored, and applied to menus too."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards
from bot.callbacks import LanguageCb
from bot.edit import edit_or_send
from models.users import User
from services import notify
from services import users as users_service
from services.clock import Clock
from services.users import SUPPORTED_LANGUAGES

ANY = {"role": "any"}


def router() -> Router:
    r = Router(name="language")

    @r.message(Command("language"), flags=ANY)
    async def ask(message: Message, i18n: I18n) -> None:
        await message.answer(
            _("Choose your language:"), reply_markup=keyboards.languages(i18n.current_locale)
        )

    @r.callback_query(LanguageCb.filter(F.code.in_(SUPPORTED_LANGUAGES)), flags=ANY)
    async def choose(
        query: CallbackQuery,
        callback_data: LanguageCb,
        session: AsyncSession,
        user: User,
        i18n: I18n,
        clock: Clock,
    ) -> None:
        await users_service.set_language(session, user, callback_data.code)
        await notify.sync_commands(session, user.id, clock.now())
        with i18n.use_locale(callback_data.code):
            text = _("Language: English. Send /help to see what I can do.")
            await edit_or_send(query, text, keyboards.languages(callback_data.code))
            await query.answer()

    return r
