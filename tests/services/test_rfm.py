"""RFM and ABC on a fixed data set, checked against figures computed here in plain Python from the same
raw rows (not by the code under test): R, F, M, the scores, the segment and the class of every client;
the 25 cells; the distribution, the Pareto check, the movement between two runs, retention, and a
failed run leaving nothing."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.db import create_session_factory
from models.analytics import RfmRun, RfmScore
from models.clients import Client
from models.deals import Deal
from models.loyalty import Purchase
from models.users import Role
from services.analytics import rfm
from services.analytics.segments import CELLS, Segment, segment_of
from tests.support.people import add_client_row, add_user

AS_OF = date(2026, 3, 10)
UNTIL = datetime(2026, 3, 10, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=365)
ADMIN, ANNA, BORIS = 1, 2, 3


def at(days_before: float, hour: int = 12) -> datetime:
    return UNTIL - timedelta(days=days_before) + timedelta(hours=hour - 12)


# (client index, when, value, currency, source) — source: "bot", "import", "won", "lost"
# 24 clients (0-23); 20 has only old purchases, 21 is merged away, 22 only a USD deal, 23 nothing.
RAW: list[tuple[int, datetime, str, str, str]] = []


def _build_raw() -> None:
    for i in range(20):
        n = 1 + (i * 7) % 6  # frequencies 1..6 with repeats (ties)
        for k in range(n):
            RAW.append(
                (i, at(3 + (i * 11 + k * 29) % 340), f"{100 + (i * 37 + k * 13) % 900}.25", "RUB", "bot")
            )
    # ties: clients 3 and 4 share their last purchase moment, 5 and 6 the same monetary
    RAW.append((3, at(1, 9), "10.00", "RUB", "bot"))
    RAW.append((4, at(1, 9), "10.00", "RUB", "bot"))
    RAW.append((5, at(200), "5000.00", "RUB", "won"))
    RAW.append((6, at(201), "5000.00", "RUB", "won"))
    RAW.append((7, at(50), "25000.50", "RUB", "won"))  # a large won deal: class A
    RAW.append((8, at(10), "777.75", "RUB", "import"))  # imported history counts as given
    RAW.append((9, at(5), "99999.00", "USD", "won"))  # another currency: out
    RAW.append((10, at(6), "88888.00", "RUB", "lost"))  # lost: out
    RAW.append((11, SINCE, "300.00", "RUB", "bot"))  # the window's first moment: in
    RAW.append((12, UNTIL, "400.00", "RUB", "bot"))  # the run's date itself: out (next run)
    RAW.append((20, SINCE - timedelta(seconds=1), "900.00", "RUB", "bot"))  # just too old
    RAW.append((21, at(4), "1500.00", "RUB", "bot"))  # merged away: no row
    RAW.append((22, at(4), "1500.00", "USD", "won"))


_build_raw()


def ntile(ids: list[int], buckets: int = 5) -> dict[int, int]:
    """SQL's NTILE over rows already in order: the first len % buckets groups get one row more."""
    n = len(ids)
    size, extra = divmod(n, buckets)
    out, pos = {}, 0
    for b in range(1, buckets + 1):
        take = size + (1 if b <= extra else 0)
        for cid in ids[pos : pos + take]:
            out[cid] = b
        pos += take
    return out


def expected(raw, ids: dict[int, int], merged: set[int], as_of: date) -> dict[int, dict]:
    until = datetime.combine(as_of, datetime.min.time(), UTC)
    since = until - timedelta(days=365)
    acc: dict[int, dict] = {}
    for idx, when, value, currency, source in raw:
        cid = ids[idx]
        if cid in merged or currency != "RUB" or source == "lost" or not (since <= when < until):
            continue
        a = acc.setdefault(cid, {"last": when, "freq": 0, "mon": Decimal(0)})
        a["last"] = max(a["last"], when)
        a["freq"] += 1
        a["mon"] += Decimal(value)
    r = ntile(sorted(acc, key=lambda c: (acc[c]["last"], c)))
    f = ntile(sorted(acc, key=lambda c: (acc[c]["freq"], c)))
    m = ntile(sorted(acc, key=lambda c: (acc[c]["mon"], c)))
    total = sum(a["mon"] for a in acc.values() if a["mon"] > 0)
    before = Decimal(0)
    abc: dict[int, str] = {}
    for cid in sorted((c for c in acc if acc[c]["mon"] > 0), key=lambda c: (-acc[c]["mon"], c)):
        share = before / total
        abc[cid] = "A" if share < Decimal("0.8") else "B" if share < Decimal("0.95") else "C"
        before += acc[cid]["mon"]
    return {
        cid: {
            "recency": (as_of - a["last"].date()).days,
            "frequency": a["freq"],
            "monetary": a["mon"],
            "r": r[cid],
            "f": f[cid],
            "m": m[cid],
            "segment": segment_of(r[cid], f[cid]).value,
            "abc": abc.get(cid),
            "last": a["last"],
        }
        for cid, a in acc.items()
    }


async def seed(session, raw) -> tuple[dict[int, int], set[int]]:
    await add_user(session, ADMIN, "Olga", role=Role.admin)
    await add_user(session, ANNA, "Anna", role=Role.manager)
    await add_user(session, BORIS, "Boris", role=Role.manager)
    ids: dict[int, int] = {}
    for i in range(24):
        c = await add_client_row(session, ANNA if i % 2 else BORIS, f"Client {i}")
        ids[i] = c.id
    merged_row = await session.get(Client, ids[21])
    merged_row.merged_into_id = ids[0]
    await add_rows(session, raw, ids)
    await session.commit()
    return ids, {ids[21]}


async def add_rows(session, raw, ids, start: int = 0) -> None:
    for n, (idx, when, value, currency, source) in enumerate(raw, start):
        owner = ANNA if idx % 2 else BORIS
        v = Decimal(value)
        if source in ("won", "lost"):
            session.add(
                Deal(
                    client_id=ids[idx],
                    owner_id=owner,
                    title=f"d{n}",
                    amount=v,
                    currency=currency,
                    stage=source,
                    created_at=when,
                    updated_at=when,
                    closed_at=when,
                    last_activity_at=when,
                )
            )
        else:
            discount = Decimal(0) if source == "import" else Decimal(10)
            session.add(
                Purchase(
                    client_id=ids[idx],
                    manager_id=owner,
                    amount=v * 100 / (100 - discount) if discount else v,
                    currency=currency,
                    tier="Base",
                    discount_percent=discount,
                    discounted=v,
                    points_redeemed=0,
                    paid=v,
                    points_earned=0,
                    idempotency_key=f"t{n}",
                    created_at=when,
                    origin="import" if source == "import" else "bot",
                )
            )
    # a won deal in RUB without an amount is no purchase
    session.add(
        Deal(
            client_id=ids[13],
            owner_id=ANNA,
            title="no amount",
            amount=None,
            currency="RUB",
            stage="won",
            created_at=at(9),
            updated_at=at(9),
            closed_at=at(9),
            last_activity_at=at(9),
        )
    )
    await session.flush()


async def scores_of(session, run_id: int) -> dict[int, RfmScore]:
    rows = (await session.scalars(select(RfmScore).where(RfmScore.run_id == run_id))).all()
    return {s.client_id: s for s in rows}


def test_every_cell_has_exactly_one_segment():
    for r in range(1, 6):
        for f in range(1, 6):
            names = [seg for seg, rl, rh, fl, fh in CELLS if rl <= r <= rh and fl <= f <= fh]
            assert len(names) == 1, (r, f)
            assert names[0] is segment_of(r, f)
    assert {seg for seg, *_ in CELLS} == set(Segment) - {Segment.NO_RECENT}
    with pytest.raises(ValueError):
        segment_of(0, 3)


async def test_scores_match_an_independent_computation(engine, session):
    ids, merged = await seed(session, RAW)
    result = await rfm.run(
        engine, as_of=AS_OF, currency="RUB", now=UNTIL + timedelta(hours=1), started_by=ADMIN
    )
    want = expected(RAW, ids, merged, AS_OF)
    assert len(want) == 20  # 0-19; not 20 (too old), 21 (merged), 22 (USD only), 23 (none)
    async with rfm_session(engine) as s:
        got = await scores_of(s, result.run_id)
        run = await s.get(RfmRun, result.run_id)
    assert set(got) == set(want)
    for cid, w in want.items():
        g = got[cid]
        assert (g.recency_days, g.frequency, g.monetary) == (w["recency"], w["frequency"], w["monetary"]), cid
        assert (g.r, g.f, g.m, g.segment, g.abc_class) == (w["r"], w["f"], w["m"], w["segment"], w["abc"]), (
            cid
        )
        assert g.last_purchase_at == w["last"]
        assert g.owner_id == (ANNA if next(k for k, v in ids.items() if v == cid) % 2 else BORIS)
    # the tie on the last purchase is broken by client id (3 sorts before 4: never a higher R)
    assert got[ids[3]].last_purchase_at == got[ids[4]].last_purchase_at
    assert got[ids[3]].r <= got[ids[4]].r
    total = sum(w["monetary"] for w in want.values())
    assert run.finished_at is not None and run.population == 20 and run.revenue == total
    assert run.started_by == ADMIN and run.as_of == AS_OF and run.currency == "RUB"
    assert result.population == 20


def rfm_session(engine):
    return create_session_factory(engine)()


async def test_distribution_pareto_lists_and_vip(engine, session):
    ids, merged = await seed(session, RAW)
    await rfm.run(engine, as_of=AS_OF, currency="RUB", now=UNTIL)
    want = expected(RAW, ids, merged, AS_OF)
    owner_of = {cid: (ANNA if i % 2 else BORIS) for i, cid in ids.items()}
    async with rfm_session(engine) as s:
        run = await rfm.latest_run(s)
        for owner in (None, ANNA, BORIS):
            mine = {c: w for c, w in want.items() if owner is None or owner_of[c] == owner}
            clients = [c for c in ids.values() if c not in merged and (owner is None or owner_of[c] == owner)]
            d = await rfm.distribution(s, run, owner)
            segs: dict[str, int] = {}
            for w in mine.values():
                segs[w["segment"]] = segs.get(w["segment"], 0) + 1
            segs[Segment.NO_RECENT.value] = len(clients) - len(mine)
            assert {k: v for k, v in d.segments.items() if v} == {k: v for k, v in segs.items() if v}
            abc: dict[str, int] = {}
            for w in mine.values():
                if w["abc"]:
                    abc[w["abc"]] = abc.get(w["abc"], 0) + 1
            assert d.abc == abc and d.clients == len(clients) and d.population == len(mine)
            top = sorted(mine, key=lambda c: (-mine[c]["monetary"], c))[: math.ceil(len(mine) * 0.2)]
            revenue = sum(w["monetary"] for w in mine.values())
            assert d.revenue == revenue
            assert d.top20_share == pytest.approx(float(sum(mine[c]["monetary"] for c in top) / revenue))
            # the run's stored figures (the whole base's, each owner's) and its rows agree
            stored = d
            run.summary = None
            assert await rfm.distribution(s, run, owner) == stored
            await s.refresh(run)
        # a segment's clients in id order, paged, scoped
        seg = want[ids[7]]["segment"]
        members = sorted(c for c, w in want.items() if w["segment"] == seg)
        page = await rfm.segment_clients(s, run, Segment(seg), None, 0, size=2)
        assert [r.id for r in page.items] == members[:2] and page.has_next == (len(members) > 2)
        mine = await rfm.segment_clients(s, run, Segment(seg), ANNA, 0, size=50)
        assert [r.id for r in mine.items] == [c for c in members if owner_of[c] == ANNA]
        idle = await rfm.segment_clients(s, run, Segment.NO_RECENT, None, 0, size=50)
        assert [r.id for r in idle.items] == sorted(
            c for c in ids.values() if c not in want and c not in merged
        )
        # VIP: class A or the manual flag
        client = await s.get(Client, ids[23])
        client.vip = True
        await s.flush()
        vips = await rfm.vip_ids(s, list(ids.values()))
        assert vips == {c for c, w in want.items() if w["abc"] == "A"} | {ids[23]}
        score = await rfm.client_score(s, ids[7])
        assert score is not None and score.abc_class == want[ids[7]]["abc"]
        assert await rfm.client_score(s, ids[23]) is None


async def test_movement_between_two_runs_and_retention(engine, session):
    ids, merged = await seed(session, RAW)
    owner_of = {cid: (ANNA if i % 2 else BORIS) for i, cid in ids.items()}
    first = await rfm.run(engine, as_of=AS_OF, currency="RUB", now=UNTIL)
    # a month later, with new purchases for a few clients (client 23 buys for the first time)
    later = AS_OF + timedelta(days=30)
    extra = [
        (23, at(-10), "50000.00", "RUB", "bot"),
        (0, at(-20), "100.25", "RUB", "bot"),
        (0, at(-21), "100.25", "RUB", "bot"),
        (15, at(-5), "700.00", "RUB", "won"),
    ]
    async with rfm_session(engine) as s:
        await add_rows(s, extra, ids, start=1000)
        await s.commit()
    second = await rfm.run(engine, as_of=later, currency="RUB", now=UNTIL + timedelta(days=30))
    before = expected(RAW, ids, merged, AS_OF)
    after = expected(RAW + extra, ids, merged, later)
    live = [c for c in ids.values() if c not in merged]
    async with rfm_session(engine) as s:
        assert {c: x.segment for c, x in (await scores_of(s, second.run_id)).items()} == {
            c: w["segment"] for c, w in after.items()
        }
        run, previous = await rfm.latest_runs(s)
        assert (run.id, previous.id) == (second.run_id, first.run_id)
        for owner in (None, ANNA):
            moves: dict[tuple[str, str], int] = {}
            for c in live:
                if owner is not None and owner_of[c] != owner:
                    continue
                a = before[c]["segment"] if c in before else Segment.NO_RECENT.value
                b = after[c]["segment"] if c in after else Segment.NO_RECENT.value
                if a != b:
                    moves[(a, b)] = moves.get((a, b), 0) + 1
            got = await rfm.movement(s, run, previous, owner)
            assert {(a, b): n for a, b, n in got} == moves
            run.summary = None  # counted from the rows instead of the stored summary: the same
            assert await rfm.movement(s, run, previous, owner) == got
            await s.refresh(run)
            assert [n for *_, n in got] == sorted((n for *_, n in got), reverse=True)
        assert any(a == Segment.NO_RECENT.value for a, _b, _n in await rfm.movement(s, run, previous, None))
    # retention: keep the newest two finished runs
    third = await rfm.run(engine, as_of=later + timedelta(days=1), currency="RUB", now=UNTIL, keep=2)
    assert third.dropped == 1
    async with rfm_session(engine) as s:
        assert list((await s.scalars(select(RfmRun.id).order_by(RfmRun.id))).all()) == [
            second.run_id,
            third.run_id,
        ]
        assert await s.scalar(select(func.count()).where(RfmScore.run_id == first.run_id)) == 0


async def test_a_failed_run_leaves_nothing(engine, session, monkeypatch):
    await seed(session, RAW)

    async def broken(conn, keep):
        raise RuntimeError("disk full")

    monkeypatch.setattr(rfm, "_drop_old_runs", broken)
    with pytest.raises(RuntimeError):
        await rfm.run(engine, as_of=AS_OF, currency="RUB", now=UNTIL)
    async with rfm_session(engine) as s:
        assert await rfm.latest_run(s) is None
        assert await s.scalar(select(func.count()).select_from(RfmRun)) == 0
        assert await s.scalar(select(func.count()).select_from(RfmScore)) == 0
    monkeypatch.undo()
    ok = await rfm.run(engine, as_of=AS_OF, currency="RUB", now=UNTIL)  # the temporary table is gone too
    assert ok.population == 20
