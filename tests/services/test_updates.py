"""Handled-update records: the nightly clean-up forgets those older than a week, once a day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from models.jobs import Job
from models.updates import ProcessedUpdate
from scheduler.recurring import plan_updates_cleanup
from services import updates

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


async def test_old_records_are_forgotten_recent_ones_kept(session):
    session.add_all(
        [
            ProcessedUpdate(update_id=1, processed_at=NOW - timedelta(days=8)),
            ProcessedUpdate(update_id=2, processed_at=NOW - timedelta(days=7, seconds=1)),
            ProcessedUpdate(update_id=3, processed_at=NOW - timedelta(days=6)),
            ProcessedUpdate(update_id=4, processed_at=NOW),
        ]
    )
    await session.flush()
    deleted, more = await updates.forget_old(session, NOW)
    assert (deleted, more) == (2, False)
    left = (
        await session.scalars(select(ProcessedUpdate.update_id).order_by(ProcessedUpdate.update_id))
    ).all()
    assert left == [3, 4]


async def test_the_clean_up_is_planned_once_a_day_at_night(session):
    assert await plan_updates_cleanup(session, NOW, "Europe/Moscow")
    assert not await plan_updates_cleanup(session, NOW + timedelta(minutes=10), "Europe/Moscow")
    [job] = (await session.scalars(select(Job).where(Job.kind == "updates_cleanup"))).all()
    assert job.due_at == datetime(2026, 3, 11, 0, 30, tzinfo=UTC)  # 03:30 in Moscow
    assert await session.scalar(select(func.count()).select_from(Job)) == 1
