"""The typed per-update context a handler takes besides the event and its callback data.

`ContextMiddleware` (bot/middlewares.py) builds one `Ctx` for every update, after the session, the
sender's user and role, and the language are known, and puts it in the handler data as `ctx`:

    @router.message(Command("find"), flags=STAFF)
    async def find(message: Message, command: CommandObject, ctx: Ctx) -> None:
        rows = await search_service.find(ctx.session, ctx.user, command.args or "")
        ...

Everything a handler needs is here; handlers take no other injected parameter than the event, its
`callback_data` (or `command`), and `ctx`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.deps import Deps
from models.users import Role, User
from services.clock import Clock
from services.timezones import zone_of


@dataclass(slots=True)
class Ctx:
    session: AsyncSession  # the update's one session and transaction (committed after the handler)
    user: User  # the sender, created on first contact
    state: FSMContext  # dialog state, saved in the update's transaction
    deps: Deps  # settings, bot, i18n, sender, clock, session factory
    locale: str  # the language this update is answered in ("ru" or "en")

    @property
    def role(self) -> Role:
        return self.user.effective_role

    @property
    def settings(self) -> Settings:
        return self.deps.settings

    @property
    def bot(self) -> Bot:
        return self.deps.bot

    @property
    def clock(self) -> Clock:
        return self.deps.clock

    @property
    def i18n(self) -> I18n:
        return self.deps.i18n

    def now(self) -> datetime:
        """The current time, UTC, from the injectable clock."""
        return self.deps.clock.now()

    @property
    def tz(self) -> str:
        """The person's IANA time zone name (their own, else DEFAULT_TIMEZONE)."""
        return self.user.timezone or self.deps.settings.default_timezone

    @property
    def zone(self) -> ZoneInfo:
        return zone_of(self.tz)
