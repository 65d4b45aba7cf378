"""Gift hand-over: the owner manager's notice of a customer's request — Handed over or Cancel."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LoyaltyAction, LoyaltyCb
from bot.context import Ctx
from bot.dialogs import close_prompt
from bot.text import h
from bot.views import loyalty as views
from handlers.loyalty.common import STAFF
from services.errors import DomainError
from services.loyalty import gifts

router = Router(name="loyalty.handover")


@router.callback_query(
    LoyaltyCb.filter(F.action.in_({LoyaltyAction.ghand, LoyaltyAction.gcancel})), flags=STAFF
)
async def gift_closed(query: CallbackQuery, callback_data: LoyaltyCb, ctx: Ctx) -> None:
    handed = callback_data.action == LoyaltyAction.ghand
    try:
        request = await gifts.close_gift(ctx.session, ctx.user, callback_data.id, handed, ctx.now())
    except DomainError as e:
        await query.answer(views.error(e), show_alert=True)
        if e.code == "gift_closed":
            await close_prompt(query)
        return
    await close_prompt(query)
    if handed:
        note = _("✅ Handed over: “{gift}”. The points are spent.")
    else:
        note = _("✖️ Cancelled: “{gift}”. The points went back to the customer.")
    await query.answer(note.format(gift=request.gift_name))
    if isinstance(query.message, Message):
        await query.message.answer(note.format(gift=h(request.gift_name)))
