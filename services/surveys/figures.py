"""/surveys: CSAT, NPS and response rate over 30 and 90 days, everyone's or one manager's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.surveys import Survey, SurveyStatus
from models.users import User
from services.access import sees_everything
from services.errors import NotFound
from services.surveys.rules import LOW_NPS, MANAGERS_PAGE, PERIODS


@dataclass(slots=True)
class Figures:
    sent: int = 0
    answered: int = 0
    csat_count: int = 0
    csat_sum: int = 0
    csat_good: int = 0  # 4 or 5
    nps_count: int = 0
    promoters: int = 0  # 9 or 10
    detractors: int = 0  # 0 to 6

    def add(self, other: Figures) -> Figures:
        return Figures(*(getattr(self, f) + getattr(other, f) for f in Figures.__slots__))

    @property
    def csat_share(self) -> float | None:
        return self.csat_good / self.csat_count if self.csat_count else None

    @property
    def csat_average(self) -> float | None:
        return self.csat_sum / self.csat_count if self.csat_count else None

    @property
    def nps(self) -> float | None:
        """% promoters minus % detractors, from -100 to 100."""
        return 100 * (self.promoters - self.detractors) / self.nps_count if self.nps_count else None

    @property
    def response_rate(self) -> float | None:
        return self.answered / self.sent if self.sent else None


@dataclass(slots=True)
class Stats:
    periods: dict[int, Figures]  # days -> figures of surveys sent in that many last days
    since: dict[int, datetime]
    manager: User | None = None  # whose figures (None: everyone's)
    managers: list[tuple[int, str, int]] = field(default_factory=list)  # admins: (id, name, sent in 90 d)
    page: int = 0
    pages: int = 1


def _figure_columns() -> list:
    def count(condition) -> object:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    return [
        func.count(),
        count(or_(Survey.csat.is_not(None), Survey.nps.is_not(None))),
        func.count(Survey.csat),
        func.coalesce(func.sum(Survey.csat), 0),
        count(Survey.csat >= 4),
        func.count(Survey.nps),
        count(Survey.nps >= 9),
        count(Survey.nps <= LOW_NPS),
    ]


async def stats(
    session: AsyncSession, user: User, now: datetime, *, manager_id: int | None = None, page: int = 0
) -> Stats:
    """Figures of the surveys sent in the last 30 and 90 days: a manager's own (whatever they ask for);
    an admin's: everyone's, or one manager's with `manager_id`, and the list of managers to pick."""
    admin = sees_everything(user)
    if not admin:
        manager_id = user.id
    manager = await session.get(User, manager_id) if manager_id is not None else None
    if manager_id is not None and manager is None:
        raise NotFound()
    since = {days: now - timedelta(days=days) for days in PERIODS}
    recent = since[PERIODS[0]]
    bucket = case((Survey.sent_at >= recent, PERIODS[0]), else_=PERIODS[1]).label("bucket")
    where = [Survey.sent_at >= since[PERIODS[1]], Survey.status == SurveyStatus.sent]
    if manager_id is not None:
        where.insert(0, Survey.manager_id == manager_id)
    rows = (await session.execute(select(bucket, *_figure_columns()).where(*where).group_by(bucket))).all()
    by_bucket = {row[0]: Figures(*(int(v) for v in row[1:])) for row in rows}
    short = by_bucket.get(PERIODS[0], Figures())
    result = Stats(
        periods={PERIODS[0]: short, PERIODS[1]: short.add(by_bucket.get(PERIODS[1], Figures()))},
        since=since,
        manager=manager,
    )
    if admin and manager_id is None:
        result.managers, result.page, result.pages = await _managers(session, since[PERIODS[1]], page)
    return result


async def _managers(session: AsyncSession, since: datetime, page: int) -> tuple[list, int, int]:
    """Managers with surveys sent since `since`, by name, a page at a time."""
    rows = (
        await session.execute(
            select(User, func.count())
            .join(Survey, Survey.manager_id == User.id)
            .where(Survey.sent_at >= since, Survey.status == SurveyStatus.sent)
            .group_by(User.id)
        )
    ).all()
    people = sorted(((u.id, u.display_name, n) for u, n in rows), key=lambda r: (r[1].casefold(), r[0]))
    pages = max(1, -(-len(people) // MANAGERS_PAGE))
    page = min(max(page, 0), pages - 1)
    return people[page * MANAGERS_PAGE : (page + 1) * MANAGERS_PAGE], page, pages
