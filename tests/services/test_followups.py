"""Follow-ups on a small data set named by hand, on both backends: who is neglected under the default
rules (VIP, class A/B/C of the latest RFM run, others; the stricter rule for a VIP of a class), in
which order, with rules turned off; a listed client isn't listed the next day and comes again after a
new quiet period (a contact and the days since, or the rule's days since the digest); the snooze
(pressed twice: one change) and its end; the rules' checks and the audit trail; the escalation; and
the manager's query read along the owner's index, never a scan of clients."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select, text

from models.analytics import RfmRun, RfmScore
from models.audit import AuditEvent
from models.clients import Client
from models.reminders import Reminder, ReminderStatus
from models.users import Role, User
from services import followups
from services.errors import DomainError
from tests.support.db import query_plans
from tests.support.people import add_client_row, add_user

NOW = datetime(2026, 3, 10, 6, 0, tzinfo=UTC)
ADMIN, ANNA, BORIS = 1, 2, 3


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def base(session) -> dict[str, int]:
    """Anna's clients, each quiet for a known number of days, and a few that must never be listed."""
    await add_user(session, ADMIN, "Olga", role=Role.admin)
    await add_user(session, ANNA, "Anna", role=Role.manager)
    await add_user(session, BORIS, "Boris", role=Role.manager)
    spec = [
        # name, owner, days since the last contact (None: never, created 100 days ago), vip flag
        ("Flagged VIP", ANNA, 20, True),  # no class: VIP rule 14 -> neglected
        ("Class A", ANNA, 20, False),  # A is a VIP: 14 is stricter than 30 -> neglected
        ("Class B fresh", ANNA, 50, False),  # B 60 -> not yet
        ("Class B quiet", ANNA, 61, False),  # -> neglected
        ("Class C", ANNA, 80, False),  # C 90 -> not yet
        ("Never contacted", ANNA, None, False),  # others 90, created 100 days ago -> neglected
        ("Recent", ANNA, 10, False),  # -> no
        ("Boris's", BORIS, 200, False),  # someone else's
        ("Merged", ANNA, 200, False),  # merged away
    ]
    ids = {}
    for name, owner, days, vip in spec:
        c = await add_client_row(
            session,
            owner,
            name,
            created_at=ago(100 if days is None else 300),
            last_contact_at=None if days is None else ago(days),
            vip=vip,
        )
        ids[name] = c.id
    merged = await session.get(Client, ids["Merged"])
    merged.merged_into_id = ids["Recent"]
    run = RfmRun(as_of=date(2026, 3, 9), currency="RUB", started_at=ago(1), finished_at=ago(1))
    session.add(run)
    await session.flush()
    for name, abc, money in [
        ("Class A", "A", "5000"),
        ("Class B fresh", "B", "900"),
        ("Class B quiet", "B", "300"),
        ("Class C", "C", "50"),
    ]:
        session.add(
            RfmScore(
                run_id=run.id,
                client_id=ids[name],
                owner_id=ANNA,
                last_purchase_at=ago(30),
                recency_days=30,
                frequency=1,
                monetary=Decimal(money),
                r=3,
                f=3,
                m=3,
                segment="loyal",
                abc_class=abc,
            )
        )
    await session.flush()
    return ids


async def names(session, now: datetime = NOW, owner: int = ANNA) -> list[str]:
    found = await followups.neglected(session, owner, now, await followups.rules(session))
    assert found.total == len(found.items)
    return [c.name for c in found.items]


async def test_who_is_neglected_most_valuable_first(session):
    await base(session)
    # revenue first (A 5000, B 300), then the unscored by the longest quiet
    assert await names(session) == ["Class A", "Class B quiet", "Never contacted", "Flagged VIP"]
    assert await names(session, owner=BORIS) == ["Boris's"]
    found = await followups.neglected(session, ANNA, NOW, await followups.rules(session), limit=2)
    assert [c.name for c in found.items] == ["Class A", "Class B quiet"] and found.total == 4
    first = found.items[0]
    assert first.vip and first.monetary == Decimal(5000) and first.last_contact == ago(20)


async def test_rules_turned_off_and_the_stricter_rule(session):
    await base(session)
    admin = await add_user(session, 10, "Root", role=Role.admin)
    await followups.set_rule(session, admin, "vip", "0", NOW)
    # the VIP rule off: class A falls under A (30 days), the flagged VIP under others (90)
    assert await names(session) == ["Class B quiet", "Never contacted"]
    await followups.set_rule(session, admin, "A", "15", NOW)
    await followups.set_rule(session, admin, "none", "0", NOW)
    assert await names(session) == ["Class A", "Class B quiet"]
    for segment in followups.SEGMENTS:
        await followups.set_rule(session, admin, segment, "0", NOW)
    assert await names(session) == []
    assert (await followups.escalation(session, NOW, await followups.rules(session))).vips == []


async def test_a_listed_client_is_not_listed_again_before_a_new_quiet_period(session):
    ids = await base(session)
    listed = await followups.neglected(session, ANNA, NOW, await followups.rules(session))
    await followups.mark_nudged(session, [c.id for c in listed.items], NOW)
    tomorrow = NOW + timedelta(days=1)
    assert await names(session, tomorrow) == []
    # 13 days on, two more have gone quiet for their rules (never listed before): only they come
    day13 = NOW + timedelta(days=13)
    assert await names(session, day13) == ["Class B fresh", "Class C"]
    await followups.mark_nudged(session, [ids["Class B fresh"], ids["Class C"]], day13)
    # a contact with Class A: quiet again only 14 days after it
    client = await session.get(Client, ids["Class A"])
    client.last_contact_at = NOW + timedelta(days=2)
    await session.flush()
    assert "Class A" not in await names(session, NOW + timedelta(days=15))
    # 14 days after the digest without a contact: the flagged VIP is due again (VIP rule 14)
    assert await names(session, NOW + timedelta(days=14, hours=1)) == ["Flagged VIP"]
    assert await names(session, NOW + timedelta(days=16, hours=1)) == ["Class A", "Flagged VIP"]


async def test_snooze_twice_is_one_change_and_its_end_lists_the_client_once(session):
    ids = await base(session)
    anna = await session.get(User, ANNA)
    first = await followups.snooze(session, anna, ids["Never contacted"], NOW)
    assert first.changed and first.until == NOW + timedelta(days=7)
    again = await followups.snooze(session, anna, ids["Never contacted"], NOW + timedelta(hours=1))
    assert not again.changed and again.until == first.until
    assert "Never contacted" not in await names(session)
    # snoozed in the digest it was listed in: back when the snooze ends, not 90 days later
    await followups.mark_nudged(session, [ids["Never contacted"]], NOW)
    later = NOW + timedelta(days=7, hours=1)
    assert "Never contacted" in await names(session, later)
    await followups.mark_nudged(session, [ids["Never contacted"]], later)
    assert "Never contacted" not in await names(session, later + timedelta(days=1))
    # someone else's client can't be snoozed by a manager
    with pytest.raises(DomainError) as e:
        await followups.snooze(session, anna, ids["Boris's"], NOW)
    assert e.value.code == "not_found"


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "followup_days_empty"),
        ("abc", "followup_days_not_number"),
        ("-5", "followup_days_not_number"),
        ("1.5", "followup_days_not_number"),
        ("٣", "followup_days_not_number"),
        ("366", "followup_days_range"),
        ("99999999999999999999", "followup_days_range"),
    ],
)
def test_bad_days_are_refused(typed, code):
    with pytest.raises(DomainError) as e:
        followups.parse_days(typed)
    assert e.value.code == code


async def test_rules_are_saved_by_admins_only_and_audited(session):
    await base(session)
    assert await followups.rules(session) == {"vip": 14, "A": 30, "B": 60, "C": 90, "none": 90}
    olga = await session.get(User, ADMIN)
    anna = await session.get(User, ANNA)
    assert await followups.set_rule(session, olga, "B", " 45 ", NOW) == 45
    assert await followups.set_rule(session, olga, "B", "40", NOW) == 40
    assert (await followups.rules(session))["B"] == 40
    with pytest.raises(DomainError) as e:
        await followups.set_rule(session, anna, "B", "10", NOW)
    assert e.value.code == "not_allowed"
    with pytest.raises(DomainError):
        await followups.set_rule(session, olga, "Z", "10", NOW)
    events = (await session.scalars(select(AuditEvent).order_by(AuditEvent.id))).all()
    assert [(ev.action, ev.before, ev.after) for ev in events] == [
        ("followups.rule", "60", "45"),
        ("followups.rule", "45", "40"),
    ]


async def test_escalation_ranks_overdue_reminders_and_neglected_vips(session):
    ids = await base(session)
    for owner, n in ((ANNA, 2), (BORIS, 3)):
        for i in range(n):
            session.add(Reminder(owner_id=owner, text=f"r{i}", due_at=ago(1), status=ReminderStatus.pending))
    session.add(Reminder(owner_id=ANNA, text="later", due_at=NOW + timedelta(hours=1)))
    session.add(Reminder(owner_id=ANNA, text="done", due_at=ago(2), status=ReminderStatus.done))
    await session.flush()
    # listed in a digest or not, a neglected VIP is escalated; a snoozed one isn't
    await followups.mark_nudged(session, [ids["Class A"]], NOW)
    esc = await followups.escalation(session, NOW, await followups.rules(session))
    assert [(o.manager.id, o.overdue) for o in esc.overdue] == [(BORIS, 3), (ANNA, 2)]
    assert [(v.manager.id, v.neglected, v.names) for v in esc.vips] == [(ANNA, 2, ["Class A", "Flagged VIP"])]
    anna = await session.get(User, ANNA)
    await followups.snooze(session, anna, ids["Class A"], NOW)
    esc = await followups.escalation(session, NOW, await followups.rules(session))
    assert [(v.neglected, v.names) for v in esc.vips] == [(1, ["Flagged VIP"])]


async def test_the_managers_query_reads_the_owner_index(session, engine):
    await base(session)
    for i in range(300):
        await add_client_row(session, BORIS, f"B{i}", created_at=ago(400), last_contact_at=ago(i % 120))
    await session.commit()
    await session.execute(text("ANALYZE"))
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, *args):
        if statement.lstrip().upper().startswith("SELECT") and "followup_marks" in statement:
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        await followups.neglected(session, ANNA, NOW, await followups.rules(session))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    (plan,) = await query_plans(session, captured[:1])
    assert "ix_clients_owner_last_contact" in plan or "ix_clients_owner_newest" in plan, plan
    assert "Seq Scan on clients" not in plan and "SCAN clients" not in plan, plan
