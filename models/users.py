"""Telegram accounts that talk to the bot: admins, managers and customers."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamped, UTCDateTime


class Role(enum.StrEnum):
    admin = "admin"
    manager = "manager"
    customer = "customer"


STAFF_ROLES = frozenset({Role.admin, Role.manager})


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # Telegram user id
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", native_enum=False, length=16), default=Role.customer, index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    # The language the user chose with /language; None means "follow Telegram's language_code".
    language: Mapped[str | None] = mapped_column(String(8))
    tg_language: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str | None] = mapped_column(String(64))
    blocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the user blocked the bot
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # "chat not found"
    invited_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def effective_role(self) -> Role:
        """A deactivated manager or admin is treated as a customer from the next update on."""
        if self.role in STAFF_ROLES and not self.is_active:
            return Role.customer
        return self.role

    @property
    def is_staff(self) -> bool:
        return self.effective_role in STAFF_ROLES

    @property
    def display_name(self) -> str:
        name = " ".join(p for p in (self.first_name, self.last_name) if p).strip()
        return name or (f"@{self.username}" if self.username else str(self.id))

    @property
    def reachable(self) -> bool:
        return self.blocked_at is None and self.unreachable_at is None
