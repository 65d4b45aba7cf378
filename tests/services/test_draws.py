"""Prize draws on both backends: the formula (checked against hashlib directly), the participants frozen
at the announcement (a client added later is not in the list), only the reachable ones told, the
closing job queued at closes_at; an empty segment, a past closing time and a second press refused;
closing twice draws one winner; a cancelled draw's closing job is cancelled."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models.audit import AuditEvent
from models.clients import Client, ClientStatus
from models.consent import ClientConsent, Purpose
from models.draws import Draw, DrawParticipant, DrawStatus
from models.jobs import Job, JobStatus
from models.segments import SavedSegment
from models.users import Role
from services import draws
from services.errors import DomainError, NotAllowed
from services.segments import query
from tests.support.people import add_client_row, add_user

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ADMIN, ANNA = 1, 2
ACTIVE = {"v": 1, "conditions": [{"field": "status", "values": ["active"]}]}
BASIS = query.Basis(NOW, "RUB")


def test_the_formula_is_sha256_of_the_seed_modulo_the_count():
    seed = "ab" * 32
    digest = hashlib.sha256(seed.encode()).hexdigest()
    assert draws.commitment_of(seed) == digest
    ids = [42, 7, 19, 3, 88]
    ordered = sorted(ids)
    assert draws.winner_index(seed, 5) == int(digest, 16) % 5
    assert draws.pick_winner(seed, ids) == ordered[int(digest, 16) % 5]
    assert draws.participants_file(ids) == b"3\n7\n19\n42\n88\n"
    fresh = draws.new_seed()
    assert len(fresh) == 64 and fresh != draws.new_seed()
    with pytest.raises(DomainError) as e:
        draws.winner_index(seed, 0)
    assert e.value.code == "draw_empty"


def test_prize_is_trimmed_and_limited():
    assert draws.clean_prize("  a   phone ") == "a phone"
    for bad, code in (("   ", "draw_prize_empty"), ("x" * (draws.PRIZE_LIMIT + 1), "draw_prize_long")):
        with pytest.raises(DomainError) as e:
            draws.clean_prize(bad)
        assert e.value.code == code


async def _world(session):
    admin = await add_user(session, ADMIN, "Olga", role=Role.admin)
    manager = await add_user(session, ANNA, "Anna", role=Role.manager)
    await add_user(session, 500, "Linked")
    await add_user(session, 501, "Blocked", blocked_at=NOW - timedelta(days=1))
    linked = await add_client_row(session, ANNA, "Linked", status=ClientStatus.active, telegram_id=500)
    blocked = await add_client_row(session, ANNA, "Blocked", status=ClientStatus.active, telegram_id=501)
    plain = await add_client_row(session, ANNA, "Plain", status=ClientStatus.active)
    await add_client_row(session, ANNA, "Prospect", status=ClientStatus.prospect)
    session.add(ClientConsent(client_id=linked.id, purpose=Purpose.marketing, granted=True, updated_at=NOW))
    session.add(ClientConsent(client_id=blocked.id, purpose=Purpose.marketing, granted=True, updated_at=NOW))
    seg = SavedSegment(name="Active", name_key="active", created_by=ADMIN, conditions=ACTIVE, version=1)
    empty = SavedSegment(
        name="Lost",
        name_key="lost",
        created_by=ADMIN,
        conditions={"v": 1, "conditions": [{"field": "status", "values": ["inactive"]}]},
        version=1,
    )
    session.add_all([seg, empty])
    await session.flush()
    return admin, manager, seg, empty, sorted([linked.id, blocked.id, plain.id]), linked.id


async def test_announce_freezes_participants_and_close_draws_once(session):
    admin, manager, seg, _empty, ids, linked = await _world(session)
    closes = NOW + timedelta(days=1)
    with pytest.raises(NotAllowed):
        await draws.create_draft(session, manager, seg.id, "Phone", closes, NOW)
    draft = await draws.create_draft(session, admin, seg.id, " Phone ", closes, NOW)
    assert draft.status == DrawStatus.draft and draft.prize == "Phone" and draft.seed is None

    done = await draws.announce(session, admin, draft.id, 1, NOW, BASIS)
    assert (done.participants, done.told, done.unreachable) == (3, 1, 2)
    draw = done.draw
    assert draw.status == DrawStatus.announced and draw.version == 2
    assert draw.commitment == hashlib.sha256(draw.seed.encode()).hexdigest()
    with pytest.raises(DomainError) as e:  # a second press
        await draws.announce(session, admin, draft.id, 1, NOW, BASIS)
    assert e.value.code == "draw_changed"

    jobs = (await session.scalars(select(Job).order_by(Job.id))).all()
    assert [(j.kind, j.payload.get("client_id")) for j in jobs] == [
        (draws.TELL_JOB, linked),
        (draws.CLOSE_JOB, None),
    ]
    assert jobs[1].due_at == closes

    # a client who matches later is not a participant
    await add_client_row(session, ANNA, "Late", status=ClientStatus.active)
    assert await draws.participant_ids(session, draw.id) == ids

    assert await draws.close(session, draw.id, closes - timedelta(seconds=1)) is None  # not yet
    closed = await draws.close(session, draw.id, closes)
    assert closed is not None
    expected = ids[int(hashlib.sha256(draw.seed.encode()).hexdigest(), 16) % len(ids)]
    assert closed.winner_id == expected and closed.index == ids.index(expected)
    assert await draws.close(session, draw.id, closes + timedelta(minutes=1)) is None  # twice: nothing
    await session.refresh(draw)
    assert draw.status == DrawStatus.closed and draw.winner_client_id == expected
    follow_ups = [draws.PUBLISH_JOB, draws.WINNER_JOB]
    kinds = (await session.scalars(select(Job.kind).where(Job.kind.in_(follow_ups)))).all()
    assert sorted(kinds) == sorted(follow_ups)
    with pytest.raises(DomainError):  # closed: can't be called off
        await draws.cancel(session, admin, draw.id, draw.version, NOW)
    events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert [(e.action, e.actor_id, e.after) for e in events] == [
        ("draw.announce", ADMIN, draw.commitment),
        ("draw.close", None, str(expected)),
    ]
    assert events[1].details["seed"] == draw.seed and events[0].details["participants"] == 3


async def test_empty_segment_past_time_and_cancel(session):
    admin, _manager, seg, empty, _ids, _linked = await _world(session)
    with pytest.raises(DomainError) as e:
        await draws.create_draft(session, admin, seg.id, "Phone", NOW - timedelta(minutes=1), NOW)
    assert e.value.code == "time_past"

    nobody = await draws.create_draft(session, admin, empty.id, "Mug", NOW + timedelta(hours=2), NOW)
    with pytest.raises(DomainError) as e:
        await draws.announce(session, admin, nobody.id, 1, NOW, BASIS)
    assert e.value.code == "draw_empty"
    assert await session.scalar(select(func.count()).select_from(DrawParticipant)) == 0
    await session.refresh(nobody)
    assert nobody.status == DrawStatus.draft and nobody.seed is None

    late = await draws.create_draft(session, admin, seg.id, "Cup", NOW + timedelta(hours=1), NOW)
    with pytest.raises(DomainError) as e:  # the closing time passed before the announcement
        await draws.announce(session, admin, late.id, 1, NOW + timedelta(hours=2), BASIS)
    assert e.value.code == "time_past"

    draw = (await draws.announce(session, admin, late.id, 1, NOW, BASIS)).draw
    cancelled = await draws.cancel(session, admin, draw.id, draw.version, NOW)
    assert cancelled.status == DrawStatus.cancelled
    assert await session.scalar(select(AuditEvent.action).order_by(AuditEvent.id.desc())) == "draw.cancel"
    close_job = await session.scalar(select(Job).where(Job.idempotency_key == draws.close_key(draw.id)))
    assert close_job.status == JobStatus.cancelled
    assert await draws.close(session, draw.id, NOW + timedelta(days=1)) is None
    assert (await session.get(Draw, draw.id)).winner_client_id is None


async def test_claims_let_each_send_happen_once(session):
    admin, _manager, seg, _empty, _ids, linked = await _world(session)
    draft = await draws.create_draft(session, admin, seg.id, "Phone", NOW + timedelta(hours=1), NOW)
    draw = (await draws.announce(session, admin, draft.id, 1, NOW, BASIS)).draw
    assert await draws.claim_tell(session, draw.id, linked, NOW)
    assert not await draws.claim_tell(session, draw.id, linked, NOW)
    await draws.record_tell(session, draw.id, linked, "sent")
    assert await draws.told_counts(session, draw.id) == {"sent": 1}
    assert not await draws.claim_published(session, draw.id, NOW)  # not closed yet
    await draws.close(session, draw.id, NOW + timedelta(hours=1))
    assert await draws.claim_published(session, draw.id, NOW)
    assert not await draws.claim_published(session, draw.id, NOW)
    assert await draws.claim_winner_told(session, draw.id, NOW)
    assert not await draws.claim_winner_told(session, draw.id, NOW)
    assert (await session.get(Client, linked)).name == "Linked"


def test_buttons_fit_in_callback_data_and_the_command_is_in_the_admin_menu():
    from bot.callbacks import DrawAction, DrawCb
    from bot.menus import commands_for

    for action in DrawAction:
        packed = DrawCb(action=action, id=2**63 - 1, v=2**31 - 1, page=99_999).pack()
        assert len(packed.encode()) <= 64
    assert "draws" in {name for name, _ in commands_for(Role.admin)}
    assert "draws" not in {name for name, _ in commands_for(Role.manager)}
