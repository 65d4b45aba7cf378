"""End to end: the progress message of a broadcast is off its send path. A periodic edit of it that
never returns (the starter's chat held up) holds back no recipient and no commit of their results:
the broadcast is done, and the step's own edit at its end shows it."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from models.campaigns import Campaign, CampaignDelivery, CampaignStatus, DeliveryStatus
from scheduler import campaigns as campaign_engine
from tests.conftest import ADMIN_ID
from tests.support.campaigns import compose, consenting, got


async def test_a_stuck_progress_edit_holds_back_no_send_and_no_commit(app, tg, monkeypatch):
    monkeypatch.setattr(campaign_engine, "PROGRESS_GRACE", 0.2)
    real = campaign_engine._progress
    stuck = asyncio.Event()  # never set: the periodic edit hangs until the run cancels it
    hung: list[int] = []

    async def progress(deps, campaign_id, rate, force):
        if not force:
            hung.append(campaign_id)
            await stuck.wait()
        await real(deps, campaign_id, rate, force)

    monkeypatch.setattr(campaign_engine, "_progress", progress)
    admin = tg.user(ADMIN_ID, "Olga", language_code="en")
    await admin.send("/start")
    _, people = await consenting(app, tg, 600, 6)
    await compose(admin)
    await admin.send("News for {first_name}")
    preview = (await admin.press("Skip")).last
    await admin.press("🚀 Send now", message=preview)
    await asyncio.wait_for(app.queue.drain(), 30)

    assert hung  # the periodic edit was asked for, and never came back
    assert all(len(got(p, "News for")) == 1 for p in people)
    async with app.session_factory() as s:
        campaign = await s.scalar(select(Campaign).order_by(Campaign.id.desc()))
        assert campaign.status == CampaignStatus.done
        statuses = (await s.scalars(select(CampaignDelivery.status))).all()
        assert statuses == [DeliveryStatus.sent] * 6
    [shown] = [m for m in admin.messages if "📣 Broadcast #" in (m.text or "")]
    assert "done" in shown.text and "Sent: 6" in shown.text  # the step's forced edit at its end
