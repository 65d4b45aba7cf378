"""Satisfaction surveys (CSAT, NPS) (being built).

Contract used by other services (kept while this module grows):
- after(session, trigger, client_id, manager_id, ref_id, now): something happened that may earn a survey;
  trigger is "contact" (a logged interaction), "purchase" or "deal_won".
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession


async def after(
    session: AsyncSession, trigger: str, client_id: int, manager_id: int | None, ref_id: int, now: datetime
) -> None:
    """Plans a survey when the rules allow one (settings, 14-day limit, consent at send time)."""
    return None
