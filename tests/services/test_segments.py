"""Segments on a fixed small data set: every condition checked against the clients this file names by
hand (not computed by the code under test), on both backends; the manager's scope whatever the
conditions say, merged records never counted, who is reachable (linked, not blocked, consent), one
COUNT per figure; the JSON's checks (unknown field or version, bad values, typed ranges: not a number,
negative, reversed); saving, renaming, deleting with the audit trail, version checks and names."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import count

import pytest
from sqlalchemy import event, select, text

from models.analytics import RfmRun, RfmScore
from models.audit import AuditEvent
from models.clients import Client, ClientStatus, ClientTag
from models.consent import ClientConsent, Purpose
from models.deals import Deal
from models.interactions import Interaction, InteractionKind, InteractionOutcome
from models.loyalty import LoyaltyAccount, Purchase
from models.segments import SavedSegment
from models.users import Role, User
from services.errors import DomainError, NotFound
from services.segments import query, saved
from services.segments.conditions import (
    Choice,
    Conditions,
    Field,
    Flag,
    Range,
    TagMode,
    Tags,
    dump,
    parse,
    parse_range,
)
from tests.support.db import query_plans
from tests.support.people import add_client_row, add_user

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ADMIN, ANNA, BORIS = 1, 2, 3
ALL = {"Alpha", "Beta", "Gamma", "Delta", "Epsilon", "Eta", "Theta"}  # Zeta is merged away
ANNAS = {"Alpha", "Beta", "Epsilon", "Eta"}


def ago(days: float, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


KEYS = count(1)


def purchase(client_id: int, at: datetime, amount: str, currency: str = "RUB") -> Purchase:
    v = Decimal(amount)
    return Purchase(
        client_id=client_id,
        manager_id=None,
        amount=v,
        currency=currency,
        tier="Bronze",
        discount_percent=Decimal(0),
        discounted=v,
        points_redeemed=0,
        paid=v,
        points_earned=0,
        idempotency_key=f"seg{next(KEYS)}",
        created_at=at,
    )


def deal(client_id: int, owner: int, stage: str, at: datetime, amount: str | None = None) -> Deal:
    closed = at if stage in ("won", "lost") else None
    return Deal(
        client_id=client_id,
        owner_id=owner,
        title=f"{stage} deal",
        amount=Decimal(amount) if amount else None,
        currency="RUB",
        stage=stage,
        created_at=at,
        updated_at=at,
        closed_at=closed,
        last_activity_at=at,
    )


async def base(session) -> dict[str, int]:
    """The clients and everything the conditions look at; the comments are what the tests expect."""
    admin = await add_user(session, ADMIN, "Olga", role=Role.admin)
    await add_user(session, ANNA, "Anna", role=Role.manager)
    await add_user(session, BORIS, "Boris", role=Role.manager)
    # the customers' accounts: Alpha chose English; Beta blocked the bot; Delta's Telegram is en-US;
    # Eta's chat is gone ("chat not found"), Telegram in German (→ the default, ru); Theta chose ru.
    await add_user(session, 1001, language="en", tg_language="ru")
    await add_user(session, 1002, tg_language="ru", blocked_at=ago(3))
    await add_user(session, 1003, tg_language="en-US")
    await add_user(session, 1006, tg_language="de", unreachable_at=ago(1))
    await add_user(session, 1007, language="ru", tg_language="en")
    ids: dict[str, int] = {}

    async def client(name: str, owner: int, tags: tuple[str, ...] = (), **fields) -> int:
        row = await add_client_row(session, owner, name, created_at=ago(400), updated_at=ago(400), **fields)
        for tag in tags:
            session.add(ClientTag(client_id=row.id, tag=tag))
        ids[name] = row.id
        return row.id

    a = await client(
        "Alpha",
        ANNA,
        ("vip", "moscow"),
        status=ClientStatus.active,
        source="site",
        birthday=date(1990, 3, 15),
        telegram_id=1001,
        last_contact_at=ago(2),
    )
    b = await client(
        "Beta",
        ANNA,
        ("moscow",),
        status=ClientStatus.prospect,
        source="import",
        birthday=date(1985, 7, 1),
        telegram_id=1002,
    )
    g = await client(
        "Gamma",
        BORIS,
        ("vip",),
        status=ClientStatus.active,
        source="site",
        language="en",
        vip=True,
        last_contact_at=ago(40),
    )
    d = await client(
        "Delta", BORIS, status=ClientStatus.inactive, birthday=date(2000, 3, 1), telegram_id=1003
    )
    e = await client(
        "Epsilon", ANNA, ("moscow", "b2b"), status=ClientStatus.active, source="site", telegram_id=1004
    )
    eta = await client("Eta", ANNA, status=ClientStatus.active, telegram_id=1006, last_contact_at=ago(7, 1))
    t = await client("Theta", BORIS, status=ClientStatus.prospect, telegram_id=1007)
    z = await client("Zeta", ANNA, ("vip",), status=ClientStatus.active, source="site", telegram_id=None)
    (await session.get(Client, z)).merged_into_id = a
    session.add_all(
        [
            LoyaltyAccount(client_id=a, balance=500, total_spend=Decimal("40000"), purchases=1),
            LoyaltyAccount(client_id=b, balance=50, total_spend=Decimal(0), purchases=0),
            LoyaltyAccount(client_id=d, balance=2000, total_spend=Decimal("150000"), purchases=2),
            LoyaltyAccount(client_id=z, balance=9000, total_spend=Decimal("200000"), purchases=9),
            purchase(a, ago(5), "100"),
            purchase(d, ago(30, 2), "200"),
            purchase(d, ago(1), "999", currency="USD"),  # another currency: not a purchase here
            purchase(z, ago(1), "300"),
            deal(g, BORIS, "won", ago(100), "5000"),  # a won deal is a purchase, 100 days ago
            deal(a, ANNA, "proposal", ago(3)),
            deal(g, BORIS, "new", ago(10)),
            deal(b, ANNA, "lost", ago(20)),
            ClientConsent(client_id=a, purpose=Purpose.marketing, granted=True, updated_at=ago(9)),
            ClientConsent(client_id=a, purpose=Purpose.surveys, granted=True, updated_at=ago(9)),
            ClientConsent(client_id=b, purpose=Purpose.marketing, granted=True, updated_at=ago(9)),
            ClientConsent(client_id=d, purpose=Purpose.marketing, granted=False, updated_at=ago(9)),
            ClientConsent(client_id=d, purpose=Purpose.surveys, granted=True, updated_at=ago(9)),
            ClientConsent(client_id=e, purpose=Purpose.marketing, granted=True, updated_at=ago(9)),
            ClientConsent(client_id=eta, purpose=Purpose.marketing, granted=True, updated_at=ago(9)),
            ClientConsent(client_id=t, purpose=Purpose.marketing, granted=True, updated_at=ago(9)),
            ClientConsent(client_id=t, purpose=Purpose.surveys, granted=False, updated_at=ago(9)),
        ]
    )
    # RFM: an older run had Beta as a champion; the latest finished one scores Alpha, Delta, Gamma;
    # a run still under way (not finished) is ignored.
    old = RfmRun(as_of=date(2026, 3, 1), currency="RUB", finished_at=ago(9), started_at=ago(9))
    latest = RfmRun(as_of=date(2026, 3, 9), currency="RUB", finished_at=ago(1), started_at=ago(1))
    running = RfmRun(as_of=date(2026, 3, 10), currency="RUB", started_at=ago(0, 1))
    session.add_all([old, latest, running])
    await session.flush()

    def score(run: RfmRun, cid: int, owner: int, segment: str, abc: str | None) -> RfmScore:
        return RfmScore(
            run_id=run.id,
            client_id=cid,
            owner_id=owner,
            last_purchase_at=ago(5),
            recency_days=5,
            frequency=1,
            monetary=Decimal(100),
            r=3,
            f=3,
            m=3,
            segment=segment,
            abc_class=abc,
        )

    session.add_all(
        [
            score(old, b, ANNA, "champions", "A"),
            score(latest, a, ANNA, "champions", "A"),
            score(latest, d, BORIS, "loyal", "B"),
            score(latest, g, BORIS, "at_risk", "C"),
            score(running, eta, ANNA, "champions", "A"),
        ]
    )
    session.add(
        Interaction(
            client_id=a,
            author_id=ANNA,
            kind=InteractionKind.call,
            outcome=InteractionOutcome.reached,
            occurred_at=ago(2),
        )
    )
    await session.flush()
    assert admin.role == Role.admin
    return ids


async def names(session, conditions: Conditions, viewer_id: int) -> set[str]:
    viewer = await session.get(User, viewer_id)
    b = query.Basis(NOW, "RUB")
    rows = await session.execute(
        select(Client.name).where(Client.id.in_(query.clients_of(conditions, viewer, b)))
    )
    found = {n for (n,) in rows}
    assert await query.count(session, conditions, viewer, b) == len(found)
    return found


def one(condition) -> Conditions:
    return Conditions((condition,))


# (condition, the clients it matches for an admin), each list written out by hand from base()
CASES = [
    (Choice(Field.status, ("active",)), {"Alpha", "Gamma", "Epsilon", "Eta"}),
    (Choice(Field.status, ("prospect", "inactive")), {"Beta", "Delta", "Theta"}),
    (Tags(TagMode.any, ("vip",)), {"Alpha", "Gamma"}),
    (Tags(TagMode.all, ("vip", "moscow")), {"Alpha"}),
    (Tags(TagMode.none, ("moscow",)), {"Gamma", "Delta", "Eta", "Theta"}),
    (Choice(Field.owner, (BORIS,)), {"Gamma", "Delta", "Theta"}),
    (Choice(Field.rfm, ("champions",)), {"Alpha"}),
    (Choice(Field.rfm, ("no_recent",)), {"Beta", "Epsilon", "Eta", "Theta"}),
    (Choice(Field.rfm, ("loyal", "no_recent")), {"Beta", "Delta", "Epsilon", "Eta", "Theta"}),
    (Choice(Field.abc, ("A",)), {"Alpha"}),
    (Choice(Field.abc, ("B", "C")), {"Gamma", "Delta"}),
    (Flag(Field.vip, True), {"Alpha", "Gamma"}),
    (Flag(Field.vip, False), {"Beta", "Delta", "Epsilon", "Eta", "Theta"}),
    (Choice(Field.tier, ("Bronze",)), {"Beta", "Gamma", "Epsilon", "Eta", "Theta"}),
    (Choice(Field.tier, ("silver",)), {"Alpha"}),
    (Choice(Field.tier, ("Gold", "Platinum")), {"Delta"}),
    (Range(Field.points, 100, 1000), {"Alpha"}),
    (Range(Field.points, 100, None), {"Alpha", "Delta"}),
    (Range(Field.points, 0, 100), {"Beta", "Gamma", "Epsilon", "Eta", "Theta"}),
    (Range(Field.purchase_days, 0, 10), {"Alpha"}),
    (Range(Field.purchase_days, 0, 29), {"Alpha"}),
    (Range(Field.purchase_days, 30, None), {"Gamma", "Delta"}),
    (Range(Field.purchase_days, 31, None), {"Gamma"}),
    (Range(Field.purchase_days, 30, 30), {"Delta"}),
    (Range(Field.contact_days, 0, 7), {"Alpha", "Eta"}),
    (Range(Field.contact_days, 8, None), {"Gamma"}),
    (Range(Field.contact_days, 3, 6), set()),
    (Choice(Field.deal_stage, ("proposal",)), {"Alpha"}),
    (Choice(Field.deal_stage, ("new", "proposal")), {"Alpha", "Gamma"}),
    (Flag(Field.birthday_month, True), {"Alpha", "Delta"}),
    (Flag(Field.birthday_month, False), {"Beta", "Gamma", "Epsilon", "Eta", "Theta"}),
    (Choice(Field.language, ("en",)), {"Alpha", "Gamma", "Delta"}),
    (Choice(Field.language, ("ru",)), {"Beta", "Epsilon", "Eta", "Theta"}),
    (Flag(Field.linked, True), {"Alpha", "Beta", "Delta", "Epsilon", "Eta", "Theta"}),
    (Flag(Field.linked, False), {"Gamma"}),
    (Choice(Field.source, ("site",)), {"Alpha", "Gamma", "Epsilon"}),
    (Choice(Field.source, ("import",)), {"Beta"}),
]


async def test_each_condition_matches_the_clients_named_by_hand(session):
    await base(session)
    for condition, expected in CASES:
        assert await names(session, one(condition), ADMIN) == expected, condition
    assert await names(session, Conditions(), ADMIN) == ALL


async def test_conditions_all_hold_and_a_segment_of_nobody_counts_zero(session):
    await base(session)
    both = Conditions((Choice(Field.status, ("active",)), Tags(TagMode.any, ("moscow",))))
    assert await names(session, both, ADMIN) == {"Alpha", "Epsilon"}
    nobody = Conditions((Choice(Field.status, ("inactive",)), Flag(Field.vip, True)))
    assert await names(session, nobody, ADMIN) == set()
    admin = await session.get(User, ADMIN)
    assert await query.figures(session, nobody, admin, query.Basis(NOW, "RUB")) == query.Figures(0, 0, 0)


async def test_a_manager_only_ever_counts_their_own_clients(session):
    await base(session)
    assert await names(session, Conditions(), ANNA) == ANNAS
    assert await names(session, one(Choice(Field.status, ("active",))), ANNA) == {"Alpha", "Epsilon", "Eta"}
    # conditions naming another manager's clients still give only Anna's: nobody here
    assert await names(session, one(Choice(Field.owner, (BORIS,))), ANNA) == set()
    assert await names(session, one(Flag(Field.linked, False)), ANNA) == set()  # Gamma is Boris's
    assert await names(session, one(Choice(Field.owner, (BORIS,))), BORIS) == {"Gamma", "Delta", "Theta"}


async def test_reachable_means_linked_not_blocked_and_consent_given(session):
    await base(session)
    admin, anna = await session.get(User, ADMIN), await session.get(User, ANNA)
    b = query.Basis(NOW, "RUB")
    everyone = Conditions()
    # Alpha and Theta: linked, their chat open, offers agreed. Not: Beta (blocked the bot), Delta
    # (withdrew), Epsilon (never opened the bot), Eta (chat not found), Gamma (not linked).
    rows = await session.execute(
        select(Client.name).where(Client.id.in_(query.reachable_clients_of(everyone, admin, b, "marketing")))
    )
    assert {n for (n,) in rows} == {"Alpha", "Theta"}
    assert await query.reachable(session, everyone, admin, b, "marketing") == 2
    # surveys: Alpha and Delta agreed; Theta said no
    assert await query.reachable(session, everyone, admin, b, Purpose.surveys) == 2
    assert await query.figures(session, everyone, admin, b) == query.Figures(7, 2, 2)
    assert await query.figures(session, everyone, anna, b) == query.Figures(4, 1, 1)
    boris_ones = one(Choice(Field.owner, (BORIS,)))
    assert await query.figures(session, boris_ones, admin, b) == query.Figures(3, 1, 1)


async def test_each_figure_is_one_statement(session):
    await base(session)
    admin = await session.get(User, ADMIN)
    conditions = Conditions(
        (
            Tags(TagMode.all, ("vip", "moscow")),
            Range(Field.purchase_days, 0, 10),
            Choice(Field.language, ("en",)),
            Choice(Field.tier, ("Silver",)),
            Choice(Field.rfm, ("champions", "no_recent")),
        )
    )
    b = query.Basis(NOW, "RUB")
    seen: list[str] = []
    sync_engine = (await session.connection()).engine.sync_engine

    def count_statements(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(sync_engine, "before_cursor_execute", count_statements)
    try:
        assert await query.figures(session, conditions, admin, b) == query.Figures(1, 1, 1)
        assert await query.count(session, conditions, admin, b) == 1
    finally:
        event.remove(sync_engine, "before_cursor_execute", count_statements)
    assert len(seen) == 2 and all(s.lstrip().upper().startswith("SELECT") for s in seen)


async def test_purchases_and_deals_are_read_through_the_client(session, engine):
    """A day-range or deal condition looks up each client's rows by index: on SQLite never the won
    deals of a whole period once per client, on PostgreSQL no sequential scan."""
    ids = await base(session)
    session.add_all(deal(ids["Gamma"], BORIS, "won", ago(1 + i % 200), "10") for i in range(300))
    await session.commit()
    await session.execute(text("ANALYZE"))
    admin = await session.get(User, ADMIN)
    conditions = Conditions(
        (Range(Field.purchase_days, 30, 90), Choice(Field.deal_stage, ("new",)), Tags(TagMode.any, ("vip",)))
    )
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, *args):
        if statement.lstrip().upper().startswith("SELECT COUNT"):
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        await query.figures(session, conditions, admin, query.Basis(NOW, "RUB"))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    (plan,) = await query_plans(session, captured)
    if engine.dialect.name == "sqlite":
        assert "ix_deals_stage_closed" not in plan and plan.count("ix_deals_client") == 3, plan
        assert "ix_loyalty_purchases_rfm" in plan, plan
    for table in ("deals", "loyalty_purchases", "client_tags", "loyalty_accounts", "users"):
        assert f"Seq Scan on {table}" not in plan and f"SCAN {table}" not in plan, plan


async def test_basis_reads_the_programs_tiers(session):
    await base(session)
    b = await query.basis(session, NOW, "RUB", "ru")
    assert [t.name for t in b.tiers] == ["Bronze", "Silver", "Gold"] and b.now == NOW


# --- the JSON and typed input ---


def test_json_round_trip_and_checks():
    conditions = Conditions(
        (
            Choice(Field.status, ("active",)),
            Tags(TagMode.none, ("vip",)),
            Flag(Field.linked, True),
            Range(Field.points, 10, None),
            Choice(Field.owner, (2, 3)),
        )
    )
    data = dump(conditions)
    assert data["v"] == 1
    assert data["conditions"][3] == {"field": "points", "min": 10, "max": None}
    assert parse(data) == conditions
    # a tag is stored normalised; repeats are dropped
    tags = parse({"v": 1, "conditions": [{"field": "tags", "values": ["#VIP", "vip", "Ёлка"]}]})
    assert tags.items[0] == Tags(TagMode.any, ("vip", "елка"))

    def code(data) -> str:
        with pytest.raises(DomainError) as e:
            parse(data)
        return e.value.code

    def of(**condition) -> str:
        return code({"v": 1, "conditions": [condition]})

    assert code({"v": 2, "conditions": []}) == "segment_version"
    assert code({"v": 1}) == "segment_invalid"
    assert of(field="shoe_size", values=["42"]) == "segment_field_unknown"
    assert of(field="status", values=["sleepy"]) == "segment_value_invalid"
    assert of(field="status", values=[]) == "segment_values_empty"
    assert of(field="deal_stage", values=["won"]) == "segment_value_invalid"
    assert of(field="owner", values=["2"]) == "segment_value_invalid"
    assert of(field="vip", value="yes") == "segment_value_invalid"
    assert of(field="points", min=500, max=100) == "segment_range_reversed"
    assert of(field="points", min=-1, max=None) == "segment_range_negative"
    assert of(field="points", min=None, max=None) == "segment_range_invalid"
    assert of(field="contact_days", min=99999) == "segment_range_too_big"
    many = [{"field": "linked", "value": True}] * 13
    assert code({"v": 1, "conditions": many}) == "segment_too_many"


def test_typed_ranges():
    assert parse_range(Field.points, "100-500") == Range(Field.points, 100, 500)
    assert parse_range(Field.points, " 30 000 – 50 000 ") == Range(Field.points, 30000, 50000)
    assert parse_range(Field.points, "100+") == Range(Field.points, 100, None)
    assert parse_range(Field.contact_days, "0-30") == Range(Field.contact_days, 0, 30)
    assert parse_range(Field.contact_days, "7") == Range(Field.contact_days, 7, 7)

    def code(text: str, field: Field = Field.points) -> str:
        with pytest.raises(DomainError) as e:
            parse_range(field, text)
        return e.value.code

    for typed in ("abc", "", "1.5", "10-", "ten", "5-6-7", "1e3"):
        assert code(typed) == "segment_range_invalid", typed
    for typed in ("-5", "-5-10", "5--10", "-3+"):
        assert code(typed) == "segment_range_negative", typed
    assert code("500-100") == "segment_range_reversed"
    assert code("40000", Field.purchase_days) == "segment_range_too_big"


# --- saving ---


async def test_save_edit_delete_with_audit_versions_and_names(session):
    await base(session)
    admin, anna, boris = [await session.get(User, i) for i in (ADMIN, ANNA, BORIS)]
    mine = one(Choice(Field.status, ("active",)))
    seg = await saved.create(session, anna, "  Active   ones ", mine, NOW)
    assert seg.name == "Active ones" and seg.version == 1 and seg.created_by == ANNA
    assert saved.conditions_of(seg) == mine
    # one name per creator whatever the case; another person may use it
    with pytest.raises(DomainError) as e:
        await saved.create(session, anna, "ACTIVE ONES", mine, NOW)
    assert e.value.code == "segment_name_taken"
    other = await saved.create(session, boris, "Active ones", mine, NOW)
    for bad, code in (("   ", "segment_name_empty"), ("x" * 61, "segment_name_long")):
        with pytest.raises(DomainError) as e:
            await saved.create(session, anna, bad, mine, NOW)
        assert e.value.code == code
    # the owner condition is for admins
    owners = one(Choice(Field.owner, (BORIS,)))
    with pytest.raises(DomainError) as e:
        await saved.create(session, anna, "Boris's", owners, NOW)
    assert e.value.code == "segment_owner_admin_only"
    assert (await saved.create(session, admin, "Boris's", owners, NOW)).created_by == ADMIN

    # who sees which: a manager their own, an admin all
    with pytest.raises(NotFound):
        await saved.visible(session, anna, other.id)
    assert (await saved.visible(session, admin, other.id)).id == other.id
    assert [s.name for s in (await saved.listing(session, anna, 0)).items] == ["Active ones"]
    assert len((await saved.listing(session, admin, 0)).items) == 3

    # an edit from the version shown; a stale one is refused
    two = Conditions((*mine.items, Range(Field.points, 100, None)))
    edited = await saved.update(
        session, anna, seg.id, 1, "Active, with points", two, NOW + timedelta(hours=1)
    )
    assert edited.version == 2 and saved.conditions_of(edited) == two
    with pytest.raises(DomainError) as e:
        await saved.update(session, anna, seg.id, 1, "Again", mine, NOW)
    assert e.value.code == "segment_changed"
    with pytest.raises(NotFound):
        await saved.update(session, boris, seg.id, 2, "Mine now", mine, NOW)
    with pytest.raises(DomainError) as e:
        await saved.delete(session, anna, seg.id, 1, NOW)
    assert e.value.code == "segment_changed"
    assert await saved.delete(session, anna, seg.id, 2, NOW) == "Active, with points"
    assert await session.get(SavedSegment, seg.id) is None
    with pytest.raises(NotFound):
        await saved.delete(session, anna, seg.id, 2, NOW)

    events = (
        await session.scalars(
            select(AuditEvent).where(AuditEvent.target == f"segment:{seg.id}").order_by(AuditEvent.id)
        )
    ).all()
    assert [(e.action, e.actor_id, e.before, e.after) for e in events] == [
        ("segment.create", ANNA, None, "Active ones"),
        ("segment.update", ANNA, "Active ones", "Active, with points"),
        ("segment.delete", ANNA, "Active, with points", None),
    ]
    assert events[1].details["conditions_after"] == dump(two)


async def test_clients_page_and_offered_values(session):
    ids = await base(session)
    admin, anna = await session.get(User, ADMIN), await session.get(User, ANNA)
    b = query.Basis(NOW, "RUB")
    page = await saved.clients_page(session, one(Choice(Field.status, ("active",))), admin, b, 0, size=3)
    assert [(r.name, r.vip) for r in page.items] == [("Alpha", True), ("Gamma", True), ("Epsilon", False)]
    assert page.has_next and page.items[0].id == ids["Alpha"]
    rest = await saved.clients_page(session, one(Choice(Field.status, ("active",))), admin, b, 1, size=3)
    assert [r.name for r in rest.items] == ["Eta"] and not rest.has_next
    # the most used tags and sources among the clients the viewer sees (Zeta, merged, doesn't count)
    assert await saved.top_values(session, admin, Field.tags) == ["moscow", "vip", "b2b"]
    assert await saved.top_values(session, anna, Field.tags) == ["moscow", "b2b", "vip"]
    assert await saved.top_values(session, admin, Field.source) == ["site", "import"]
    assert [u.display_name for u in await saved.owner_choices(session)] == ["Anna", "Boris", "Olga"]
