"""What every part of the deals domain agrees on: the closed stages and the limits."""

from __future__ import annotations

from decimal import Decimal

from services import reminders

CLOSED_STAGES = frozenset({"won", "lost"})
TITLE_LIMIT = 200
REASON_LIMIT = 1000
STEP_LIMIT = reminders.TEXT_LIMIT
MAX_AMOUNT = Decimal("999999999999.99")
CENT = Decimal("0.01")
