"""Time zones: what /timezone understands (a zone name, a city, an offset) and saving the choice."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.jobs import Job, JobStatus
from models.users import User
from services.errors import DomainError
from services.timeparse.grammar import (
    _normalise,
)
from services.timeparse.resolve import (
    _zone,
)
from services.timezones import next_local_occurrence

# --- time zones: what /timezone understands ----------------------------------------------------

# Russia's zones west to east; the /timezone buttons.
COMMON_ZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)
# Cities people type instead of a zone name (folded: lower case, ё→е, "-" and "_" as spaces).
_CITY_ZONES = {
    "москва": "Europe/Moscow", "мск": "Europe/Moscow", "санкт петербург": "Europe/Moscow",
    "петербург": "Europe/Moscow", "питер": "Europe/Moscow", "спб": "Europe/Moscow",
    "казань": "Europe/Moscow", "нижний новгород": "Europe/Moscow", "сочи": "Europe/Moscow",
    "краснодар": "Europe/Moscow", "ростов на дону": "Europe/Moscow", "воронеж": "Europe/Moscow",
    "калининград": "Europe/Kaliningrad", "самара": "Europe/Samara", "ижевск": "Europe/Samara",
    "волгоград": "Europe/Volgograd", "саратов": "Europe/Saratov", "ульяновск": "Europe/Ulyanovsk",
    "астрахань": "Europe/Astrakhan", "екатеринбург": "Asia/Yekaterinburg",
    "челябинск": "Asia/Yekaterinburg", "пермь": "Asia/Yekaterinburg", "уфа": "Asia/Yekaterinburg",
    "тюмень": "Asia/Yekaterinburg", "оренбург": "Asia/Yekaterinburg", "омск": "Asia/Omsk",
    "новосибирск": "Asia/Novosibirsk", "барнаул": "Asia/Barnaul", "томск": "Asia/Tomsk",
    "кемерово": "Asia/Novokuznetsk", "новокузнецк": "Asia/Novokuznetsk",
    "красноярск": "Asia/Krasnoyarsk", "иркутск": "Asia/Irkutsk", "улан удэ": "Asia/Irkutsk",
    "чита": "Asia/Chita", "якутск": "Asia/Yakutsk", "благовещенск": "Asia/Yakutsk",
    "владивосток": "Asia/Vladivostok", "хабаровск": "Asia/Vladivostok",
    "южно сахалинск": "Asia/Sakhalin", "магадан": "Asia/Magadan",
    "петропавловск камчатский": "Asia/Kamchatka", "камчатка": "Asia/Kamchatka",
    "анадырь": "Asia/Anadyr", "минск": "Europe/Minsk", "киев": "Europe/Kyiv",
    "алматы": "Asia/Almaty", "астана": "Asia/Almaty", "ташкент": "Asia/Tashkent",
    "бишкек": "Asia/Bishkek", "тбилиси": "Asia/Tbilisi", "ереван": "Asia/Yerevan",
    "баку": "Asia/Baku", "стамбул": "Europe/Istanbul", "дубай": "Asia/Dubai",
    "лондон": "Europe/London", "берлин": "Europe/Berlin", "нью йорк": "America/New_York",
    "saint petersburg": "Europe/Moscow", "st petersburg": "Europe/Moscow",
    "new york": "America/New_York", "kiev": "Europe/Kyiv",
}  # fmt: skip
# Offsets that aren't whole hours map to a zone that keeps that offset all year.
_ODD_OFFSETS = {
    (3, 30): "Asia/Tehran", (4, 30): "Asia/Kabul", (5, 30): "Asia/Kolkata", (5, 45): "Asia/Kathmandu",
    (6, 30): "Asia/Yangon", (8, 45): "Australia/Eucla", (9, 30): "Australia/Darwin",
    (-9, -30): "Pacific/Marquesas",
}  # fmt: skip
_OFFSET = re.compile(r"^(utc|gmt|мск|msk)?\s*(?:([+\-−])\s*(\d{1,2})(?:[:.]?(\d{2}))?)?$")
_zone_names: dict[str, str] = {}


def _fold_zone(text: str) -> str:
    return " ".join(re.split(r"[\s_\-]+", _normalise(text.strip()))).strip()


def _known_zones() -> dict[str, str]:
    if not _zone_names:
        for name in available_timezones():
            if name.startswith(("posix/", "right/")) or name in ("localtime", "Factory"):
                continue
            _zone_names.setdefault(_fold_zone(name), name)
            city = name.rsplit("/", 1)[-1]
            if "/" in name and not name.startswith("Etc/"):
                _zone_names.setdefault(_fold_zone(city), name)
    return _zone_names


def _fixed_offset_zone(hours: int, minutes: int) -> str:
    if minutes:
        zone = _ODD_OFFSETS.get((hours, minutes))
        if zone is None:
            raise DomainError("tz_unknown")
        return zone
    if not -12 <= hours <= 14:
        raise DomainError("tz_unknown")
    if hours == 0:
        return "UTC"
    return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"  # POSIX: the sign is inverted


def zone_from_text(text: str) -> str:
    """An IANA name ("Asia/Almaty", "asia/almaty"), a city ("Novosibirsk", "Новосибирск"), or an
    offset ("+3", "UTC+5", "GMT-4", "+05:30", "МСК+4"). DomainError("tz_unknown") otherwise."""
    if not isinstance(text, str) or not text.strip() or len(text) > 64:
        raise DomainError("tz_unknown")
    folded = _fold_zone(text)
    m = _OFFSET.match(re.sub(r"\s+", "", _normalise(text)))
    if m and (m.group(1) or m.group(2)):
        base = 3 if m.group(1) in ("мск", "msk") else 0
        if not m.group(2):
            return "Europe/Moscow" if base else "UTC"
        sign = -1 if m.group(2) in "-−" else 1
        hours, minutes = int(m.group(3)), int(m.group(4) or 0)
        if minutes >= 60:
            raise DomainError("tz_unknown")
        return _fixed_offset_zone(base + sign * hours, sign * minutes if not base else minutes)
    if folded in _CITY_ZONES:
        return _CITY_ZONES[folded]
    zone = _known_zones().get(folded)
    if zone is None:
        raise DomainError("tz_unknown")
    return zone


def utc_offset(zone: str, now: datetime) -> str:
    """The offset from UTC at this moment, like +03:00, -04:00 or +05:30."""
    offset = now.astimezone(_zone(zone)).utcoffset() or timedelta()
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return f"{sign}{hours:02}:{minutes:02}"


async def set_timezone(session: AsyncSession, user: User, zone: str, now: datetime, digest_hour: int) -> str:
    """Store the person's zone; an admin's planned daily digest moves to their new local hour."""
    zone = zone_from_text(zone)
    user.timezone = zone
    pending = await session.scalars(
        select(Job).where(Job.kind == "admin_digest", Job.status == JobStatus.pending)
    )
    for job in pending.all():
        if int(job.payload.get("user_id", 0)) != user.id:
            continue
        due = next_local_occurrence(digest_hour, zone, now)
        key = f"digest:{user.id}:{due.astimezone(_zone(zone)).date().isoformat()}"
        taken = key != job.idempotency_key and await session.scalar(
            select(Job.id).where(Job.idempotency_key == key)
        )
        if taken:
            job.status = JobStatus.cancelled  # that local day's digest exists already
        else:
            job.due_at, job.idempotency_key, job.updated_at = due, key, now
    await session.flush()
    return zone
