"""Rendering (texts and keyboards) per capability; handlers call these to draw replies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.types import InlineKeyboardMarkup

Rendered = tuple[str, InlineKeyboardMarkup | None]  # a text and its keyboard, if any
Notice = Callable[[dict[str, Any]], Rendered]  # a queued notice's params -> what is sent
