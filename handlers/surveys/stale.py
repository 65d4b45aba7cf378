"""Any other survey button (a forged one, or one whose action no longer exists): say it is stale.
Tried after every other survey router."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.callbacks import SurveyCb
from bot.context import Ctx

ANY = {"role": "any"}

router = Router(name="surveys.stale")


@router.callback_query(SurveyCb.filter(), flags=ANY)
async def unknown_survey_button(query: CallbackQuery, ctx: Ctx) -> None:
    await query.answer(_("This button is no longer valid. Send /start to begin again."), show_alert=True)
