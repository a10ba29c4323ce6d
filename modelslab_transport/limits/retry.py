"""When and how long to wait before sending a failed request again."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio

from modelslab_transport.errors import APIStatusError, ModelsLabError

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff (seconds) for retryable failures: connect errors, 429 and 5xx.

    The server's wait is honoured up to ``max_wait`` (beyond it: no retry); otherwise
    ``initial_backoff`` doubles up to ``max_backoff``, less a random ``jitter`` fraction.
    """

    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    max_wait: float = 60.0
    jitter: float = 0.25
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, got {self.jitter!r}")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.max_wait < 0:
            raise ValueError("backoff and wait bounds must not be negative")

    def delay(self, attempt: int, error: ModelsLabError, max_retries: int) -> float | None:
        """Seconds to wait before retry ``attempt + 1`` (``attempt`` counts from 0), or None."""
        if not error.retryable or attempt >= max_retries:
            return None
        hint = error.retry_after if isinstance(error, APIStatusError) else None
        if hint is not None and math.isfinite(hint):
            wait = max(float(hint), 0.0)
            return wait if wait <= self.max_wait else None
        backoff = min(self.max_backoff, self.initial_backoff * (2.0**attempt))
        return backoff * (1 - self.jitter * random.random())
