"""The audit timeline as /audit reads it: keyset windows over the four tables (audit events, deal events,
consent decisions, ledger entries) newest first, Newer and Older without repeats or gaps even where
rows of different tables share a time, a page read as its rows plus one and never counted, cursors
that survive a button and refuse to be forged, and the recently changed clients — on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, event

from bot.callbacks import AuditAction, AuditCb
from models.audit import AuditEvent
from models.consent import ConsentEvent, ConsentSource, Purpose
from models.deals import Deal, DealEvent
from models.loyalty import LedgerEntry
from models.users import Role
from services import audit
from services.errors import DomainError
from tests.support.people import add_client_row, add_user

AT = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)


async def seed(session) -> dict[str, int]:
    """37 changes of two clients over the four tables; every third minute has a row of each table at
    the very same time, so the source and id break the ties."""
    anna = await add_user(session, 200, "Anna", role=Role.manager)
    ivan = await add_client_row(session, anna.id, "Иван")
    petr = await add_client_row(session, anna.id, "Пётр")
    deal = Deal(client_id=ivan.id, owner_id=anna.id, title="Поставка", stage="new")
    session.add(deal)
    await session.flush()
    balance = 0
    for minute in range(18):
        at = AT + timedelta(minutes=minute)
        client = ivan if minute % 2 else petr
        audit.record_change(session, anna.id, client.id, "name", f"n{minute}", f"n{minute + 1}", at)
        if minute % 3 == 0:
            session.add(DealEvent(deal_id=deal.id, actor_id=anna.id, at=at, kind="stage", new_value="won"))
            session.add(
                ConsentEvent(
                    client_id=ivan.id,
                    purpose=Purpose.marketing,
                    granted=minute % 2 == 0,
                    at=at,
                    source=ConsentSource.manager,
                    actor_id=anna.id,
                    text_version="v1",
                )
            )
            balance += 10
            session.add(
                LedgerEntry(
                    client_id=ivan.id,
                    at=at,
                    kind="welcome",
                    points=10,
                    balance_after=balance,
                    idempotency_key=f"k{minute}",
                    actor_id=anna.id,
                )
            )
        if minute == 5:  # a second change in the same minute, same table
            audit.record_change(session, anna.id, ivan.id, "company", None, "ООО", at)
    await session.commit()
    return {"anna": anna.id, "ivan": ivan.id, "petr": petr.id}


def keys(items) -> list[tuple[str, int]]:
    return [(i.source, i.id) for i in items]


async def walk(session, flt, per_page):
    """Older from the newest page to the last, then Newer back up: the pages met each way."""
    down = [await audit.window(session, flt, None, per_page)]
    while down[-1].older:
        down.append(await audit.window(session, flt, down[-1].cursor(audit.OLDER), per_page))
    up = [down[-1]]
    while up[-1].newer:
        up.append(await audit.window(session, flt, up[-1].cursor(audit.NEWER), per_page))
    return down, up


async def test_older_and_newer_show_every_change_once_in_order(session):
    ids = await seed(session)
    everything = [i async for i in audit.stream(session, audit.Filter())]
    assert len(everything) == 37
    assert [i.at for i in everything] == sorted((i.at for i in everything), reverse=True)
    # ties: the same minute's rows come points, deal, consent, audit (then by id, newest first)
    assert [i.source for i in everything[:6]] == ["audit", "audit", "points", "deal", "consent", "audit"]
    assert len({i.at for i in everything[2:6]}) == 1

    down, up = await walk(session, audit.Filter(), per_page=5)
    assert len(down) == 8  # 37 rows, 5 a page
    assert keys(i for w in down for i in w.items) == keys(everything)
    assert not down[0].newer and down[0].older and not down[-1].older and down[-1].newer
    # back up: the same pages, in reverse, the newest one last
    assert [keys(w.items) for w in up] == [keys(w.items) for w in reversed(down)]
    assert not up[-1].newer

    # a filter pages the same way: Иван's changes only
    mine = audit.Filter(client_id=ids["ivan"])
    down, up = await walk(session, mine, per_page=4)
    expected = [i for i in everything if i.client_id == ids["ivan"]]
    assert len(down) > 2 and keys(i for w in down for i in w.items) == keys(expected)
    assert [keys(w.items) for w in up] == [keys(w.items) for w in reversed(down)]


async def test_going_back_near_the_top_shows_the_newest_page(session):
    await seed(session)
    first = await audit.window(session, audit.Filter(), None, 5)
    second = await audit.window(session, audit.Filter(), first.cursor(audit.OLDER), 5)
    # a Newer from the middle of the first page has fewer than a page above it: the newest page
    middle = audit.Cursor(audit.NEWER, audit.Key(first.items[2].at, first.items[2].source, first.items[2].id))
    back = await audit.window(session, audit.Filter(), middle, 5)
    assert keys(back.items) == keys(first.items) and not back.newer and not back.moved
    assert keys((await audit.window(session, audit.Filter(), second.cursor(audit.NEWER), 5)).items) == keys(
        first.items
    )


async def test_a_page_is_its_rows_plus_one_and_never_counted(session, engine):
    await seed(session)
    first = await audit.window(session, audit.Filter(), None, 5)
    statements: list[tuple[str, object]] = []

    def grab(conn, cursor, statement, parameters, *args):
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        await audit.window(session, audit.Filter(), first.cursor(audit.OLDER), 5)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    timeline = [s for s, _p in statements if "UNION ALL" in s]
    assert len(timeline) == 1
    assert all("count(" not in s.lower() for s, _p in statements)
    # each of the four tables gives at most a page and one (a LIMIT inside every branch), then the page
    assert timeline[0].upper().count("LIMIT") == 5


async def test_a_stale_cursor_gives_the_newest_page_and_a_forged_one_is_refused(session):
    await seed(session)
    flt = audit.Filter()
    first = await audit.window(session, flt, None, 5)
    last = first
    while last.older:
        last = await audit.window(session, flt, last.cursor(audit.OLDER), 5)
    # everything older than the last page's first row goes (say, its client was forgotten)
    cursor = audit.Cursor(audit.OLDER, last.first)
    assert (await audit.window(session, flt, cursor, 5)).items
    for model in (AuditEvent, DealEvent, ConsentEvent, LedgerEntry):
        await session.execute(delete(model).where(model.at <= last.first.at))
    await session.commit()
    stale = await audit.window(session, flt, cursor, 5)
    assert stale.moved and keys(stale.items) == keys(first.items)

    token = first.cursor(audit.OLDER).token()
    assert audit.Cursor.parse(token) == first.cursor(audit.OLDER)
    for forged in (
        "",
        "1",
        "x",
        "o",
        "oa",
        "oa1",  # no id
        "oq1.1",  # no such source
        "qa1.1",  # no such direction
        "oa1:1",
        "oa" + "_" * 11 + ".1",  # past the year 9999
        "oa1." + "_" * 11,  # an id no table can hold
        "oa1.1.1",
    ):
        with pytest.raises(DomainError):
            audit.Cursor.parse(forged)


def test_a_button_with_a_cursor_and_the_largest_ids_fits_telegrams_64_bytes():
    key = audit.Key(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "points", 2**63 - 1)
    token = audit.Cursor(audit.OLDER, key).token()
    assert audit.Cursor.parse(token).key == key
    data = AuditCb(action=AuditAction.list, actor=2**52, client=2**40, days=90, cur=token).pack()
    assert len(data.encode()) <= 64, data
    today = audit.Cursor(audit.NEWER, audit.Key(AT, "audit", 1_000_000)).token()
    assert len(today) <= 16


async def test_recent_clients_are_the_latest_changed_first(session):
    ids = await seed(session)
    assert await audit.recent_clients(session) == [(ids["ivan"], "Иван"), (ids["petr"], "Пётр")]
    assert await audit.recent_clients(session, limit=1) == [(ids["ivan"], "Иван")]
