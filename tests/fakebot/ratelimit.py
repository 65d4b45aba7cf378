"""Token buckets for Telegram's flood limits (global messages/second and per-chat)."""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass
class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; starts full."""

    rate: float
    burst: float
    clock: Clock
    tokens: float = field(init=False)
    updated: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.updated = self.clock()

    def wait_time(self) -> float:
        """Seconds until a token is available (0 if one is available now)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class RateLimiter:
    """A global bucket plus one bucket per chat; either may be off (rate None). Paid broadcasts
    (``allow_paid_broadcast``) draw on a bucket of their own, ``paid_rate`` a second (Telegram's 1000),
    instead of the free global one; the per-chat limit still holds."""

    global_rate: float | None
    per_chat_rate: float | None
    clock: Clock
    global_burst: float | None = None
    per_chat_burst: float | None = None
    paid_rate: float | None = 1000
    _global: TokenBucket | None = field(init=False, default=None)
    _paid: TokenBucket | None = field(init=False, default=None)
    _chats: dict[Hashable, TokenBucket] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        if self.global_rate is not None:
            burst = self.global_burst or max(1.0, self.global_rate)
            self._global = TokenBucket(self.global_rate, burst, self.clock)
        if self.paid_rate is not None:
            self._paid = TokenBucket(self.paid_rate, self.paid_rate, self.clock)

    def acquire(self, chat_key: Hashable, *, paid: bool = False) -> int | None:
        """Take a token from each applicable bucket, or return ``retry_after`` (whole seconds ≥ 1)."""
        overall = self._paid if paid and self._paid is not None else self._global
        buckets = [b for b in (overall, self._chat_bucket(chat_key)) if b is not None]
        wait = max((bucket.wait_time() for bucket in buckets), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.take()
        return None

    def set_chat_limit(self, chat_key: Hashable, rate: float, burst: float | None = None) -> None:
        """One chat with a limit of its own (a benchmark's manager who searches faster than the
        per-chat rate lets the replies come); every other chat keeps ``per_chat_rate``."""
        self._chats[chat_key] = TokenBucket(rate, burst or max(1.0, rate), self.clock)

    def _chat_bucket(self, chat_key: Hashable) -> TokenBucket | None:
        if self.per_chat_rate is None:
            return None
        if chat_key not in self._chats:
            burst = self.per_chat_burst or max(1.0, self.per_chat_rate)
            self._chats[chat_key] = TokenBucket(self.per_chat_rate, burst, self.clock)
        return self._chats[chat_key]
