"""The client base: one owner per client, normalised phones/emails, search terms, tags."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false

from models.base import Base, BigId, UTCDateTime, utcnow

# Prefix searches compare bytes: PostgreSQL needs the "C" collation for range scans on an index.
SearchText = String(100).with_variant(String(100, collation="C"), "postgresql")


class ClientStatus(enum.StrEnum):
    prospect = "prospect"
    active = "active"
    inactive = "inactive"


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (
        Index("ix_clients_owner_last_contact", "owner_id", "last_contact_at"),
        # "My clients, newest first" is an index scan (LIMIT 9 for a page of 8).
        Index("ix_clients_owner_newest", "owner_id", "id"),
        # Likely duplicates of a card: one probe for the same key (a manager: and the same owner).
        Index("ix_clients_dup_key", "dup_key", "owner_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)  # normalised (lower case)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    birthday: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[ClientStatus] = mapped_column(
        Enum(ClientStatus, name="client_status", native_enum=False, length=16), default=ClientStatus.prospect
    )
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id"))
    created_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    updated_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped on every change; buttons carry it so a stale button can't overwrite newer data.
    version: Mapped[int] = mapped_column(Integer, default=1)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A merged-away record points at the survivor and is no longer shown.
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("clients.id"), index=True)
    # A hash of the normalised name and company words (services.search.duplicate_key), kept by every
    # write of either; None when the name alone says too little (a lone first name, no company).
    dup_key: Mapped[str | None] = mapped_column(String(32))
    # An admin's manual VIP mark; a client is VIP when this is set or their ABC class is A.
    vip: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    phones: Mapped[list[ClientPhone]] = relationship(
        back_populates="client", cascade="all, delete-orphan", order_by="ClientPhone.id", lazy="selectin"
    )
    tags: Mapped[list[ClientTag]] = relationship(
        back_populates="client", cascade="all, delete-orphan", order_by="ClientTag.tag", lazy="selectin"
    )


class ClientPhone(Base):
    __tablename__ = "client_phones"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    client_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    # Digits reversed, so "the last 4+ digits" is an indexed prefix search.
    digits_reversed: Mapped[str] = mapped_column(SearchText, index=True)

    client: Mapped[Client] = relationship(back_populates="phones")


class ClientTag(Base):
    __tablename__ = "client_tags"

    client_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)  # normalised (lower case)

    client: Mapped[Client] = relationship(back_populates="tags")


class ClientSearchTerm(Base):
    """One row per normalised word of a client's name, company, tags and email (casefold, ё→е).

    Prefix search is an index range scan: (owner_id, term) for a manager, (term) for an admin; the
    trailing client_id keeps results in index order (term, client_id), so paging needs no sort.
    """

    __tablename__ = "client_search_terms"
    __table_args__ = (
        UniqueConstraint("client_id", "term", name="uq_client_search_terms_client_term"),
        Index("ix_client_search_terms_owner_term", "owner_id", "term", "client_id"),
        Index("ix_client_search_terms_term", "term", "client_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # No index of its own: the unique (client_id, term) serves lookups and cascades by client.
    client_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("clients.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(BigInteger)
    term: Mapped[str] = mapped_column(SearchText)
