"""What the running application hands to handlers and jobs besides the update or the job itself.

Built once by the app factory (bot/app.py); job handlers get it as `JobContext.deps`, handlers as
`ctx.deps`. It lives in its own module so that neither the factory nor the jobs import each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram import Bot
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.sender import Sender
from services.clock import Clock


@dataclass(slots=True)
class Deps:
    settings: Settings
    bot: Bot
    i18n: I18n
    sender: Sender
    clock: Clock
    session_factory: async_sessionmaker[AsyncSession]
