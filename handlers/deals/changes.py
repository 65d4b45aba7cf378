"""Applying a typed change to an existing deal (shared by handlers/deals/lost and handlers/deals/edit)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.context import Ctx
from bot.views import deals as views
from handlers.deals.common import REDRAW, send_card
from services.errors import DomainError


async def apply_change(message: Message, ctx: Ctx, change: Awaitable[Any], note: str | None = None) -> None:
    """The input was valid: the dialog is over, whatever the change meets; a deal changed meanwhile is
    shown as it is now."""
    deal_id = (await ctx.state.get_data())["deal_id"]
    await ctx.state.clear()
    try:
        await change
    except DomainError as e:
        if e.code in REDRAW:
            await send_card(message, ctx, deal_id, views.error(e))
        else:
            await message.answer(views.error(e))
        return
    await send_card(message, ctx, deal_id, note or _("✅ Saved."))
