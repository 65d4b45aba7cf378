"""Broadcast test setup shared by the campaign tests: customers with and without offers consent (one
over the weekly limit, one in another time zone), purchases, the /broadcast dialog's first steps, and
the texts a person got."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import update

from models.campaigns import Campaign, CampaignDelivery, CampaignStatus, DeliveryStatus
from models.consent import ClientConsent, Purpose
from models.loyalty import LoyaltyAccount, Purchase
from models.users import User
from tests.conftest import ADMIN_ID
from tests.support.people import linked_customer

IVAN, JOHN, PETR, MARIA, NIGHT = 301, 302, 303, 304, 305


async def agree(app, *client_ids: int) -> None:
    async with app.session_factory() as s, s.begin():
        for client_id in client_ids:
            s.add(
                ClientConsent(
                    client_id=client_id, purpose=Purpose.marketing, granted=True, updated_at=app.clock.now()
                )
            )


async def customers(app, tg) -> dict[str, tuple[int, object]]:
    """Ivan (ru, 150 points, a name with markup), John (reads in English), Petr (no consent), Maria
    (two offers this week already), Night (Los Angeles: 00:00 there at the clock's start)."""
    people = {
        "ivan": await linked_customer(app, tg, ADMIN_ID, IVAN, "<Ivan> Big"),
        "john": await linked_customer(app, tg, ADMIN_ID, JOHN, "John Smith"),
        "petr": await linked_customer(app, tg, ADMIN_ID, PETR, "Petr"),
        "maria": await linked_customer(app, tg, ADMIN_ID, MARIA, "Maria"),
        "night": await linked_customer(
            app, tg, ADMIN_ID, NIGHT, "Nina Night", timezone="America/Los_Angeles"
        ),
    }
    await agree(app, *(people[n][0] for n in ("ivan", "john", "maria", "night")))
    async with app.session_factory() as s, s.begin():
        s.add(LoyaltyAccount(client_id=people["ivan"][0], balance=150, total_spend=0, purchases=0))
        await s.execute(update(User).where(User.id == JOHN).values(language="en"))
        for days in (1, 3):
            old = Campaign(
                created_by=ADMIN_ID, texts={"ru": "old"}, default_language="ru", status=CampaignStatus.done
            )
            s.add(old)
            await s.flush()
            s.add(
                CampaignDelivery(
                    campaign_id=old.id,
                    client_id=people["maria"][0],
                    status=DeliveryStatus.sent,
                    send_after=app.clock.now(),
                    at=app.clock.now() - timedelta(days=days),
                )
            )
    return people


async def consenting(app, tg, first_id: int, count: int) -> tuple[list[int], list[object]]:
    """`count` customers linked to the bot with offers consent given (Client0, Client1, ... with
    Telegram ids from `first_id`): their client ids and the people."""
    ids, people = [], []
    for n in range(count):
        client_id, person = await linked_customer(app, tg, ADMIN_ID, first_id + n, f"Client{n}")
        ids.append(client_id)
        people.append(person)
    await agree(app, *ids)
    return ids, people


def purchase(client_id: int, at: datetime, key: str) -> Purchase:
    v = Decimal(100)
    return Purchase(
        client_id=client_id,
        manager_id=None,
        amount=v,
        currency="RUB",
        tier="Bronze",
        discount_percent=Decimal(0),
        discounted=v,
        points_redeemed=0,
        paid=v,
        points_earned=0,
        idempotency_key=f"campaign-test-{key}",
        created_at=at,
    )


def got(person, contains: str) -> list[str]:
    return [m.text or "" for m in person.messages if contains in (m.text or "")]


async def compose(admin, audience: str = "👥 All customers"):
    chooser = (await admin.send("/broadcast")).last
    prompt = (await admin.press(audience, message=chooser)).last
    return chooser, prompt
