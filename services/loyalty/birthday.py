"""The birthday bonus: when it is due (10:00 the client's time) and granting it once a year."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.clients import Client
from models.loyalty import BIRTHDAY, LedgerEntry
from services.loyalty.ledger import bonus
from services.loyalty.settings import program

BIRTHDAY_HOUR = 10  # local time of the birthday bonus


def birthday_in(year: int, birthday: date) -> date:
    """The birthday in a given year (29 February: the 28th in other years)."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def birthday_key(client_id: int, year: int) -> str:
    return f"birthday:{client_id}:{year}"


async def birthdays_due(
    session: AsyncSession, now: datetime, default_tz: str, horizon: timedelta = timedelta(hours=48)
) -> list[tuple[int, int, datetime]]:
    """(client id, year, when) of linked clients whose birthday bonus time (10:00 their time) falls in
    [now - 1 day, now + horizon): planned ahead, and a day missed while the bot was down still comes."""
    rows = (
        await session.execute(
            select(Client.id, Client.birthday, Client.timezone).where(
                Client.telegram_id.is_not(None), Client.birthday.is_not(None), Client.merged_into_id.is_(None)
            )
        )
    ).all()
    due: list[tuple[int, int, datetime]] = []
    for client_id, birthday, tz_name in rows:
        try:
            zone = ZoneInfo(tz_name or default_tz)
        except (KeyError, ValueError):
            zone = ZoneInfo(default_tz)
        local_today = now.astimezone(zone).date()
        for year in {local_today.year - 1, local_today.year, local_today.year + 1}:
            day = birthday_in(year, birthday)
            at = datetime.combine(day, time(BIRTHDAY_HOUR)).replace(tzinfo=zone)
            if now - timedelta(days=1) <= at < now + horizon:
                due.append((client_id, year, at))
    return due


async def grant_birthday(
    session: AsyncSession, client_id: int, year: int, now: datetime
) -> LedgerEntry | None:
    """The year's birthday bonus for a client still linked to the bot; once a year (the key)."""
    client = await session.get(Client, client_id)
    if client is None or client.merged_into_id is not None or client.telegram_id is None:
        return None
    prog = await program(session)
    return await bonus(
        session, client, BIRTHDAY, prog.birthday_bonus, now, birthday_key(client_id, year), prog
    )
