"""Telegram accounts, their roles and the team an admin manages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.users import STAFF_ROLES, Role, User
from services import audit
from services.errors import DomainError, NotFound

SUPPORTED_LANGUAGES = ("ru", "en")
# last_seen_at is refreshed at most this often, so a busy chat doesn't write its user row on every update.
LAST_SEEN_GRANULARITY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TelegramProfile:
    """What an update tells about its sender (kept free of aiogram types)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


async def touch(
    session: AsyncSession, profile: TelegramProfile, now: datetime, admin_ids: tuple[int, ...] = ()
) -> User:
    """Find or create the user behind an update and refresh what Telegram tells about them."""
    user = await session.get(User, profile.id)
    if user is None:
        user = User(
            id=profile.id,
            role=Role.admin if profile.id in admin_ids else Role.customer,
            created_at=now,
        )
        session.add(user)
    elif profile.id in admin_ids and user.role != Role.admin:
        # ADMIN_IDS are admins from the first start; the config wins over a demotion made in the bot.
        user.role = Role.admin
        user.is_active = True
    # Assigning an equal value leaves the row clean, so an unchanged profile costs no UPDATE.
    user.first_name = profile.first_name[:128]
    user.last_name = profile.last_name[:128] if profile.last_name else None
    user.username = profile.username
    user.tg_language = profile.language_code
    if user.last_seen_at is None or now - user.last_seen_at >= LAST_SEEN_GRANULARITY:
        user.last_seen_at = now
    # A person who can write to the bot has not blocked it and their chat exists.
    user.blocked_at = None
    user.unreachable_at = None
    return user


def resolve_language(user: User | None, telegram_code: str | None, default: str) -> str:
    """Stored choice, else Telegram's language if supported, else the default."""
    return language_of(user.language if user is not None else None, telegram_code, default)


def language_of(stored: str | None, telegram_code: str | None, default: str) -> str:
    """resolve_language from the columns (a batch read without the User objects)."""
    if stored in SUPPORTED_LANGUAGES:
        return stored
    code = (telegram_code or "").split("-")[0].lower()
    if code in SUPPORTED_LANGUAGES:
        return code
    return default


async def set_language(session: AsyncSession, user: User, language: str) -> None:
    if language not in SUPPORTED_LANGUAGES:
        raise DomainError("unsupported_language")
    user.language = language
    await session.flush()


async def ensure_admins(session: AsyncSession, admin_ids: tuple[int, ...], now: datetime) -> None:
    """Create or promote the configured admins before the first update arrives."""
    for admin_id in admin_ids:
        user = await session.get(User, admin_id)
        if user is None:
            session.add(User(id=admin_id, role=Role.admin, created_at=now))
        elif user.role != Role.admin or not user.is_active:
            user.role = Role.admin
            user.is_active = True
    await session.flush()


async def team(session: AsyncSession) -> list[User]:
    """Managers and admins, active first, then by name."""
    rows = await session.scalars(
        select(User)
        .where(User.role.in_(STAFF_ROLES))
        .order_by(User.is_active.desc(), User.role, User.first_name, User.id)
    )
    return list(rows)


async def staff(session: AsyncSession) -> list[User]:
    """Active managers and admins (for command menus and digests)."""
    rows = await session.scalars(select(User).where(User.role.in_(STAFF_ROLES), User.is_active.is_(True)))
    return list(rows)


async def active_admins(session: AsyncSession) -> list[User]:
    rows = await session.scalars(
        select(User).where(User.role == Role.admin, User.is_active.is_(True)).order_by(User.id)
    )
    return list(rows)


async def _count_active_admins(session: AsyncSession, lock: bool) -> int:
    stmt = select(User.id).where(User.role == Role.admin, User.is_active.is_(True))
    if lock:
        # On PostgreSQL two admins demoting each other at once must not both succeed.
        stmt = stmt.with_for_update()
    ids = (await session.scalars(stmt)).all()
    return len(ids)


async def get_member(session: AsyncSession, user_id: int) -> User:
    user = await session.get(User, user_id)
    if user is None or user.role not in STAFF_ROLES:
        raise NotFound()
    return user


async def _guard_last_admin(session: AsyncSession, member: User) -> None:
    if member.role == Role.admin and member.is_active:
        if await _count_active_admins(session, lock=session.bind.dialect.name == "postgresql") <= 1:
            raise DomainError("last_admin")


async def deactivate(session: AsyncSession, actor: User, member_id: int, now: datetime) -> User:
    member = await get_member(session, member_id)
    if not member.is_active:
        raise DomainError("already_inactive")
    await _guard_last_admin(session, member)
    member.is_active = False
    audit.record(
        session, actor.id, "team.deactivate", f"user:{member.id}", now, before="active", after="inactive"
    )
    await session.flush()
    return member


async def reactivate(session: AsyncSession, actor: User, member_id: int, now: datetime) -> User:
    member = await get_member(session, member_id)
    if member.is_active:
        raise DomainError("already_active")
    member.is_active = True
    audit.record(
        session, actor.id, "team.reactivate", f"user:{member.id}", now, before="inactive", after="active"
    )
    await session.flush()
    return member


async def promote(session: AsyncSession, actor: User, member_id: int, now: datetime) -> User:
    member = await get_member(session, member_id)
    if member.role == Role.admin:
        raise DomainError("already_admin")
    if not member.is_active:
        raise DomainError("inactive_member")
    before = member.role
    member.role = Role.admin
    audit.record(
        session, actor.id, "team.promote", f"user:{member.id}", now, before=before, after=member.role
    )
    await session.flush()
    return member


async def demote(session: AsyncSession, actor: User, member_id: int, now: datetime) -> User:
    member = await get_member(session, member_id)
    if member.role != Role.admin:
        raise DomainError("not_admin")
    await _guard_last_admin(session, member)
    before = member.role
    member.role = Role.manager
    audit.record(session, actor.id, "team.demote", f"user:{member.id}", now, before=before, after=member.role)
    await session.flush()
    return member


async def count_by_role(session: AsyncSession) -> dict[Role, int]:
    rows = await session.execute(select(User.role, func.count()).group_by(User.role))
    return {role: n for role, n in rows.all()}
