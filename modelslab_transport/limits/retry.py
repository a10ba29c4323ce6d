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
    """Backoff for retryable failures: connect errors, 429 and 5xx.

    The number of retries is ``ClientSettings.max_retries``; this policy says how long
    to wait. A wait the server asks for (read by
    :func:`~modelslab_transport.decoding.error_bodies.parse_retry_after`: headers, else the body)
    is honoured; otherwise the wait grows exponentially from
    ``initial_backoff`` up to ``max_backoff``, less a random ``jitter`` fraction so that
    many clients do not retry in step. A server that asks for more than ``max_wait``
    seconds is not retried: the error (with its ``retry_after``) goes to the caller.

    Attributes:
        initial_backoff: Seconds before the first retry when the server gave no hint.
        max_backoff: Upper bound of the exponential backoff.
        max_wait: The longest server-requested wait that is still honoured.
        jitter: Fraction (0-1) of the backoff that is randomly taken off.
        sleep: How to wait in the sync client (replaceable in tests).
        async_sleep: How to wait in the async client (replaceable in tests).
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
        """Seconds to wait before retry number ``attempt + 1``, or None to give up.

        Args:
            attempt: How many retries were already made (0 after the first failure).
            error: The failure of the latest attempt.
            max_retries: How many retries are allowed in all.
        """
        if not error.retryable or attempt >= max_retries:
            return None
        hint = error.retry_after if isinstance(error, APIStatusError) else None
        if hint is not None and math.isfinite(hint):  # nan/inf: as if the server gave none
            wait = max(float(hint), 0.0)
            return wait if wait <= self.max_wait else None
        backoff = min(self.max_backoff, self.initial_backoff * (2.0**attempt))
        return backoff * (1 - self.jitter * random.random())
