"""The bonus program's rules without Telegram: the ledger and the running balance, idempotency, two
redemptions at the same moment (PostgreSQL row locks), expiry oldest first, merging two clients,
referrals once, gifts once, settings parsing."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from bot.db import create_session_factory
from models.clients import Client
from models.loyalty import LedgerEntry, LoyaltyAccount, Purchase, Referral
from models.users import Role, User
from services import loyalty
from services import merge as merge_service
from services.errors import DomainError
from tests.support.db import query_plans
from tests.support.people import add_client_row, add_user

NOW = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
ADMIN, ANNA = 1, 2


async def setup(session, *clients: str, linked: dict[str, int] | None = None) -> list[int]:
    await add_user(session, ADMIN, "Olga", role=Role.admin)
    await add_user(session, ANNA, "Anna", role=Role.manager)
    ids = []
    for name in clients:
        tg = (linked or {}).get(name)
        if tg is not None:
            await add_user(session, tg, name)
        client = await add_client_row(session, ANNA, name, telegram_id=tg, created_at=NOW, updated_at=NOW)
        ids.append(client.id)
    return ids


async def give(session, client_id: int, points: int, key: str, now: datetime = NOW) -> None:
    prog = await loyalty.program(session)
    await loyalty.post(session, client_id, "reversal", points, now, key, expiry_days=prog.expiry_days)


async def invariant(session, client_id: int) -> int:
    """The running balance equals the sum of entries and the sum of open lots."""
    acc = await session.get(LoyaltyAccount, client_id, populate_existing=True)
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(LedgerEntry.client_id == client_id)
    )
    open_lots = await session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.remaining), 0)).where(LedgerEntry.client_id == client_id)
    )
    assert acc.balance == total == open_lots
    return acc.balance


async def test_a_purchase_credits_once_per_key(session):
    (cid,) = await setup(session, "Иван")
    anna = await session.get(User, ANNA)
    first = await loyalty.record_purchase(session, anna, cid, "k1", Decimal("1000"), "RUB", 0, NOW)
    again = await loyalty.record_purchase(session, anna, cid, "k1", Decimal("1000"), "RUB", 0, NOW)
    assert first.created and not again.created and again.purchase.id == first.purchase.id
    assert await session.scalar(select(func.count()).select_from(Purchase)) == 1
    assert await invariant(session, cid) == 50
    acc = await session.get(LoyaltyAccount, cid)
    assert acc.total_spend == Decimal("1000.00") and acc.purchases == 1


async def test_redemption_is_checked_against_balance_and_share(session):
    (cid,) = await setup(session, "Иван")
    anna = await session.get(User, ANNA)
    await give(session, cid, 1000, "seed")
    with pytest.raises(DomainError) as e:
        await loyalty.record_purchase(session, anna, cid, "k1", Decimal("1000"), "RUB", 301, NOW)
    assert e.value.code == "points_over_share" and e.value.params["limit"] == 300
    with pytest.raises(DomainError) as e:
        await loyalty.record_purchase(session, anna, cid, "k2", Decimal("10000"), "RUB", 1001, NOW)
    assert e.value.code == "points_over_balance"
    done = await loyalty.record_purchase(session, anna, cid, "k3", Decimal("1000"), "RUB", 300, NOW)
    assert done.purchase.paid == Decimal("700.00") and done.purchase.points_earned == 35
    assert await invariant(session, cid) == 735
    assert await session.scalar(select(func.count()).select_from(Purchase)) == 1  # nothing half-saved


async def test_the_balance_has_a_check_constraint(session):
    (cid,) = await setup(session, "Иван")
    await give(session, cid, 10, "seed")
    await session.commit()
    with pytest.raises(IntegrityError):
        await session.execute(
            text("UPDATE loyalty_accounts SET balance = -1 WHERE client_id = :c"), {"c": cid}
        )
    await session.rollback()


async def test_two_redemptions_at_the_same_moment_never_go_below_zero(pg_engine):
    """Both see a balance of 100 before either writes; the conditional UPDATE lets one through."""
    factory = create_session_factory(pg_engine)
    async with factory() as s, s.begin():
        (cid,) = await setup(s, "Иван")
        await give(s, cid, 100, "seed")
    both_read = asyncio.Barrier(2)

    async def redeem(key: str) -> str:
        async with factory() as s:
            try:
                async with s.begin():
                    anna = await s.get(User, ANNA)
                    assert (await loyalty.account(s, cid)).balance == 100
                    await both_read.wait()
                    await loyalty.record_purchase(s, anna, cid, key, Decimal("1000"), "RUB", 80, NOW)
                    await asyncio.sleep(0.05)  # hold the row lock while the other one tries
                return "ok"
            except DomainError as e:
                return e.code

    results = await asyncio.gather(redeem("a"), redeem("b"))
    assert results.count("ok") == 1
    assert set(results) - {"ok"} <= {"points_not_enough", "points_over_balance"}
    async with factory() as s:
        assert await invariant(s, cid) == 20 + 46  # 100 - 80 + 5% of 920
        assert await s.scalar(select(func.count()).select_from(Purchase)) == 1

    # The ledger's own guard, without the pre-check: both debit 80 from 66 + 34 at the same moment.
    async with factory() as s, s.begin():
        await give(s, cid, 34, "top-up")
    both_ready = asyncio.Barrier(2)

    async def debit(key: str) -> str:
        async with factory() as s:
            try:
                async with s.begin():
                    await both_ready.wait()
                    await loyalty.post(s, cid, "redeem", -80, NOW, key)
                    await asyncio.sleep(0.05)
                return "ok"
            except DomainError as e:
                return e.code

    assert sorted(await asyncio.gather(debit("x"), debit("y"))) == ["ok", "points_not_enough"]
    async with factory() as s:
        assert await invariant(s, cid) == 20


async def test_the_same_purchase_confirmed_twice_at_once_is_recorded_once(pg_engine):
    factory = create_session_factory(pg_engine)
    async with factory() as s, s.begin():
        (cid,) = await setup(s, "Иван")
        await give(s, cid, 100, "seed")

    async def confirm() -> bool:
        async with factory() as s, s.begin():
            done = await loyalty.record_purchase(
                s, await s.get(User, ANNA), cid, "same", Decimal("500"), "RUB", 50, NOW
            )
            await asyncio.sleep(0.05)
            return done.created

    results = await asyncio.gather(confirm(), confirm())
    assert sorted(results) == [False, True]
    async with factory() as s:
        assert await s.scalar(select(func.count()).select_from(Purchase)) == 1
        assert await invariant(s, cid) == 100 - 50 + 22


async def test_redemptions_take_the_oldest_lots_and_expiry_writes_the_rest(session):
    (cid,) = await setup(session, "Иван")
    await loyalty.set_setting(session, await session.get(User, ADMIN), "expiry_days", "30", NOW)
    await give(session, cid, 100, "old", NOW)
    await give(session, cid, 100, "newer", NOW + timedelta(days=10))
    await loyalty.post(session, cid, "redeem", -120, NOW + timedelta(days=11), "spend")
    lots = dict(
        (
            await session.execute(
                select(LedgerEntry.idempotency_key, LedgerEntry.remaining).where(LedgerEntry.points > 0)
            )
        ).all()
    )
    assert lots == {"old": 0, "newer": 80}  # the oldest lot went first
    assert await loyalty.expire_due(session, NOW + timedelta(days=35)) == (
        0,
        0,
        False,
    )  # nothing open expired
    clients, points, more = await loyalty.expire_due(session, NOW + timedelta(days=41))
    assert (clients, points, more) == (1, 80, False)
    assert await invariant(session, cid) == 0
    assert await loyalty.expire_due(session, NOW + timedelta(days=42)) == (0, 0, False)  # once


async def test_merging_two_clients_adds_balances_and_moves_entries(session):
    survivor, other = await setup(session, "Иван", "Иван П.")
    anna, admin = await session.get(User, ANNA), await session.get(User, ADMIN)
    await give(session, survivor, 100, "a")
    await loyalty.record_purchase(session, anna, other, "p", Decimal("2000"), "RUB", 0, NOW)
    await give(session, other, 50, "b")
    code = await loyalty.referral_code(session, await session.get(Client, other), NOW)
    version = (await session.get(Client, survivor)).version
    await merge_service.merge(session, admin, survivor, other, version, NOW)
    await session.flush()
    assert await session.get(LoyaltyAccount, other, populate_existing=True) is None
    assert await invariant(session, survivor) == 100 + 100 + 50
    acc = await session.get(LoyaltyAccount, survivor)
    assert acc.total_spend == Decimal("2000.00") and acc.purchases == 1 and acc.referral_code == code
    assert await session.scalar(select(func.count()).where(LedgerEntry.client_id == other)) == 0


async def test_referral_rewards_a_new_client_once_and_nobody_else(session):
    referrer, newcomer, known = await setup(session, "Иван", "Пётр", "Старый", linked={"Иван": 300})
    anna = await session.get(User, ANNA)
    code = await loyalty.referral_code(session, await session.get(Client, referrer), NOW)
    for uid in (301, 302):
        await add_user(session, uid, str(uid))
    # a client who already bought something isn't new
    await loyalty.record_purchase(session, anna, known, "old", Decimal("100"), "RUB", 0, NOW)
    assert await loyalty.remember_referral(session, await session.get(User, 301), f"r_{code}", NOW)
    assert await loyalty.remember_referral(session, await session.get(User, 302), code, NOW)
    assert not await loyalty.remember_referral(session, await session.get(User, 301), "zzzzzzzz", NOW)
    for client_id, uid in ((newcomer, 301), (known, 302)):
        client = await session.get(Client, client_id)
        client.telegram_id = uid
        await session.flush()
        await loyalty.on_linked(session, client, await session.get(User, uid), NOW)
        await loyalty.on_linked(session, client, await session.get(User, uid), NOW)  # twice: welcome once
    statuses = dict((await session.execute(select(Referral.newcomer_user_id, Referral.status))).all())
    assert statuses == {301: "linked", 302: "rejected"}
    for key in ("n1", "n2"):
        await loyalty.record_purchase(session, anna, newcomer, key, Decimal("100"), "RUB", 0, NOW)
    await loyalty.record_purchase(session, anna, known, "k2", Decimal("100"), "RUB", 0, NOW)
    kinds = (
        await session.execute(
            select(LedgerEntry.client_id, LedgerEntry.kind).where(LedgerEntry.kind == "referral")
        )
    ).all()
    assert sorted(kinds) == sorted([(newcomer, "referral"), (referrer, "referral")])
    welcome = await session.scalar(select(func.count()).where(LedgerEntry.kind == "welcome"))
    assert welcome == 2  # one per linked client, however often on_linked runs


async def test_a_gift_request_is_handed_over_or_cancelled_once(session):
    (cid,) = await setup(session, "Иван", linked={"Иван": 300})
    admin, ivan = await session.get(User, ADMIN), await session.get(User, 300)
    gift = await loyalty.add_gift(session, admin, "Кружка 300", NOW)
    await give(session, cid, 500, "seed")
    first = await loyalty.request_gift(session, ivan, gift.id, 7, NOW)
    again = await loyalty.request_gift(session, ivan, gift.id, 7, NOW)
    assert first.created and not again.created and first.balance == 200
    with pytest.raises(DomainError) as e:
        await loyalty.request_gift(session, ivan, gift.id, 8, NOW)
    assert e.value.code == "points_over_balance"
    await loyalty.close_gift(session, admin, first.request.id, False, NOW)
    with pytest.raises(DomainError) as e:
        await loyalty.close_gift(session, admin, first.request.id, True, NOW)
    assert e.value.code == "gift_closed"
    assert await invariant(session, cid) == 500
    lots = (
        await session.scalars(select(LedgerEntry.remaining).where(LedgerEntry.idempotency_key == "seed"))
    ).all()
    assert lots == [500]  # the returned points went back into their lot, with its expiry


async def test_birthday_once_a_year_and_29_february(session):
    (cid,) = await setup(session, "Иван", linked={"Иван": 300})
    client = await session.get(Client, cid)
    client.birthday = date(2000, 2, 29)
    await session.flush()
    assert loyalty.birthday_in(2027, client.birthday) == date(2027, 2, 28)
    due = await loyalty.birthdays_due(session, datetime(2027, 2, 27, 12, 0, tzinfo=UTC), "Europe/Moscow")
    assert due == [(cid, 2027, datetime(2027, 2, 28, 7, 0, tzinfo=UTC))]
    assert await loyalty.grant_birthday(session, cid, 2027, NOW) is not None
    assert await loyalty.grant_birthday(session, cid, 2027, NOW) is None
    assert await invariant(session, cid) == 200


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "tiers_invalid"),
        ("Bronze 0", "tiers_invalid"),
        ("Bronze 5 0", "tiers_first_zero"),
        ("A 0 0; B 0 5", "tiers_order"),
        ("A 0 0; a 10 5", "tiers_duplicate"),
        ("A 0 0; B 10 100", "number_range"),
        ("; ".join(f"T{i} {i * 10} 1" for i in range(11)), "tiers_too_many"),
    ],
)
def test_bad_tiers_are_refused(raw, code):
    with pytest.raises(DomainError) as e:
        loyalty.parse_tiers(raw)
    assert e.value.code == code


def test_tiers_and_numbers_as_people_write_them():
    tiers = loyalty.parse_tiers("Бронза 0 0; Серебро 30 000 5; Золото VIP 100000 12,5%")
    assert [(t.name, t.threshold, t.discount) for t in tiers] == [
        ("Бронза", Decimal(0), Decimal("0.00")),
        ("Серебро", Decimal(30000), Decimal("5.00")),
        ("Золото VIP", Decimal(100000), Decimal("12.50")),
    ]
    assert loyalty.parse_gift("Футболка с логотипом 2 000") == ("Футболка с логотипом", 2000)
    assert loyalty.parse_reversal("−50 возврат") == (-50, "возврат")
    assert loyalty.parse_percent("2,5") == Decimal("2.50")
    for bad in ("abc", "1e5", "2.555"):
        with pytest.raises(DomainError):
            loyalty.parse_percent(bad)


def test_callback_data_of_the_bonus_program_fits_64_bytes():
    from bot.callbacks import ChoiceCb, LoyaltyCb

    biggest = 2**63 - 1
    for action in (
        "buy",
        "rev",
        "hist",
        "card",
        "gpick",
        "greq",
        "gno",
        "ghand",
        "gcancel",
        "gtoggle",
        "set",
    ):
        assert len(LoyaltyCb(action=action, id=biggest, arg=2**31 - 1).pack().encode()) <= 64
    assert len(ChoiceCb(step="ly.confirm", value=loyalty.new_token()).pack().encode()) <= 64


async def test_balance_reads_are_index_ranges_without_a_sum_over_the_history(session, engine):
    """/balance: the account by primary key, expiring points and the last entries from their indexes."""
    from sqlalchemy import event

    ids = await setup(session, *(f"C{i}" for i in range(30)))
    for cid in ids:
        for j in range(15):
            await give(session, cid, 10 + j, f"{cid}:{j}", NOW + timedelta(minutes=j))
    await session.commit()
    await session.execute(text("ANALYZE"))
    captured: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, *args):
        if "FROM loyalty_entries" in statement:
            captured.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        result = await loyalty.summary(
            session, await session.get(Client, ids[5]), NOW, last=10, with_expiring=True
        )
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    assert result.balance == sum(range(10, 25)) and len(result.entries) == 10
    assert len(captured) == 2  # expiring points and the last entries; the balance is the account row
    plans = await query_plans(session, captured)
    expiring, last = plans
    assert "ix_loyalty_entries_open_lots" in expiring, expiring
    assert "ix_loyalty_entries_client_id" in last, last
    for plan in plans:
        assert "TEMP B-TREE" not in plan and "Sort" not in plan.replace("Sort Key", ""), plan
