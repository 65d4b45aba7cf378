"""Kill hooks: SIGKILL the bot process the moment it makes a given call (a crash at a chosen point).

    hook = server.kill_on(pid, method="sendMessage", chat_id=alice.id, text_contains="Saved")
    ...                                # drive the bot; when it sends "Saved..." to Alice:
    await hook.wait()                  # the call took effect (Alice sees it), then the bot was killed

The matching call is carried out (it is in the chat history: the person saw it) and counts as
answered successfully; the process is killed before the answer is written back, so the bot never
learns the call succeeded — as if it crashed the instant Telegram accepted it. That keeps the crash
point exact: nothing the bot would do after the call (a commit, the next call) can slip in.

While a hook with ``hold_offset`` is armed, a getUpdates that would confirm updates (an ``offset``
above the oldest pending one) waits, and is dropped if the hook fires meanwhile: the confirmation
was still in flight when the bot died, so Telegram delivers those updates again after a restart.
Without it, a bot that polls again while its handlers run (``handle_as_tasks=True``) would usually
have confirmed the update already, and whether it comes again would be a race.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from .server import Call


@dataclass(eq=False)
class KillHook:
    """One armed crash point. Fires once: kills ``pid`` after the first matching successful call."""

    pid: int
    method: str | None = None  # canonical Bot API method name, e.g. "sendMessage"
    chat_id: int | None = None  # the chat (for a callback answer: the chat of who pressed)
    text_contains: str | None = None  # in the text/caption the person sees, or a callback answer
    where: Callable[[Call, Any], bool] | None = None  # any other condition on (call, result)
    hold_offset: bool = True
    call: Call | None = None  # the call that fired the hook
    armed: bool = True
    _fired: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    on_change: Callable[[], None] | None = field(default=None, repr=False)  # the server's signal

    @property
    def fired(self) -> bool:
        return self._fired.is_set()

    def matches(self, call: Call, result: Any, chat_id: int | None) -> bool:
        if not self.armed:
            return False
        if self.method is not None and call.method != self.method:
            return False
        if self.chat_id is not None and chat_id != self.chat_id:
            return False
        if self.text_contains is not None and self.text_contains not in _visible_text(call, result):
            return False
        return self.where is None or self.where(call, result)

    def fire(self, call: Call) -> None:
        self.armed = False
        self.call = call
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self._fired.set()

    def disarm(self) -> None:
        self.armed = False
        if self.on_change is not None:
            self.on_change()

    async def wait(self, within: float = 10.0) -> Call:
        """Wait until the hook fired; returns the call that fired it."""
        try:
            async with asyncio.timeout(within):
                await self._fired.wait()
        except TimeoutError:
            raise AssertionError(
                f"the bot never made the call {self.describe()} within {within:g}s"
            ) from None
        assert self.call is not None
        return self.call

    def describe(self) -> str:
        parts = [f"{name}={value!r}" for name in ("method", "chat_id", "text_contains")
                 if (value := getattr(self, name)) is not None]  # fmt: skip
        return f"kill_on({', '.join(parts) or 'any call'})"


def _visible_text(call: Call, result: Any) -> str:
    if isinstance(result, dict):
        shown = result.get("text", result.get("caption"))
        if isinstance(shown, str):
            return shown
    text = call.params.get("text", call.params.get("caption"))
    return text if isinstance(text, str) else ""
