"""The program's settings (earn percent, bonuses, expiry, redeem share, tiers): reading, parsing
what an admin types, storing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.loyalty import LoyaltySettings
from models.users import User
from services.access import sees_everything
from services.errors import DomainError, NotAllowed

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_BONUS = 1_000_000
MAX_POINTS = 10_000_000
MAX_EXPIRY_DAYS = 3650
MAX_TIERS = 10
TIER_NAME_LIMIT = 30


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    threshold: Decimal  # total spend from which it applies
    discount: Decimal  # percent


DEFAULT_TIERS = (
    Tier("Bronze", Decimal(0), Decimal(0)),
    Tier("Silver", Decimal(30000), Decimal(5)),
    Tier("Gold", Decimal(100000), Decimal(10)),
)


@dataclass(frozen=True, slots=True)
class Program:
    earn_percent: Decimal = Decimal(5)
    welcome_bonus: int = 100
    birthday_bonus: int = 200
    referral_bonus: int = 300
    expiry_days: int = 365
    redeem_share: int = 30
    tiers: tuple[Tier, ...] = DEFAULT_TIERS

    def tier_for(self, spend: Decimal) -> tuple[Tier, Tier | None]:
        """The tier reached with this total spend, and the next one (None at the top)."""
        current, following = self.tiers[0], None
        for tier in self.tiers:
            if spend >= tier.threshold:
                current = tier
            elif following is None:
                following = tier
        return current, following


SETTING_FIELDS = (
    "earn_percent",
    "welcome_bonus",
    "birthday_bonus",
    "referral_bonus",
    "expiry_days",
    "redeem_share",
    "tiers",
)


def tiers_from_row(raw: list[Any]) -> tuple[Tier, ...]:
    return tuple(Tier(str(n), Decimal(str(t)), Decimal(str(d))) for n, t, d in raw)


def tiers_to_row(tiers: tuple[Tier, ...]) -> list[Any]:
    return [[t.name, str(t.threshold), str(t.discount)] for t in tiers]


async def program(session: AsyncSession) -> Program:
    row = await session.get(LoyaltySettings, 1)
    if row is None:
        return Program()
    return Program(
        earn_percent=Decimal(row.earn_percent),
        welcome_bonus=row.welcome_bonus,
        birthday_bonus=row.birthday_bonus,
        referral_bonus=row.referral_bonus,
        expiry_days=row.expiry_days,
        redeem_share=row.redeem_share,
        tiers=tiers_from_row(row.tiers),
    )


SPACES = re.compile(r"[\s\u00a0\u202f\u2009'’]")


def parse_int(text: str | None, low: int, high: int) -> int:
    """A whole number typed by a person ("30 000" too), within [low, high]."""
    raw = SPACES.sub("", text or "")
    if raw.startswith("+"):
        raw = raw[1:]
    if not raw.isdecimal() or not raw.isascii():
        raise DomainError("number_invalid")
    value = int(raw)
    if not low <= value <= high:
        raise DomainError("number_range", low=low, high=high)
    return value


def parse_percent(text: str | None, high: int = 100) -> Decimal:
    raw = SPACES.sub("", text or "").rstrip("%").replace(",", ".")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise DomainError("number_invalid") from None
    if not value.is_finite() or int(value.as_tuple().exponent) < -2:
        raise DomainError("number_invalid")
    if not Decimal(0) <= value <= high:
        raise DomainError("number_range", low=0, high=high)
    return value.quantize(CENT)


# A whole number as people write it: "30000" or "30 000".
WHOLE = r"\d{1,3}(?:[ \u00a0]\d{3})+|\d+"
_TIER = re.compile(rf"(?P<name>.+?) (?P<spend>{WHOLE}) (?P<discount>\d+(?:[.,]\d+)?)%?")


def parse_tiers(text: str | None) -> tuple[Tier, ...]:
    """ "Bronze 0 0; Silver 30000 5; Gold 100000 10": name, total spend from, discount %, by spend;
    the first starts from 0. Names may have spaces; the last two words are the numbers."""
    parts = [p.strip() for p in (text or "").replace("\n", ";").split(";") if p.strip()]
    if not parts:
        raise DomainError("tiers_invalid")
    if len(parts) > MAX_TIERS:
        raise DomainError("tiers_too_many", limit=MAX_TIERS)
    tiers: list[Tier] = []
    for part in parts:
        match = _TIER.fullmatch(" ".join(part.split()))
        if match is None:
            raise DomainError("tiers_invalid")
        name = match["name"]
        if len(name) > TIER_NAME_LIMIT:
            raise DomainError("too_long", limit=TIER_NAME_LIMIT, length=len(name))
        threshold = Decimal(parse_int(match["spend"], 0, 10**12))
        discount = parse_percent(match["discount"], high=99)
        tiers.append(Tier(name, threshold, discount))
    if tiers[0].threshold != 0:
        raise DomainError("tiers_first_zero")
    names = [t.name.casefold() for t in tiers]
    if len(set(names)) != len(names):
        raise DomainError("tiers_duplicate")
    if any(b.threshold <= a.threshold for a, b in pairwise(tiers)):
        raise DomainError("tiers_order")
    return tuple(tiers)


def tiers_text(tiers: tuple[Tier, ...]) -> str:
    return "; ".join(f"{t.name} {t.threshold.normalize():f} {t.discount.normalize():f}" for t in tiers)


def parse_setting(name: str, text: str | None) -> Any:
    if name == "earn_percent":
        return parse_percent(text)
    if name in ("welcome_bonus", "birthday_bonus", "referral_bonus"):
        return parse_int(text, 0, MAX_BONUS)
    if name == "expiry_days":
        return parse_int(text, 1, MAX_EXPIRY_DAYS)
    if name == "redeem_share":
        return parse_int(text, 0, 100)
    if name == "tiers":
        return parse_tiers(text)
    raise DomainError("not_found")


async def set_setting(
    session: AsyncSession, actor: User, name: str, text: str | None, now: datetime
) -> Program:
    """Validate the typed value and store it (admins only). Bad input raises DomainError."""
    if not sees_everything(actor):
        raise NotAllowed()
    value = parse_setting(name, text)
    current = await program(session)
    row = await session.get(LoyaltySettings, 1)
    if row is None:
        row = LoyaltySettings(
            id=1,
            earn_percent=current.earn_percent,
            welcome_bonus=current.welcome_bonus,
            birthday_bonus=current.birthday_bonus,
            referral_bonus=current.referral_bonus,
            expiry_days=current.expiry_days,
            redeem_share=current.redeem_share,
            tiers=tiers_to_row(current.tiers),
        )
        session.add(row)
    setattr(row, name, tiers_to_row(value) if name == "tiers" else value)
    row.updated_at, row.updated_by = now, actor.id
    await session.flush()
    return await program(session)
