"""Who changed what: every change to a client or a role (and invites, links, merges), with its before
and after. Changes to deals, consent and points are recorded where they happen (deal_events,
consent_events, loyalty_entries); services/audit.py reads all four as one timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigId, UTCDateTime, utcnow
from models.consent import ConsentEvent
from models.deals import DealEvent
from models.loyalty import LedgerEntry


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_client_at", "client_id", "at"),
        Index("ix_audit_events_actor_at", "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_id: Mapped[int | None] = mapped_column(BigInteger)  # the client it is about, if any
    before: Mapped[str | None] = mapped_column(Text)  # the value before the change, as shown
    after: Mapped[str | None] = mapped_column(Text)  # the value after it


# The timeline's pages (services/audit.py) read each source newest first, for everyone or for one
# person: a range of these indexes, never a scan of the table. (audit_events has its own above.)
Index("ix_consent_events_at", ConsentEvent.at, ConsentEvent.id)
Index("ix_consent_events_actor_at", ConsentEvent.actor_id, ConsentEvent.at)
Index("ix_loyalty_entries_at", LedgerEntry.at, LedgerEntry.id)
Index("ix_loyalty_entries_actor_at", LedgerEntry.actor_id, LedgerEntry.at)
Index("ix_deal_events_actor_at", DealEvent.actor_id, DealEvent.at)
