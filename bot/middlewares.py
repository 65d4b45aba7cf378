"""Per-update wiring, in order: database session → user and role → language → error reporter.

The role gate is an inner middleware: it reads the `role` flag every handler declares and answers
"not allowed" when the sender's role doesn't fit, before the handler runs.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, InlineQuery, Message, TelegramObject, Update
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.context import Ctx
from bot.deps import Deps
from bot.fsm_storage import CURRENT_SESSION
from models.users import Role, User
from services import users as users_service
from services.clock import Clock

log = logging.getLogger("bot.errors")

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One session and one transaction per update: committed when the handler returns, else rolled back."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            token = CURRENT_SESSION.set(session)  # dialog state is saved in this same transaction
            try:
                result = await handler(event, data)
            except BaseException:
                await session.rollback()
                raise
            finally:
                CURRENT_SESSION.reset(token)
            await session.commit()
            return result


class UserMiddleware(BaseMiddleware):
    """Loads (or creates) the sender, refreshes their profile, and puts `user` and `role` in data."""

    def __init__(self, clock: Clock, admin_ids: tuple[int, ...]) -> None:
        self.clock = clock
        self.admin_ids = admin_ids

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return None  # channel posts and bots: nothing for a CRM to do
        session: AsyncSession = data["session"]
        profile = users_service.TelegramProfile(
            id=tg_user.id,
            first_name=tg_user.first_name or "",
            last_name=tg_user.last_name,
            username=tg_user.username,
            language_code=tg_user.language_code,
        )
        user = await users_service.touch(session, profile, self.clock.now(), self.admin_ids)
        data["user"] = user
        data["role"] = user.effective_role
        return await handler(event, data)


class ContextMiddleware(BaseMiddleware):
    """Builds the handler's typed context (bot/context.py) once the session, user and locale are known."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        i18n = data.get("i18n")
        locale = i18n.current_locale if i18n is not None else self.deps.settings.default_language
        data["locale"] = locale
        if "state" not in data or "user" not in data:
            return await handler(event, data)
        data["ctx"] = Ctx(
            session=data["session"], user=data["user"], state=data["state"], deps=self.deps, locale=locale
        )
        return await handler(event, data)


class ErrorReporterMiddleware(BaseMiddleware):
    """An exception in a handler: the person gets a short apology with a reference code, the
    traceback is logged with that code, the transaction is rolled back, and the bot goes on."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        try:
            return await handler(event, data)
        except Exception:
            ref = secrets.token_hex(4).upper()
            update: Update = event  # type: ignore[assignment]
            log.exception("error %s while handling update %s", ref, getattr(update, "update_id", "?"))
            session: AsyncSession | None = data.get("session")
            if session is not None:
                await session.rollback()
            await self._apologise(update, ref)
            return None

    @staticmethod
    async def _apologise(update: Update, ref: str) -> None:
        text = _("Sorry, something went wrong on our side. Please try again. Reference: {ref}").format(
            ref=ref
        )
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(text[:200], show_alert=True)
            elif update.message is not None:
                await update.message.answer(text)
            elif update.inline_query is not None:
                await update.inline_query.answer([], cache_time=0, is_personal=True)
        except TelegramAPIError:
            log.warning("could not deliver the apology for error %s", ref)


ROLE_LEVEL = {"any": 0, "staff": 1, "admin": 2}
EFFECTIVE_LEVEL = {Role.customer: 0, Role.manager: 1, Role.admin: 2}


class RoleGateMiddleware(BaseMiddleware):
    """Every handler declares flags={"role": "any" | "staff" | "admin"}; a missing flag denies."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        required = get_flag(data, "role")
        user: User | None = data.get("user")
        if required in ROLE_LEVEL and user is not None:
            if EFFECTIVE_LEVEL[user.effective_role] >= ROLE_LEVEL[required]:
                return await handler(event, data)
        elif required is None:
            log.error("handler %s has no role flag; denied", data.get("handler"))
        await self._deny(event)
        return None

    @staticmethod
    async def _deny(event: TelegramObject) -> None:
        text = _("⛔ Not allowed. This is only for the company's staff.")
        if isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
        elif isinstance(event, Message):
            await event.answer(text)
        elif isinstance(event, InlineQuery):
            await event.answer([], cache_time=0, is_personal=True)
