"""CallbackData schemas. Packed payloads must stay within Telegram's 64 bytes (a test checks)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LanguageCb(CallbackData, prefix="lang"):
    code: str


class TeamCb(CallbackData, prefix="team"):
    action: str  # list | open | deactivate | reactivate | promote | demote
    user_id: int = 0
    page: int = 0
