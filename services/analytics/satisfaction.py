"""The satisfaction index S and the loyalty index L.

S for a period: the share of CSAT answers of 4-5 among all CSAT answers given in it (0-1), with its
sample size n; under MIN_TRUSTED answers it is marked as too few to trust. For the company, per
manager (the survey's manager) and per RFM segment (the client's segment in the latest finished run;
a client not in it: "No recent purchases").

L = 1 - r(1 - S), r (0-1) the competition level of the company's market, an admin setting [0.5]. The
ECCS text prints L = S·r, which contradicts its own worked examples; 1 - r(1 - S) reproduces both:
r 0.4, S 0.5 -> 80 %; r 0.9, S 0.5 -> 55 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.analytics import AnalyticsSettings, RfmRun, RfmScore
from models.surveys import Survey
from models.users import User
from services import audit
from services.analytics.segments import Segment
from services.errors import DomainError

DEFAULT_COMPETITION = Decimal("0.5")
MIN_TRUSTED = 30
GOOD_CSAT = 4  # 4 and 5 are satisfied


@dataclass(frozen=True, slots=True)
class Index:
    good: int = 0  # answers of 4-5
    n: int = 0  # all CSAT answers

    @property
    def share(self) -> float | None:
        return self.good / self.n if self.n else None

    @property
    def trusted(self) -> bool:
        return self.n >= MIN_TRUSTED


def loyalty_index(s: float, r: float | Decimal) -> float:
    """L = 1 - r(1 - S)."""
    return 1 - float(r) * (1 - s)


@dataclass(slots=True)
class Satisfaction:
    company: Index
    r: Decimal
    managers: dict[int, Index] = field(default_factory=dict)
    segments: dict[str, Index] = field(default_factory=dict)

    @property
    def loyalty(self) -> float | None:
        s = self.company.share
        return None if s is None else loyalty_index(s, self.r)


async def competition_level(session: AsyncSession) -> Decimal:
    row = await session.get(AnalyticsSettings, 1)
    return row.competition_level if row is not None else DEFAULT_COMPETITION


def parse_level(text: str | None) -> Decimal:
    """r as typed: 0.4, 0,4, 40 % (a percentage), between 0 and 1."""
    raw = (text or "").strip().replace(",", ".").replace(" ", "")
    if not raw:
        raise DomainError("competition_empty")
    percent = raw.endswith("%")
    try:
        value = Decimal(raw.rstrip("%"))
    except InvalidOperation:
        raise DomainError("competition_not_number") from None
    if not value.is_finite():
        raise DomainError("competition_not_number")
    if percent:
        value /= 100
    if not Decimal(0) <= value <= Decimal(1):
        raise DomainError("competition_range")
    if value != value.quantize(Decimal("0.01")):
        raise DomainError("competition_precision")
    return value.quantize(Decimal("0.01"))


async def set_competition_level(
    session: AsyncSession, user: User, text: str | None, now: datetime
) -> Decimal:
    value = parse_level(text)
    row = await session.get(AnalyticsSettings, 1, with_for_update=True)
    before = row.competition_level if row is not None else DEFAULT_COMPETITION
    if row is None:
        row = AnalyticsSettings(id=1, competition_level=value, updated_at=now, updated_by=user.id)
        session.add(row)
    else:
        row.competition_level, row.updated_at, row.updated_by = value, now, user.id
    audit.record(
        session,
        user.id,
        "analytics.competition_level",
        "analytics_settings:1",
        now,
        before=str(before),
        after=str(value),
    )
    await session.flush()
    return value


def _counts() -> list:
    return [func.coalesce(func.sum(case((Survey.csat >= GOOD_CSAT, 1), else_=0)), 0), func.count(Survey.csat)]


async def satisfaction(
    session: AsyncSession, since: datetime, until: datetime, manager_id: int | None = None
) -> Satisfaction:
    """S of the CSAT answers given in [since, until) (an index range on csat_at): everyone's, or one
    manager's with `manager_id`; per manager and per RFM segment."""
    where = [Survey.csat_at >= since, Survey.csat_at < until, Survey.csat.is_not(None)]
    if manager_id is not None:
        where.append(Survey.manager_id == manager_id)
    managers: dict[int, Index] = {}
    total_good = total_n = 0
    q = select(Survey.manager_id, *_counts()).where(*where).group_by(Survey.manager_id)
    for manager, good, n in await session.execute(q):
        total_good, total_n = total_good + int(good), total_n + int(n)
        if manager is not None:
            managers[int(manager)] = Index(int(good), int(n))
    segments: dict[str, Index] = {}
    run_id = await session.scalar(
        select(RfmRun.id)
        .where(RfmRun.finished_at.is_not(None))
        .order_by(RfmRun.finished_at.desc(), RfmRun.id.desc())
        .limit(1)
    )
    segment = func.coalesce(RfmScore.segment, Segment.NO_RECENT.value)
    sq = (
        select(segment, *_counts())
        .select_from(Survey)
        .outerjoin(RfmScore, (RfmScore.client_id == Survey.client_id) & (RfmScore.run_id == (run_id or 0)))
        .where(*where)
        .group_by(segment)
    )
    for key, good, n in await session.execute(sq):
        segments[str(key)] = Index(int(good), int(n))
    return Satisfaction(
        Index(total_good, total_n), await competition_level(session), managers=managers, segments=segments
    )
