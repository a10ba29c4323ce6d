"""ModelsLab's per-account queue limit, kept on our side: one request limit per account.

ModelsLab limits how many requests an account has queued at once, across all its
endpoints: 5 on pay-as-you-go, 10 on Standard, 15 on Premium. One request more is
refused with HTTP 429 ``{"status": "error", "message": "Rate limit exceeded. Maximum 5
queued requests allowed.", "retry_after": 30}`` (``shared/modelslab-api.md`` §7, rate
limits; source: ModelsLab's ``docs-v2`` ``rate-limits.mdx`` and ``error-codes.mdx``).

So every client of one account in a process (every ``ChatModelsLab``, ``ModelsLabLLM``
and transport client with the same base URL and API key, in any thread or event loop,
sync or async, streams included) draws from one :class:`AccountLimit`, found in a
process-wide registry by :func:`account_limit`. The registry is keyed by the base URL
and a SHA-256 digest of the key, never the key itself.

* The limit is ``ClientSettings.max_concurrency``; when it is None, 5 for ModelsLab's
  own host (``modelslab.com`` and its subdomains) and no limit for any other base URL.
* A queue-limit 429 whose message names a maximum ("Maximum 5 queued requests
  allowed") lowers the limit to it.
* A queue-limit 429 does not fail the request: :meth:`AccountLimit.wait_after` tells the
  client how long to wait before it sends it again (the next attempt first waits for a
  free slot), without counting against ``max_retries``, until the overall deadline
  ``ClientSettings.queue_timeout`` has passed since the call began.

Waiting for a slot, across threads and event loops, is :mod:`aiologic`'s semaphore.
Across processes and machines, :mod:`modelslab_transport.limits.redis` offers the same
limit on Redis (used when ``$MODELSLAB_REDIS_URL`` is set, or after ``use_redis()``).
"""

from __future__ import annotations

import collections
import hashlib
import math
import os
import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import aiologic

from modelslab_transport.config.urls import is_modelslab
from modelslab_transport.errors import ModelsLabError, QueueTimeoutError, RateLimitError

if TYPE_CHECKING:
    from modelslab_transport.config.settings import ClientSettings

__all__ = [
    "MODELSLAB_DEFAULT_CONCURRENCY",
    "AccountLimit",
    "LimitBackend",
    "QueueTimeoutError",
    "Slot",
    "account_id",
    "account_limit",
    "call_deadline",
    "default_max_concurrency",
    "is_queue_limit",
    "queue_limit_named",
    "release_slot",
    "reset_account_limits",
    "set_limit_backend",
]

MODELSLAB_DEFAULT_CONCURRENCY = 5
"""Requests one account may have queued on ModelsLab's pay-as-you-go plan (the lowest)."""

RECENTLY_ENDED = 1.0
"""Seconds after its reply during which a request may still hold its place in the
server's queue (a server may free the place only once the reply is written); also
the longest a slot is kept back after its request ended (see
:meth:`AccountLimit.wait_after`)."""
LATE_FREE_DECAY = 0.9
"""What :attr:`AccountLimit.late_free` is multiplied by each time a slot is kept back."""
LATE_FREE_MIN = 0.001
"""Below this many seconds :attr:`AccountLimit.late_free` is 0: slots go back at once."""

_QUEUE_LIMIT = re.compile(r"queued requests", re.IGNORECASE)
_NAMED_MAXIMUM = re.compile(r"maximum\s+(?:of\s+)?(\d+)\s+queued", re.IGNORECASE)
_SLOT_KEY = "modelslab_transport.slot"


def is_queue_limit(error: ModelsLabError) -> bool:
    """Whether ``error`` is ModelsLab's queue-limit 429 ("... queued requests allowed")."""
    return isinstance(error, RateLimitError) and bool(_QUEUE_LIMIT.search(error.message))


def queue_limit_named(error: ModelsLabError) -> int | None:
    """The maximum a queue-limit 429 names ("Maximum 5 queued requests allowed" -> 5)."""
    if not is_queue_limit(error):
        return None
    found = _NAMED_MAXIMUM.search(error.message)
    named = int(found.group(1)) if found else 0
    return named if named > 0 else None


def default_max_concurrency(base_url: str) -> int | None:
    """The limit used when ``max_concurrency`` is None: 5 on ModelsLab, none elsewhere."""
    return MODELSLAB_DEFAULT_CONCURRENCY if is_modelslab(base_url) else None


def account_id(settings: ClientSettings) -> str:
    """``base_url`` plus the first 16 hex digits of the key's SHA-256 (never the key)."""
    key = settings.api_key.get_secret_value() if settings.api_key is not None else ""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return f"{settings.base_url}#{digest}"


class Slot:
    """One request's place in its account's limit; :meth:`release` it once done.

    Releasing twice is harmless. A slot handed to a stream is released when the
    stream ends, is closed, or its response is garbage-collected.
    """

    __slots__ = ("__weakref__", "_release", "ended_before", "granted", "in_flight")

    def __init__(
        self,
        release: Callable[[], None] | None,
        in_flight: int = 0,
        granted: int | None = None,
        ended_before: int = 0,
    ) -> None:
        self._release = release
        self.in_flight = in_flight
        """Requests of the account in flight in this process when the slot was granted
        (this one included)."""
        self.granted = granted
        """How many slots the account had granted in this process, this one included
        (None: not counted); slots granted later were sent while this request was."""
        self.ended_before = ended_before
        """Requests of the account that ended in this process less than
        :data:`RECENTLY_ENDED` seconds before the slot was granted: the server may still
        count them when this request reaches it."""

    def release(self) -> None:
        """Give the place back (idempotent)."""
        release, self._release = self._release, None
        if release is not None:
            release()

    @property
    def held(self) -> bool:
        """Whether the slot has not been released yet."""
        return self._release is not None

    def attach_to(self, response: Any) -> None:
        """Release this slot with ``response`` (for streamed replies).

        That is when :func:`release_slot` is called for it, or when it is
        garbage-collected, whichever comes first.
        """
        import weakref

        response.extensions[_SLOT_KEY] = weakref.finalize(response, self.release)


def release_slot(response: Any) -> None:
    """Release the slot a streamed ``response`` holds, if any (idempotent)."""
    finalizer = response.extensions.pop(_SLOT_KEY, None)
    if finalizer is not None:
        finalizer()


class LimitBackend(Protocol):
    """Builds the limit of an account (the in-process one, or Redis's)."""

    def __call__(self, account: str, limit: int | None) -> AccountLimit:
        """The limit for ``account`` (:func:`account_id`), ``limit`` slots or None."""
        ...


def call_deadline(settings: ClientSettings) -> float:
    """When a call starting now must stop waiting (``time.monotonic()``; inf: never)."""
    timeout = settings.queue_timeout
    return math.inf if timeout is None else time.monotonic() + timeout


def _wait_arguments(deadline: float) -> dict[str, Any]:
    """How long an ``aiologic`` acquire may wait for ``deadline`` (``time.monotonic()``).

    No time left: try once without waiting; an infinite deadline: no timeout.
    """
    remaining = deadline - time.monotonic()
    if remaining > 0:
        return {"timeout": None if math.isinf(remaining) else remaining}
    return {"blocking": False}


class AccountLimit:
    """How many requests of one account may be in flight at once, in this process.

    Shared by every thread and event loop: waiting is an :class:`aiologic.Semaphore`,
    which wakes both threads and tasks of any loop. ``limit`` None means no limit
    (only the requests in flight are counted, so a limit learnt later counts them).

    Args:
        account: What the limit belongs to (:func:`account_id`), for messages.
        limit: Requests allowed in flight at once, or None for no limit.
    """

    def __init__(self, account: str, limit: int | None) -> None:
        self.account = account
        """Base URL and key digest of the account (:func:`account_id`)."""
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._semaphore: Any = None
        self._debt = 0  # releases to swallow after a limit was lowered below the in-flight count
        self._in_flight = 0
        self._grants = 0  # slots granted so far (see Slot.granted)
        self._ended: collections.deque[float] = collections.deque(maxlen=64)  # when slots ended
        self.late_free = 0.0
        """Seconds a slot is kept back after its request ended, before another request
        may take it: learnt from refusals for places the server had not freed yet."""
        self.explicit = False
        """Whether the limit was set by a caller (``max_concurrency``), not by default."""
        self.learnt: int | None = None
        """The maximum a queue-limit 429 named, once one did."""
        self.set_limit(limit)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(limit={self._limit}, in_flight={self._in_flight})"

    @property
    def limit(self) -> int | None:
        """Requests allowed in flight at once (None: no limit)."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """Requests of this account holding a slot now (in this process)."""
        return self._in_flight

    def set_limit(self, limit: int | None) -> None:
        """Change the limit; requests in flight above a lowered limit finish first."""
        if limit is not None and limit < 1:
            raise ValueError(f"max_concurrency must be at least 1 (or None), got {limit!r}")
        with self._lock:
            old = self._limit
            if limit == old:
                return
            if limit is None:  # no limit: wake every waiter, forget the semaphore
                semaphore, self._semaphore, self._debt = self._semaphore, None, 0
                self._limit = None
                if semaphore is not None and semaphore.waiting:
                    semaphore.release(semaphore.waiting)
                return
            if old is None or self._semaphore is None:
                free = max(limit - self._in_flight, 0)
                self._semaphore = aiologic.Semaphore(free)
                self._debt = max(self._in_flight - limit, 0)
            elif limit > old:
                raise_by = limit - old
                repaid = min(self._debt, raise_by)
                self._debt -= repaid
                if raise_by > repaid:
                    self._semaphore.release(raise_by - repaid)
            else:
                for _ in range(old - limit):
                    if not self._semaphore.green_acquire(blocking=False):
                        self._debt += 1
            self._limit = limit

    def lower_to(self, named: int) -> bool:
        """Lower the limit to a maximum a queue-limit 429 named; True if it went down."""
        with self._lock:
            self.learnt = named if self.learnt is None else min(self.learnt, named)
            current = self._limit
        if current is not None and current <= named:
            return False
        self.set_limit(named)
        return True

    def _take(self) -> Slot | None:
        """Count a new request in flight if the limit is off (None: go and wait)."""
        with self._lock:
            if self._semaphore is None:
                return self._new_slot()
            return None

    def _granted(self) -> Slot:
        with self._lock:
            return self._new_slot()

    def _new_slot(self) -> Slot:
        """Count a new request in flight (with the lock held)."""
        self._in_flight += 1
        self._grants += 1
        since, recent = time.monotonic() - RECENTLY_ENDED, 0
        for ended in reversed(self._ended):
            if ended < since:
                break
            recent += 1
        return Slot(self._give_back, self._in_flight, self._grants, recent)

    def sent_with(self, slot: Slot) -> int:
        """The most requests of this process that may have been in flight with ``slot``'s.

        Those in flight when it was granted (itself included), and every one granted
        since, which may have reached the server first.
        """
        with self._lock:
            later = self._grants - slot.granted if slot.granted is not None else 0
        return slot.in_flight + max(later, 0)

    def _give_back(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._ended.append(time.monotonic())
            if self._semaphore is None:
                return
            if self._debt:
                self._debt -= 1
                return
            semaphore, late = self._semaphore, self.late_free
            decayed = self.late_free * LATE_FREE_DECAY  # a later refusal raises it again
            self.late_free = decayed if decayed >= LATE_FREE_MIN else 0.0
        if late:  # the server frees the place late: keep it from the next request till then
            timer = threading.Timer(late, self._release_kept, (semaphore,))
            timer.daemon = True
            timer.start()
        else:
            semaphore.release()

    def _release_kept(self, semaphore: Any) -> None:
        """Release a slot kept back after its request ended (see :meth:`_give_back`)."""
        with self._lock:
            if semaphore is not self._semaphore:
                return  # the limit changed since: that permit belongs to no semaphore in use
            if self._debt:
                self._debt -= 1
                return
        semaphore.release()

    def _timed_out(self) -> QueueTimeoutError:
        return QueueTimeoutError(
            f"no slot of this account's {self._limit} came free before the call's deadline "
            "(ModelsLab's queue limit): raise queue_timeout or max_concurrency, or send "
            "fewer requests at once"
        )

    def _waited(self, semaphore: Any, got: bool) -> Slot | None:
        """The slot a wait on ``semaphore`` ended with, or None to wait again.

        None when the limit was lifted (or changed) while we waited: the permit belongs
        to no semaphore in use any more.

        Raises:
            QueueTimeoutError: the wait ran out of time (``got`` is false).
        """
        if not got:
            raise self._timed_out()
        return self._granted() if semaphore is self._semaphore else None

    def acquire(self, deadline: float) -> Slot:
        """Wait (this thread) for a slot until ``deadline`` (``time.monotonic()``).

        Raises:
            QueueTimeoutError: no slot came free in time.
        """
        while True:
            slot = self._take()
            semaphore = self._semaphore
            if slot is None and semaphore is not None:
                got = semaphore.green_acquire(**_wait_arguments(deadline))
                slot = self._waited(semaphore, got)
            if slot is not None:
                return slot

    async def aacquire(self, deadline: float) -> Slot:
        """Wait (this task) for a slot until ``deadline`` (see :meth:`acquire`)."""
        while True:
            slot = self._take()
            semaphore = self._semaphore
            if slot is None and semaphore is not None:
                got = await semaphore.async_acquire(**_wait_arguments(deadline))
                slot = self._waited(semaphore, got)
            if slot is not None:
                return slot

    def wait_after(self, error: ModelsLabError, slot: Slot, deadline: float) -> float | None:
        """Seconds to wait before resending after ``error``; None if it is no queue-limit 429.

        A 429 naming a maximum lowers the limit to it. When this process's own requests
        could have filled that maximum (those in flight when the refused one was sent,
        itself included, and all sent after it, which may have reached the server first:
        :meth:`sent_with`; or those in flight when its refusal came back, ``slot``
        already released), the refusal is explained by our own excess, and the resend
        only waits for a free slot (0 here). So does one explained only with the requests
        that had ended shortly before it was sent (:attr:`Slot.ended_before`): the server
        had not freed their places yet. From then on a slot whose request ends is kept
        back for :attr:`late_free` seconds (twice the longest such delay seen, at most
        :data:`RECENTLY_ENDED`, and a little less after each slot kept back) before
        another request may take it, so that none is sent into a place still taken.
        Otherwise other clients of the account fill its queue, and the server's
        ``retry_after`` is honoured.

        Raises:
            RateLimitError: ``error`` itself, when waiting would pass ``deadline``
                (a ``time.monotonic()`` value).
        """
        if not is_queue_limit(error):
            return None
        ended = self._refused(slot)
        retry_after = getattr(error, "retry_after", None)
        wait = float(retry_after) if retry_after is not None else 1.0
        named = queue_limit_named(error)
        if named is not None:
            self.lower_to(named)
            own = max(self.sent_with(slot), self.in_flight + 1)
            if own > named:
                return 0.0
            if own + slot.ended_before > named:
                if ended is not None:
                    taken = time.monotonic() - ended  # a place was still taken this long
                    with self._lock:
                        self.late_free = min(max(self.late_free, 2 * taken), RECENTLY_ENDED)
                return 0.0
        if time.monotonic() + wait > deadline:
            raise error
        return wait

    def _refused(self, slot: Slot) -> float | None:
        """Forget the end of ``slot``'s request (refused, it held no place on the server).

        Returns when the latest request that did hold one ended (None: none recorded).
        """
        with self._lock:
            if self._ended and not slot.held:
                self._ended.pop()
            return self._ended[-1] if self._ended else None


_REGISTRY: dict[str, AccountLimit] = {}
_REGISTRY_LOCK = threading.Lock()
_BACKEND: list[LimitBackend] = []


def set_limit_backend(backend: LimitBackend | None) -> None:
    """Build account limits with ``backend`` from now on (None: the in-process one).

    Limits already built are forgotten; see :func:`modelslab_transport.limits.redis.use_redis`.
    """
    with _REGISTRY_LOCK:
        _BACKEND[:] = [backend] if backend is not None else []
        _REGISTRY.clear()


def has_limit_backend() -> bool:
    """Whether a backend other than the in-process one is installed."""
    return bool(_BACKEND)


def _after_fork_in_child() -> None:
    # The parent's requests in flight hold its slots, not the child's; its lock may be
    # held by one of its threads, which the child does not have.
    global _REGISTRY_LOCK
    _REGISTRY_LOCK = threading.Lock()
    _REGISTRY.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


def reset_account_limits() -> None:
    """Forget every account's limit (what was learnt from 429s included)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()


def account_limit(settings: ClientSettings) -> AccountLimit:
    """The one limit of the account ``settings`` name, shared by the whole process.

    An explicit ``max_concurrency`` replaces a default limit; two explicit values for
    one account keep the lower one; a maximum learnt from a 429 is never raised again.
    """
    account = account_id(settings)
    explicit = settings.max_concurrency
    found = _REGISTRY.get(account)
    if found is not None and (explicit is None or found.explicit):
        if explicit is not None and found.limit is not None and explicit < found.limit:
            found.set_limit(explicit)
        return found
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(account)
        if found is None:
            limit = explicit if explicit is not None else default_max_concurrency(settings.base_url)
            build = _BACKEND[0] if _BACKEND else AccountLimit
            found = _REGISTRY[account] = build(account, limit)
            found.explicit = explicit is not None
        elif explicit is not None and not found.explicit:
            found.explicit = True
            learnt = found.learnt
            found.set_limit(explicit if learnt is None else min(explicit, learnt))
    return found
