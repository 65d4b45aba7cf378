"""What a client card shows. services/card.py reads it (it combines clients, reminders and deals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.clients import Client
from models.users import User


@dataclass(frozen=True, slots=True)
class DuplicateRef:
    """What the card shows of a likely duplicate (and its Merge button needs)."""

    id: int
    name: str
    company: str | None
    created_at: datetime


@dataclass
class CardData:
    client: Client
    owner: User | None
    next_reminder: Any  # Reminder | None
    deals: Any  # services.deals.OpenSummary
    duplicates: list[Any]  # DuplicateRef or Client: .id, .name, .company, .created_at
    rfm: Any = None  # models.analytics.RfmScore in the latest finished run; None: not scored
    drips: int = 0  # the client's active drip sequences
    drip_next_at: Any = None  # datetime | None: when the soonest next step of those is due (UTC)


_CARD_STATEMENTS: dict[bool, Any] = {}
