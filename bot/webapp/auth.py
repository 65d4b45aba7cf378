"""Who is asking: the Mini App's initData, checked with the bot token (HMAC-SHA256, aiogram's
safe_parse_webapp_init_data) and its age (auth_date older than WEBAPP_AUTH_MAX_AGE is refused;
aiogram doesn't check it), then the same roles as the bot: staff only, a deactivated one is a
customer from the next request on."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram.utils.web_app import WebAppInitData, safe_parse_webapp_init_data
from sqlalchemy.ext.asyncio import AsyncSession

from models.users import User

SCHEME = "tma "  # Authorization: tma <initData>, as Telegram's documentation suggests
CLOCK_SKEW = timedelta(minutes=5)


class AuthError(Exception):
    def __init__(self, status: int, code: str) -> None:
        super().__init__(code)
        self.status = status
        self.code = code


def init_data_of(header: str | None) -> str:
    if not header or not header.startswith(SCHEME) or len(header) > 8192:
        raise AuthError(401, "missing")
    return header[len(SCHEME) :].strip()


def verify(token: str, init_data: str, now: datetime, max_age: timedelta) -> WebAppInitData:
    """The parsed initData, or AuthError(401): forged or malformed, too old, or without a user."""
    try:
        data = safe_parse_webapp_init_data(token, init_data)
    except (ValueError, TypeError, KeyError):
        raise AuthError(401, "forged") from None
    auth_date = data.auth_date
    if auth_date.tzinfo is None:
        raise AuthError(401, "forged")
    if auth_date < now - max_age or auth_date > now + CLOCK_SKEW:
        raise AuthError(401, "expired")
    if data.user is None:
        raise AuthError(401, "forged")
    return data


async def staff_member(session: AsyncSession, user_id: int) -> User:
    """The user row of a manager or admin; AuthError(403) for anyone else (a customer, a
    deactivated manager, someone who never opened the bot)."""
    user = await session.get(User, user_id)
    if user is None or not user.is_staff:
        raise AuthError(403, "not_staff")
    return user
