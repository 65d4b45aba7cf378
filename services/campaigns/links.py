"""A campaign's tracked deep link, `https://t.me/<bot>?start=k_<token>`: made with the draft (the
composer may put it in the text as `{link}`, and post it anywhere else), and the people who open it,
each recorded once.

The token is random (secrets, 8 bytes as 11 URL-safe characters), so one campaign's link tells nothing
about the others'; the payload, "k_" and the token, is 13 characters of A-Z a-z 0-9 _ -, and its prefix
is none of the other links' ("m_" manager invites, "c_" customer invites, "r_" referrals). The bot's
username is kept with the link: the URL a recipient got stays the URL /campaigns shows.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.campaigns import Campaign, CampaignLink, CampaignLinkClick
from services.access import client_of

PREFIX = "k_"
TOKEN_BYTES = 8


def url(username: str, token: str) -> str:
    return f"https://t.me/{username}?start={PREFIX}{token}"


def url_of_link(link: CampaignLink) -> str:
    return url(link.bot_username, link.token)


def is_campaign_payload(payload: str | None) -> bool:
    return bool(payload) and payload.startswith(PREFIX)  # type: ignore[union-attr]


async def ensure(
    session: AsyncSession, campaign_ids: Iterable[int], username: str, now: datetime
) -> dict[int, str]:
    """The link of each campaign, made now for those without one (a campaign from before links
    existed gets one when /campaigns lists it). Returns {campaign id: URL}."""
    ids = sorted(set(campaign_ids))
    if not ids:
        return {}
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    q = select(CampaignLink.campaign_id).where(CampaignLink.campaign_id.in_(ids))
    have = set((await session.scalars(q)).all())
    missing = [i for i in ids if i not in have]
    if missing:
        await session.execute(
            insert(CampaignLink)
            .values(
                [
                    {
                        "campaign_id": i,
                        "token": secrets.token_urlsafe(TOKEN_BYTES),
                        "bot_username": username,
                        "created_at": now,
                    }
                    for i in missing
                ]
            )
            .on_conflict_do_nothing(index_elements=[CampaignLink.campaign_id])
        )
    return await urls_of(session, ids)


async def urls_of(session: AsyncSession, campaign_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(campaign_ids))
    if not ids:
        return {}
    q = select(CampaignLink).where(CampaignLink.campaign_id.in_(ids))
    return {link.campaign_id: url_of_link(link) for link in (await session.scalars(q)).all()}


async def url_for(session: AsyncSession, campaign: Campaign) -> str:
    """The campaign's link for its `{link}` placeholder ("" if it has none)."""
    link = await session.get(CampaignLink, campaign.id)
    return url_of_link(link) if link is not None else ""


async def opened(session: AsyncSession, payload: str, telegram_id: int, now: datetime) -> bool | None:
    """Someone opened a link (/start with `payload`): recorded once per person and campaign, with
    the client when the account is linked to one. True: recorded now; False: recorded before; None:
    no campaign has this link (a forged or mistyped payload)."""
    token = payload[len(PREFIX) :] if is_campaign_payload(payload) else ""
    if not token:
        return None
    campaign_id = await session.scalar(select(CampaignLink.campaign_id).where(CampaignLink.token == token))
    if campaign_id is None:
        return None
    client = await client_of(session, telegram_id)
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    done = await session.execute(
        insert(CampaignLinkClick)
        .values(
            campaign_id=campaign_id,
            telegram_id=telegram_id,
            client_id=client.id if client is not None else None,
            at=now,
        )
        .on_conflict_do_nothing(index_elements=[CampaignLinkClick.campaign_id, CampaignLinkClick.telegram_id])
    )
    return bool(done.rowcount)
