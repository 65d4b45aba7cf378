"""Dialog (FSM) steps shared by every step-by-step flow.

State is saved in the update's own transaction (see bot/fsm_storage.py), so a step and the rows it
saves commit together. Paging keys that list views keep under "lists" survive a dialog's start and end.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ChoiceCb
from bot.context import Ctx


async def begin_dialog(state: FSMContext, step: State, **data: object) -> None:
    """A new dialog at `step` with fresh data."""
    lists = (await state.get_data()).get("lists")
    await state.set_state(step)
    await state.set_data({"lists": lists, **data} if lists else data)


async def next_step(state: FSMContext, step: State, **data: object) -> None:
    await state.set_state(step)
    if data:
        await state.update_data(**data)


async def end_dialog(state: FSMContext) -> None:
    lists = (await state.get_data()).get("lists")
    await state.set_state(None)
    await state.set_data({"lists": lists} if lists else {})


async def close_prompt(query: CallbackQuery) -> None:
    """The pressed prompt loses its buttons, so it isn't pressed again by accident."""
    if isinstance(query.message, Message) and query.message.reply_markup is not None:
        try:
            await query.message.edit_reply_markup(reply_markup=None)
        except TelegramBadRequest:
            pass


class OnStep(Filter):
    """A button of a dialog step (ChoiceCb.step) pressed while the dialog is at that step, on a message
    still there. `steps` maps each state of the area's dialogs to its step name."""

    def __init__(self, steps: Mapping[str, str]) -> None:
        self.steps = steps

    async def __call__(self, query: CallbackQuery, callback_data: ChoiceCb, ctx: Ctx) -> bool:
        current = await ctx.state.get_state()
        return isinstance(query.message, Message) and self.steps.get(current or "") == callback_data.step
