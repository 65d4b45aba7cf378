"""Single-use manager invites delivered as `t.me/<bot>?start=<payload>` deep links."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.invites import Invite, InviteKind
from models.users import Role, User
from services import audit
from services.errors import DomainError

MANAGER_INVITE_TTL = timedelta(days=7)
PREFIX = {InviteKind.manager: "m_"}
# 32 bytes of randomness, 43 URL-safe characters: with the prefix the payload stays within
# Telegram's 64-character deep-link limit and uses only A-Z a-z 0-9 _ -.
TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class Redeemed:
    user: User
    invite: Invite
    inviter_id: int | None


def payload_of(invite: Invite) -> str:
    return PREFIX[invite.kind] + invite.token


def kind_of(payload: str) -> InviteKind | None:
    for kind, prefix in PREFIX.items():
        if payload.startswith(prefix):
            return kind
    return None


async def create_manager_invite(session: AsyncSession, admin: User, now: datetime) -> Invite:
    invite = Invite(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        kind=InviteKind.manager,
        created_by=admin.id,
        created_at=now,
        expires_at=now + MANAGER_INVITE_TTL,
    )
    session.add(invite)
    audit.record(session, admin.id, "invite.create", "invite:manager", now)
    await session.flush()
    return invite


async def redeem_manager_invite(session: AsyncSession, user: User, payload: str, now: datetime) -> Redeemed:
    """Make `user` a manager.

    Raises DomainError: invite_invalid, invite_used, invite_expired or already_staff.
    """
    if kind_of(payload) != InviteKind.manager:
        raise DomainError("invite_invalid")
    token = payload[len(PREFIX[InviteKind.manager]) :]
    invite = await session.scalar(
        select(Invite).where(Invite.token == token, Invite.kind == InviteKind.manager)
    )
    if invite is None:
        raise DomainError("invite_invalid")
    if invite.used_at is not None:
        if invite.used_by == user.id and user.is_staff:
            raise DomainError("already_staff")
        raise DomainError("invite_used")
    if invite.expires_at <= now:
        raise DomainError("invite_expired")
    if user.is_staff:
        raise DomainError("already_staff")
    # Claim the invite with a conditional update so two people opening it at once can't both win.
    claimed = await session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None))
        .values(used_by=user.id, used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise DomainError("invite_used")
    invite.used_by, invite.used_at = user.id, now
    before = user.role
    user.role = Role.manager
    user.is_active = True
    user.invited_by = invite.created_by
    audit.record(
        session,
        user.id,
        "invite.redeem",
        f"user:{user.id}",
        now,
        before=before,
        after=user.role,
        inviter=invite.created_by,
        invite=invite.id,
    )
    await session.flush()
    return Redeemed(user=user, invite=invite, inviter_id=invite.created_by)
