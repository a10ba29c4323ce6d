"""ModelsLab's per-account queue limit shared by many processes and machines, on Redis.

Install the extra (``pip install "modelslab-llm[redis]"``), then either call
:func:`use_redis` once per process (a Celery/RQ worker's start-up hook) or set
``$MODELSLAB_REDIS_URL``: every client of an account in every such process then draws
from one limit of ``max_concurrency`` slots (5 by default on ModelsLab's host).

A slot is a lock of redis-py (:class:`redis.lock.Lock`: ``SET NX PX`` with a random
token, released and extended by redis-py's own Lua scripts); the limit is slots
``0 .. limit-1`` of the account, and a request holds any one of them. Each lock expires
``slot_ttl`` seconds after it was last extended, and a background thread extends the
locks this process holds every ``slot_ttl / 3`` seconds, so a worker killed while it
holds a slot gives it back after at most ``slot_ttl`` seconds. A maximum learnt from a
queue-limit 429 is written to Redis, and every process then uses that many slots.

Within a process, requests first wait for a local slot (:class:`AccountLimit`), so at
most ``limit`` tasks per process poll Redis for a free slot (every ``poll_interval``
seconds, jittered).

Why redis-py's lock and not a semaphore package: ``redis-limiters``' semaphore returns
a slot only when its holder releases it, so a slot of a killed worker stays lost for as
long as the semaphore keeps being used (each use renews the key's expiry), and the key's
expiry while slots are held recreates a full set of tokens; ``pottery`` offers no
semaphore; ``portalocker``'s Redis lock is sync only with one thread per held lock.
redis-py is Redis's own maintained client, and its lock already expires and extends
atomically.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import queue
import random
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from modelslab_transport.config.options import redis_url_from_env
from modelslab_transport.limits.queue import (
    AccountLimit,
    Slot,
    has_limit_backend,
    set_limit_backend,
)

if TYPE_CHECKING:
    from redis import Redis
    from redis.lock import Lock

__all__ = [
    "REDIS_URL_ENV",
    "RedisAccountLimit",
    "RedisLimitBackend",
    "use_redis",
    "use_redis_from_env",
]

from modelslab_transport.config.defaults import REDIS_URL_ENV

logger = logging.getLogger("modelslab_transport")

DEFAULT_SLOT_TTL = 60.0
"""Seconds a slot of a dead process stays taken before Redis frees it."""
DEFAULT_POLL_INTERVAL = 0.02
"""Seconds between two tries for a free Redis slot (jittered by up to 50 %)."""
DEFAULT_PREFIX = "modelslab-llm:queue"
"""Prefix of every Redis key this module writes."""
_LEARNT_CACHE = 1.0  # seconds a limit read from Redis is trusted


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the Redis queue limit needs redis-py: pip install 'modelslab-llm[redis]'"
        ) from exc
    return redis


class RedisAccountLimit(AccountLimit):
    """The limit of one account, shared through Redis (see the module docstring).

    Args:
        account: :func:`~modelslab_transport.limits.queue.account_id` of the account.
        limit: Slots in all processes together; None: no limit (Redis is not used).
        client: A sync ``redis.Redis`` client (its connection pool is thread-safe).
        slot_ttl: Seconds a slot survives its holder's death.
        prefix: Prefix of the Redis keys.
        poll_interval: Seconds between two tries for a free slot.
    """

    def __init__(
        self,
        account: str,
        limit: int | None,
        *,
        client: Redis,
        slot_ttl: float = DEFAULT_SLOT_TTL,
        prefix: str = DEFAULT_PREFIX,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        if slot_ttl <= 0 or poll_interval <= 0:
            raise ValueError("slot_ttl and poll_interval must be positive seconds")
        self._redis = client
        self._ttl = slot_ttl
        self._poll = poll_interval
        digest = hashlib.sha256(account.encode()).hexdigest()[:16]
        self._base = f"{prefix}:{digest}"
        self._held: set[Lock] = set()
        self._held_lock = threading.Lock()
        self._releases: queue.SimpleQueue[Lock | None] = queue.SimpleQueue()
        self._keeper: threading.Thread | None = None
        self._learnt_at = -_LEARNT_CACHE
        self._shared_learnt: int | None = None
        super().__init__(account, limit)

    # -- what Redis holds ----------------------------------------------------------

    def _slots(self) -> int:
        """Slots usable now: the limit, lowered by a maximum any process learnt."""
        limit = self.limit or 1
        now = time.monotonic()
        if now - self._learnt_at >= _LEARNT_CACHE:
            raw = self._redis.get(f"{self._base}:limit")
            self._shared_learnt = int(raw) if raw else None
            self._learnt_at = now
        learnt = self._shared_learnt
        return min(limit, learnt) if learnt else limit

    def _try_slot(self) -> Lock | None:
        """Take a free Redis slot, or None if all are taken."""
        slots = self._slots()
        for index in random.sample(range(slots), slots):
            lock: Lock = self._redis.lock(
                f"{self._base}:slot:{index}",
                timeout=self._ttl,
                blocking=False,
                thread_local=False,
            )
            if lock.acquire(blocking=False, token=uuid.uuid4().hex):
                with self._held_lock:
                    self._held.add(lock)
                self._start_keeper()
                return lock
        return None

    def lower_to(self, named: int) -> bool:
        """Lower the limit here and, for every process, in Redis."""
        lowered = super().lower_to(named)
        key = f"{self._base}:limit"
        raw = self._redis.get(key)
        if not raw or int(raw) > named:
            self._redis.set(key, named, ex=86_400)
        self._shared_learnt, self._learnt_at = named, time.monotonic()
        return lowered

    # -- the keeper thread: releases and extensions ----------------------------------

    def _start_keeper(self) -> None:
        if self._keeper is not None and self._keeper.is_alive():
            return
        with self._held_lock:
            if self._keeper is None or not self._keeper.is_alive():
                self._keeper = threading.Thread(
                    target=self._keep, name="modelslab-redis-slots", daemon=True
                )
                self._keeper.start()

    def _keep(self) -> None:
        """Release what is handed over at once; extend held slots every ttl/3."""
        from redis.exceptions import LockError, RedisError

        next_extension = time.monotonic() + self._ttl / 3
        while True:
            try:
                lock = self._releases.get(timeout=max(next_extension - time.monotonic(), 0.0))
            except queue.Empty:
                lock = None
            if lock is not None:
                with self._held_lock:
                    self._held.discard(lock)
                try:
                    lock.release()
                except (LockError, RedisError) as exc:
                    logger.warning("a Redis queue slot could not be released: %s", exc)
                continue
            if time.monotonic() >= next_extension:
                next_extension = time.monotonic() + self._ttl / 3
                with self._held_lock:
                    held = list(self._held)
                for lock in held:
                    try:
                        lock.reacquire()
                    except (LockError, RedisError) as exc:
                        logger.warning("a Redis queue slot could not be extended: %s", exc)

    def _hand_back(self, lock: Lock, local: Slot) -> None:
        self._releases.put(lock)  # never blocks: safe in finalizers and event loops
        local.release()

    # -- acquiring -------------------------------------------------------------------

    def acquire(self, deadline: float) -> Slot:
        """Wait (this thread) for a local slot, then for a Redis slot, until ``deadline``."""
        local = super().acquire(deadline)
        if self.limit is None:
            return local
        try:
            while True:
                lock = self._try_slot()
                if lock is not None:
                    return Slot(functools.partial(self._hand_back, lock, local), local.in_flight)
                if time.monotonic() >= deadline:
                    raise self._timed_out()
                time.sleep(self._poll * (0.5 + random.random()))
        except BaseException:
            local.release()
            raise

    async def aacquire(self, deadline: float) -> Slot:
        """Wait (this task) for a local slot, then for a Redis slot, until ``deadline``."""
        local = await super().aacquire(deadline)
        if self.limit is None:
            return local
        try:
            while True:
                lock = await anyio.to_thread.run_sync(self._try_slot)
                if lock is not None:
                    return Slot(functools.partial(self._hand_back, lock, local), local.in_flight)
                if time.monotonic() >= deadline:
                    raise self._timed_out()
                await anyio.sleep(self._poll * (0.5 + random.random()))
        except BaseException:
            local.release()
            raise


class RedisLimitBackend:
    """Builds :class:`RedisAccountLimit` s on one Redis (see :func:`use_redis`)."""

    def __init__(
        self,
        client: Redis,
        *,
        slot_ttl: float = DEFAULT_SLOT_TTL,
        prefix: str = DEFAULT_PREFIX,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        self.client = client
        self.slot_ttl = slot_ttl
        self.prefix = prefix
        self.poll_interval = poll_interval

    def __call__(self, account: str, limit: int | None) -> AccountLimit:
        """The Redis-backed limit of ``account``."""
        return RedisAccountLimit(
            account,
            limit,
            client=self.client,
            slot_ttl=self.slot_ttl,
            prefix=self.prefix,
            poll_interval=self.poll_interval,
        )


def use_redis(
    url: str | None = None,
    *,
    client: Redis | None = None,
    slot_ttl: float = DEFAULT_SLOT_TTL,
    prefix: str = DEFAULT_PREFIX,
    poll_interval: float = DEFAULT_POLL_INTERVAL,
) -> None:
    """Share every account's limit in this process through Redis from now on.

    Args:
        url: A Redis URL (``redis://host:6379/0``), unless ``client`` is given.
        client: A sync ``redis.Redis`` client to use instead of ``url``.
        slot_ttl: Seconds a slot held by a killed process stays taken (default 60).
        prefix: Prefix of the Redis keys (one per deployment sharing a Redis).
        poll_interval: Seconds between two tries for a free slot (default 0.02).

    Raises:
        ImportError: redis-py is not installed (``pip install "modelslab-llm[redis]"``).
        ValueError: neither ``url`` nor ``client`` was given.
    """
    if client is None:
        if not url:
            raise ValueError("use_redis needs a Redis url (or a redis.Redis client)")
        client = _import_redis().Redis.from_url(url)
    assert client is not None
    set_limit_backend(
        RedisLimitBackend(client, slot_ttl=slot_ttl, prefix=prefix, poll_interval=poll_interval)
    )


def use_redis_from_env() -> None:
    """Share the limits through ``$MODELSLAB_REDIS_URL`` when it is set and nothing else is.

    Called before a call takes its slot, so that setting the variable is all a deployment
    needs; a backend installed in code (:func:`use_redis`) takes precedence.
    """
    if not has_limit_backend():
        redis_url = redis_url_from_env()
        if redis_url is not None:
            use_redis(redis_url)
