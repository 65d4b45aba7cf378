"""The client card as the customer side's card actions need it: a press on a card drawn at another
version of the client is refused the way every card action refuses it (handlers/clients/common.py)."""

from __future__ import annotations

from aiogram.types import CallbackQuery

from bot.context import Ctx
from handlers.clients.common import card_view, stale
from models.clients import Client

__all__ = ["card_view", "refuse_stale"]


async def refuse_stale(query: CallbackQuery, ctx: Ctx, client: Client, version: int) -> bool:
    """True (and "the card changed", then the card as it is now) when the card was drawn at another
    version of the client; False when the press may go on."""
    if client.version == version:
        return False
    await stale(query, ctx, client)
    return True
