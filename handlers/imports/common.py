"""What the import handlers share: the role flag, the dialog state of "waiting for the file", and
drawing an import's current screen."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery

from bot.context import Ctx
from bot.edit import edit_or_send
from bot.views import imports as views
from models.imports import Import
from services import access
from services.imports import checking

STAFF = {"role": "staff"}


class ImportDialog(StatesGroup):
    file = State()


async def sample(ctx: Ctx, imp: Import) -> list[str]:
    rows = await checking.rows_of(ctx.session, imp.id, limit=1)
    return rows[0][1] if rows else []


async def redraw(query: CallbackQuery, ctx: Ctx, imp: Import) -> None:
    """The import's screen as it is now (after a stale or repeated button)."""
    text = views.state_text(imp, await sample(ctx, imp))
    await edit_or_send(query, text, views.state_keyboard(imp, access.sees_everything(ctx.user)))
