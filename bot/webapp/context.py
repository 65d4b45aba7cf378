"""What a Mini App handler works with (built by the server's middleware for each request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import Deps
from models.users import User

DEPS = web.AppKey("deps", Deps)
BASE = web.AppKey("base", str)


@dataclass(slots=True)
class Web:
    """The request's session (one transaction), the staff member, their language, the app's deps."""

    session: AsyncSession
    user: User
    locale: str
    deps: Deps

    @property
    def tz(self) -> str:
        return self.user.timezone or self.deps.settings.default_timezone

    def now(self) -> datetime:
        return self.deps.clock.now()


WEB = web.RequestKey("web", Web)


def web_of(request: web.Request) -> Web:
    return request[WEB]
