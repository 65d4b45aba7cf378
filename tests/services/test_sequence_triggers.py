"""The tag trigger from every path that adds a tag (a new client's, a merge's, many at once), and a
merge of two clients active in the same drip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from models.jobs import Job
from models.sequences import Enrolment, EnrolmentStatus, SegmentMember, Sequence, SequenceStep, Trigger
from models.users import Role, User
from services import clients as svc
from services import merge as merge_service
from services.sequences import hooks
from tests.support.people import add_user

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


async def sequence(session, trigger: Trigger = Trigger.manual, arg: str | None = None, delay: int = 30):
    seq = Sequence(
        name=f"S {trigger} {arg}",
        created_by=100,
        default_language="ru",
        trigger=trigger,
        trigger_arg=arg,
        active=True,
        activated_at=NOW,
        created_at=NOW,
    )
    session.add(seq)
    await session.flush()
    session.add(SequenceStep(sequence_id=seq.id, position=1, delay_minutes=delay, texts={"ru": "Привет"}))
    await session.flush()
    return seq.id


async def admin(session) -> User:
    return await add_user(session, 100, "Olga", role=Role.admin, created_at=NOW)


async def enrolments(session) -> list[tuple[int, int, str, str | None]]:
    rows = await session.execute(
        select(Enrolment.sequence_id, Enrolment.client_id, Enrolment.status, Enrolment.stop_reason).order_by(
            Enrolment.id
        )
    )
    return [tuple(r) for r in rows.all()]


async def send_jobs(session) -> int:
    return await session.scalar(select(func.count()).select_from(Job).where(Job.kind == hooks.SEND_JOB))


async def test_many_tags_at_once_enrol_the_linked_clients_not_active_already(session):
    olga = await admin(session)
    vip = await sequence(session, Trigger.tag, "vip", delay=45)
    off = await sequence(session, Trigger.tag, "off")
    async with session.begin_nested():
        await session.execute(Sequence.__table__.update().where(Sequence.id == off).values(active=False))
    a = await svc.create(session, olga, svc.ClientData(name="A", telegram_id=501), NOW)
    b = await svc.create(session, olga, svc.ClientData(name="B", telegram_id=502), NOW)
    c = await svc.create(session, olga, svc.ClientData(name="C"), NOW)  # not linked
    await hooks.enrol(session, await session.get(Sequence, vip), a.id, "manual", NOW)  # active already
    started = await hooks.on_tags_added(session, {"vip": [a.id, b.id, c.id], "off": [a.id, b.id]}, NOW)
    assert started == 1
    assert [(s, cl) for s, cl, _st, _r in await enrolments(session)] == [(vip, a.id), (vip, b.id)]
    b_enrolment = await hooks.active_enrolment(session, vip, b.id)
    assert b_enrolment.next_at == NOW + timedelta(minutes=45) and b_enrolment.via == "tag"
    assert await send_jobs(session) == 2
    assert await hooks.on_tags_added(session, {"vip": [b.id]}, NOW) == 0  # active in it: not again
    assert await send_jobs(session) == 2


async def test_a_new_linked_client_with_the_tag_is_enrolled(session):
    olga = await admin(session)
    vip = await sequence(session, Trigger.tag, "vip")
    data = svc.ClientData(name="Linked", telegram_id=501, tags=["VIP"])
    linked = await svc.create(session, olga, data, NOW)
    await svc.create(session, olga, svc.ClientData(name="Not linked", tags=["vip"]), NOW)
    assert await enrolments(session) == [(vip, linked.id, EnrolmentStatus.active, None)]
    assert await send_jobs(session) == 1


async def test_a_merge_brings_its_tags_and_keeps_one_active_enrolment_per_sequence(session):
    olga = await admin(session)
    both = await sequence(session)
    segment = await sequence(session)
    vip = await sequence(session, Trigger.tag, "vip")
    keep = await svc.create(session, olga, svc.ClientData(name="Пётр", telegram_id=501), NOW)
    gone = await svc.create(session, olga, svc.ClientData(name="Петр", tags=["vip"]), NOW)
    for client in (keep, gone):  # active in the same sequence, in the same segment's view
        await hooks.enrol(session, await session.get(Sequence, both), client.id, "manual", NOW)
        session.add(SegmentMember(sequence_id=segment, client_id=client.id))
    await session.flush()
    assert len(await enrolments(session)) == 1  # the other isn't linked: enrol() leaves it out
    gone.telegram_id = None
    await session.flush()
    # written directly: an active enrolment of the unlinked record (linked earlier, say)
    session.add(
        Enrolment(
            sequence_id=both, client_id=gone.id, status=EnrolmentStatus.active, position=1, via="manual",
            next_at=NOW, started_at=NOW,
        )
    )  # fmt: skip
    await session.flush()
    await merge_service.merge(session, olga, keep.id, gone.id, keep.version, NOW)
    rows = await enrolments(session)
    assert (both, keep.id, EnrolmentStatus.active, None) in rows
    assert (both, keep.id, EnrolmentStatus.stopped, "merged") in rows  # the other's, moved and stopped
    assert (vip, keep.id, EnrolmentStatus.active, None) in rows  # its tag is new on the survivor
    assert len(rows) == 3
    members = (await session.execute(select(SegmentMember.sequence_id, SegmentMember.client_id))).all()
    assert [tuple(m) for m in members] == [(segment, keep.id)]
