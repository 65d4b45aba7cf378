"""What campaigns achieved, for /campaigns: per campaign the deliveries by status, the 🙋 clicks,
the people who opened its tracked link, and what its recipients did within RESULT_DAYS after their
own message — withdrew offers consent, bought (buyers and purchases).

Each figure is one statement over a batch of campaigns, grouped by campaign (`figures`): the
deliveries of those campaigns (their unique (campaign, client) index) joined to each recipient's
consent events and purchases by client (their client indexes), the window `[sent, sent + 7 days)`
computed in SQL on each backend (`_week_after`). So a page of campaigns is a handful of statements,
not several per campaign. The export of every campaign (`stream`) reads them a keyset page at a
time through the same `figures`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from models.base import UTCDateTime
from models.campaigns import (
    Campaign,
    CampaignClick,
    CampaignDelivery,
    CampaignLinkClick,
    CampaignStatus,
    DeliveryStatus,
)
from models.consent import ConsentEvent, Purpose
from models.loyalty import Purchase
from models.users import User
from services.access import sees_everything
from services.campaigns import links
from services.campaigns.core import Counts

RESULT_DAYS = 7  # purchases and unsubscribes counted this long after a message was sent
PAGE = 10  # campaigns on /campaigns


class _week_after(FunctionElement[datetime]):  # an SQL function, named like one
    """A UTC timestamp column plus RESULT_DAYS, in SQL."""

    type = UTCDateTime()
    inherit_cache = True
    name = "week_after"


@compiles(_week_after)
def _week_after_pg(element: Any, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return f"({compiler.process(column, **kw)} + INTERVAL '{RESULT_DAYS} days')"


@compiles(_week_after, "sqlite")
def _week_after_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    # SQLite keeps "YYYY-MM-DD HH:MM:SS.ffffff" (UTC); adding days leaves the fraction as it is, so the
    # date and time are shifted and the original fraction appended: the exact same text format.
    (column,) = element.clauses
    col = compiler.process(column, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%S', {col}, '+{RESULT_DAYS} days') || substr({col}, 20))"


@dataclass(frozen=True, slots=True)
class Figures:
    counts: Counts = field(default_factory=lambda: Counts({}))
    clicks: int = 0  # 🙋 "I'm interested", once per person
    link_clicks: int = 0  # people who opened the tracked link
    unsubscribed: int = 0  # recipients who withdrew offers consent within RESULT_DAYS after theirs
    buyers: int = 0  # recipients who bought within RESULT_DAYS after theirs
    purchases: int = 0  # and how many purchases


@dataclass(frozen=True, slots=True)
class Result:
    campaign: Campaign
    figures: Figures
    link: str | None  # the tracked link

    @property
    def counts(self) -> Counts:
        return self.figures.counts


async def figures(session: AsyncSession, campaign_ids: Sequence[int]) -> dict[int, Figures]:
    """Every figure of these campaigns, each one statement grouped by campaign."""
    ids = list(campaign_ids)
    if not ids:
        return {}
    by_status: dict[int, dict[DeliveryStatus, int]] = {i: {} for i in ids}
    d = CampaignDelivery
    for campaign_id, status, n in (
        await session.execute(
            select(d.campaign_id, d.status, func.count())
            .where(d.campaign_id.in_(ids))
            .group_by(d.campaign_id, d.status)
        )
    ).all():
        by_status[campaign_id][DeliveryStatus(status)] = int(n)

    async def per_campaign(q: Any) -> dict[int, tuple[int, ...]]:
        return {row[0]: tuple(int(v) for v in row[1:]) for row in (await session.execute(q)).all()}

    clicks = await per_campaign(
        select(CampaignClick.campaign_id, func.count())
        .where(CampaignClick.campaign_id.in_(ids))
        .group_by(CampaignClick.campaign_id)
    )
    opened = await per_campaign(
        select(CampaignLinkClick.campaign_id, func.count())
        .where(CampaignLinkClick.campaign_id.in_(ids))
        .group_by(CampaignLinkClick.campaign_id)
    )
    sent = CampaignDelivery.__table__.alias("sent_delivery")
    sent_rows = [sent.c.campaign_id.in_(ids), sent.c.status == DeliveryStatus.sent.value]
    e = ConsentEvent
    unsubscribed = await per_campaign(
        select(sent.c.campaign_id, func.count(distinct(sent.c.client_id)))
        .join(
            e,
            and_(e.client_id == sent.c.client_id, e.at >= sent.c.at, e.at < _week_after(sent.c.at)),
        )
        .where(*sent_rows, e.purpose == Purpose.marketing, e.granted.is_(False))
        .group_by(sent.c.campaign_id)
    )
    p = Purchase
    bought = await per_campaign(
        select(sent.c.campaign_id, func.count(distinct(sent.c.client_id)), func.count(p.id))
        .join(
            p,
            and_(
                p.client_id == sent.c.client_id,
                p.created_at >= sent.c.at,
                p.created_at < _week_after(sent.c.at),
            ),
        )
        .where(*sent_rows)
        .group_by(sent.c.campaign_id)
    )
    return {
        i: Figures(
            counts=Counts(by_status[i]),
            clicks=clicks.get(i, (0,))[0],
            link_clicks=opened.get(i, (0,))[0],
            unsubscribed=unsubscribed.get(i, (0,))[0],
            buyers=bought.get(i, (0, 0))[0],
            purchases=bought.get(i, (0, 0))[1],
        )
        for i in ids
    }


def _visible_where(viewer: User) -> list[Any]:
    """The started campaigns the viewer may see (admins: all, managers: their own)."""
    where = [Campaign.status != CampaignStatus.draft]
    if not sees_everything(viewer):
        where.append(Campaign.created_by == viewer.id)
    return where


def _visible(viewer: User) -> Any:
    return select(Campaign).where(*_visible_where(viewer))


async def results(
    session: AsyncSession, viewer: User, bot_username: str, now: datetime, limit: int = PAGE
) -> list[Result]:
    """The latest started campaigns the viewer may see, with their figures and links (a campaign
    from before tracked links gets its link now)."""
    campaigns = (await session.scalars(_visible(viewer).order_by(Campaign.id.desc()).limit(limit))).all()
    ids = [c.id for c in campaigns]
    urls = await links.ensure(session, ids, bot_username, now)
    got = await figures(session, ids)
    return [Result(c, got[c.id], urls.get(c.id)) for c in campaigns]


@dataclass(frozen=True, slots=True)
class Line:
    """A campaign as the export lists it: plain values (no ORM object kept), its figures, its link."""

    id: int
    status: CampaignStatus
    segment_id: int | None
    segment_name: str | None
    texts: dict[str, Any]
    default_language: str
    created_by: int
    paid: bool
    scheduled_for: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    figures: Figures
    link: str | None

    @property
    def text(self) -> str | None:
        return self.texts.get(self.default_language) or next(iter(self.texts.values()), None)


async def stream(session: AsyncSession, viewer: User, batch: int) -> AsyncIterator[list[Line]]:
    """Every started campaign the viewer may see, oldest first, a keyset page of `batch` at a time,
    with the figures /campaigns shows (`figures`) and the tracked link if it has one."""
    c = Campaign
    base = select(
        c.id,
        c.status,
        c.segment_id,
        c.segment_name,
        c.texts,
        c.default_language,
        c.created_by,
        c.paid,
        c.scheduled_for,
        c.created_at,
        c.started_at,
        c.finished_at,
    ).where(*_visible_where(viewer))
    last = 0
    while True:
        page = (await session.execute(base.where(c.id > last).order_by(c.id).limit(batch))).all()
        if not page:
            return
        ids = [r.id for r in page]
        got = await figures(session, ids)
        urls = await links.urls_of(session, ids)
        yield [
            Line(
                id=r.id,
                status=CampaignStatus(r.status),
                segment_id=r.segment_id,
                segment_name=r.segment_name,
                texts=dict(r.texts or {}),
                default_language=r.default_language,
                created_by=r.created_by,
                paid=bool(r.paid),
                scheduled_for=r.scheduled_for,
                created_at=r.created_at,
                started_at=r.started_at,
                finished_at=r.finished_at,
                figures=got[r.id],
                link=urls.get(r.id),
            )
            for r in page
        ]
        last = ids[-1]
