"""Lost: the reason typed after the Lost stage button (handlers/deals/card), then the change."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.context import Ctx
from bot.text import h
from bot.views import deals as views
from handlers.deals.changes import apply_change
from handlers.deals.common import STAFF, TYPED, DealInput, repeat
from services.deals import changes, parsing, rules
from services.errors import DomainError

router = Router(name="deals.lost")


@router.message(DealInput.lost_reason, *TYPED, flags=STAFF)
async def reason_typed(message: Message, ctx: Ctx) -> None:
    try:
        reason = parsing.clean_text(message.text, rules.REASON_LIMIT)
    except DomainError as e:
        await repeat(message, ctx, views.error(e))
        return
    data = await ctx.state.get_data()
    change = changes.change_stage(
        ctx.session,
        ctx.user,
        data["deal_id"],
        data["version"],
        "lost",
        ctx.settings.deal_stages,
        ctx.now(),
        reason=reason,
    )
    note = _("Stage: {stage}").format(stage=h(views.stage_name("lost")))
    await apply_change(message, ctx, change, note)
