"""Helpers shared by the tests of the manager workspace: the deal stages the tests configure, a client
card button packed with its CallbackData class, and the reminders a manager has or was sent."""

from __future__ import annotations

from sqlalchemy import select

from bot.callbacks import CardAction, ClientCb
from models.reminders import Reminder
from tests.fakebot import FakeUser

STAGES = ("new", "qualification", "proposal", "negotiation", "won", "lost")


def card_cb(action: str, client_id: int, version: int = 1, page: int = 0, arg: int = 0) -> str:
    """The callback data of a client card's button."""
    data = ClientCb(action=CardAction(action), client_id=client_id, version=version, page=page, arg=arg)
    return data.pack()


async def reminders_of(app, owner_id: int) -> list[Reminder]:
    async with app.session_factory() as s:
        return list(
            (
                await s.scalars(select(Reminder).where(Reminder.owner_id == owner_id).order_by(Reminder.id))
            ).all()
        )


def reminders_sent(person: FakeUser) -> list:
    """The English reminders the person was sent."""
    return [m for m in person.messages if (m.text or "").startswith("⏰ Reminder")]
