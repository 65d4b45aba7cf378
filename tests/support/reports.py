"""A small fixed data set for the reports' tests: two managers, five clients from each lead source,
purchases (one before the period, one today), three deals through the funnel, contacts, reminders and
survey answers, at known times (the conftest clock: 2026-03-10 10:00 in Moscow)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from models.deals import Deal, DealEvent
from models.interactions import Interaction, InteractionKind, InteractionOutcome
from models.loyalty import Purchase, Referral
from models.reminders import Reminder, ReminderStatus
from models.surveys import Survey, SurveyStatus, SurveyTrigger
from models.users import Role
from tests.support.people import add_client_row, add_user

ADMIN, ANNA, BORIS = 100, 200, 201


def at(month: int, day: int, hour: int = 9, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, 0, tzinfo=UTC)


_keys = iter(range(1, 10_000))


def purchase(
    client_id: int, manager_id: int | None, value: str, when: datetime, origin: str = "bot"
) -> Purchase:
    amount = Decimal(value)
    return Purchase(
        client_id=client_id,
        manager_id=manager_id,
        amount=amount,
        currency="RUB",
        tier="bronze",
        discount_percent=Decimal(0),
        discounted=amount,
        points_redeemed=0,
        paid=amount,
        points_earned=0,
        idempotency_key=f"t{next(_keys)}-{client_id}-{when.isoformat()}",
        created_at=when,
        origin=origin,
    )


def survey(
    client_id: int, manager_id: int, csat: int | None, when: datetime, nps: int | None = None
) -> Survey:
    return Survey(
        client_id=client_id,
        manager_id=manager_id,
        trigger=SurveyTrigger.contact,
        ref_id=1,
        status=SurveyStatus.sent,
        due_at=when,
        sent_at=when,
        csat=csat,
        csat_at=when if csat is not None else None,
        nps=nps,
        nps_at=when if nps is not None else None,
    )


def deal_with(session: AsyncSession, client_id: int, owner: int, created: datetime, moves, **values) -> Deal:
    """A deal created in `moves[0]`'s stage, then moved at each (time, stage) of the rest."""
    last_at, last_stage = moves[-1]
    deal = Deal(
        client_id=client_id,
        owner_id=owner,
        title="Deal",
        stage=last_stage,
        created_at=created,
        updated_at=last_at,
        last_activity_at=last_at,
        closed_at=last_at if last_stage in ("won", "lost") else None,
        **values,
    )
    session.add(deal)
    return deal


async def seed(session: AsyncSession, *, people: bool = True) -> dict[str, int]:
    """The data set; with `people` also the admin and the two managers (else they exist already)."""
    if people:
        await add_user(session, ADMIN, "Admin", role=Role.admin)
        await add_user(session, ANNA, "Anna", role=Role.manager)
        await add_user(session, BORIS, "Boris", role=Role.manager)
    ids = {}
    # lead sources: manual, import, vCard, Telegram lead (Boris), referral (this month); one old client
    for name, owner, source, created in (
        ("manual", ANNA, None, at(3, 2)),
        ("imported", ANNA, "import", at(3, 3)),
        ("vcard", ANNA, "vCard", at(3, 4)),
        ("lead", BORIS, "Telegram bot", at(3, 5)),
        ("referred", BORIS, "Telegram bot", at(3, 10, 5)),  # today
        ("old", ANNA, "Excel", at(12, 1, year=2025)),
    ):
        ids[name] = (await add_client_row(session, owner, name, source=source, created_at=created)).id
    session.add(
        Referral(
            referrer_client_id=ids["manual"],
            newcomer_user_id=9001,
            newcomer_client_id=ids["referred"],
            status="linked",
            created_at=at(3, 10, 5),
        )
    )
    # purchases: "old" first bought in December and again in March; "manual" twice in March;
    # "lead" (Boris) once; "vcard" today (the live part)
    session.add_all(
        [
            purchase(ids["old"], ANNA, "700", at(12, 5, year=2025)),
            purchase(ids["old"], ANNA, "300", at(3, 6)),
            purchase(ids["manual"], ANNA, "1000", at(3, 2)),
            purchase(ids["manual"], ANNA, "500", at(3, 8)),
            purchase(ids["lead"], BORIS, "250", at(3, 9)),
            purchase(ids["vcard"], ANNA, "200", at(3, 10, 5)),
        ]
    )
    await session.flush()
    # deals: Anna's won (RUB 10,000, created 1 March, won 5 March: 4 days), Boris's lost ("Дорого"),
    # Anna's won in USD (not revenue: another currency), Boris's still in negotiation
    won = deal_with(
        session,
        ids["manual"],
        ANNA,
        at(3, 1),
        [(at(3, 1), "new"), (at(3, 3), "qualification"), (at(3, 5), "won")],
        amount=Decimal(10000),
        currency="RUB",
    )
    lost = deal_with(
        session, ids["lead"], BORIS, at(3, 2), [(at(3, 2), "new"), (at(3, 4), "lost")], lost_reason="Дорого"
    )
    usd = deal_with(
        session,
        ids["imported"],
        ANNA,
        at(3, 3),
        [(at(3, 3), "proposal"), (at(3, 6), "won")],
        amount=Decimal(50),
        currency="USD",
    )
    talk = deal_with(
        session,
        ids["lead"],
        BORIS,
        at(3, 4),
        [(at(3, 4), "new"), (at(3, 7), "proposal"), (at(3, 8), "negotiation")],
    )
    await session.flush()
    for deal, moves in (
        (won, [(at(3, 1), "new"), (at(3, 3), "qualification"), (at(3, 5), "won")]),
        (lost, [(at(3, 2), "new"), (at(3, 4), "lost")]),
        (usd, [(at(3, 3), "proposal"), (at(3, 6), "won")]),
        (talk, [(at(3, 4), "new"), (at(3, 7), "proposal"), (at(3, 8), "negotiation")]),
    ):
        (first_at, first_stage), *rest = moves
        session.add(
            DealEvent(
                deal_id=deal.id,
                actor_id=deal.owner_id,
                at=first_at,
                kind="created",
                new_value="Deal",
                details={"stage": first_stage},
            )
        )
        previous = first_stage
        for when, stage in rest:
            session.add(
                DealEvent(
                    deal_id=deal.id,
                    actor_id=deal.owner_id,
                    at=when,
                    kind="stage",
                    old_value=previous,
                    new_value=stage,
                    details={},
                )
            )
            previous = stage
    # contacts: Anna 2 calls reached + 1 message no answer, Boris 1 meeting agreed; Anna one today
    for author, kind, outcome, when in (
        (ANNA, InteractionKind.call, InteractionOutcome.reached, at(3, 2)),
        (ANNA, InteractionKind.call, InteractionOutcome.reached, at(3, 3)),
        (ANNA, InteractionKind.message, InteractionOutcome.no_answer, at(3, 9)),
        (BORIS, InteractionKind.meeting, InteractionOutcome.agreed, at(3, 4)),
        (ANNA, InteractionKind.call, InteractionOutcome.agreed, at(3, 10, 6)),
    ):
        session.add(
            Interaction(
                client_id=ids["manual"],
                author_id=author,
                kind=kind,
                outcome=outcome,
                occurred_at=when,
                created_at=when,
            )
        )
    # reminders: Anna done on time and late, Boris one overdue now, Anna one still to come
    for owner, due, done in (
        (ANNA, at(3, 3, 10), at(3, 3, 9)),
        (ANNA, at(3, 4, 10), at(3, 5, 9)),
        (BORIS, at(3, 5, 10), None),
        (ANNA, at(3, 12, 10), None),
    ):
        session.add(
            Reminder(
                owner_id=owner,
                text="r",
                due_at=due,
                done_at=done,
                created_at=at(3, 1),
                status=ReminderStatus.done if done else ReminderStatus.pending,
            )
        )
    # survey answers: Anna 5 and 4 (today), Boris 3; NPS 9 and 5
    session.add_all(
        [
            survey(ids["manual"], ANNA, 5, at(3, 2), nps=9),
            survey(ids["lead"], BORIS, 3, at(3, 4), nps=5),
            survey(ids["vcard"], ANNA, 4, at(3, 10, 6)),
        ]
    )
    await session.flush()
    return ids
