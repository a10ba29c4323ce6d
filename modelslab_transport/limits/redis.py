"""ModelsLab's per-account queue limit shared by many processes and machines, on Redis.

Install the extra (``pip install "modelslab-llm[redis]"``), then call :func:`use_redis`
once per process or set ``$MODELSLAB_REDIS_URL``: every client of an account then draws
from one limit of ``max_concurrency`` slots.

A slot is a redis-py :class:`redis.lock.Lock`, extended by a background thread, so a
killed worker's slot frees after at most ``slot_ttl`` seconds. While Redis is unreachable
a waiting call keeps trying until its ``queue_timeout``, then raises
:class:`~modelslab_transport.errors.QueueTimeoutError` naming Redis's address.
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

from modelslab_transport.config.connection import redis_url_from_env
from modelslab_transport.config.defaults import REDIS_URL_ENV
from modelslab_transport.errors import QueueTimeoutError
from modelslab_transport.limits.queue import (
    AccountLimit,
    Slot,
    has_limit_backend,
    set_limit_backend,
)
from modelslab_transport.limits.redis_tries import (
    WORKERS,
    atry_until,
    redis_address,
    redis_failures,
    try_until,
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


logger = logging.getLogger("modelslab_transport")

DEFAULT_SLOT_TTL = 60.0
"""Seconds a slot of a dead process stays taken before Redis frees it."""
DEFAULT_POLL_INTERVAL = 0.02
"""Seconds between two tries for a free Redis slot (jittered by up to 50 %)."""
DEFAULT_PREFIX = "modelslab-llm:queue"
"""Prefix of every Redis key this module writes."""
DEFAULT_SOCKET_TIMEOUT = 5.0
"""Seconds a Redis command (or connect) of a client built from a URL may take."""
_LEARNT_CACHE = 1.0  # seconds a limit read from Redis is trusted
_RETRY_BACKOFF_MAX = 0.25  # the longest pause between two tries while Redis is down


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
        """Lower the limit here and, for every process, in Redis (in the background)."""
        lowered = super().lower_to(named)
        self._shared_learnt, self._learnt_at = named, time.monotonic()
        WORKERS.submit(functools.partial(self._record_learnt, named))
        return lowered

    def _record_learnt(self, named: int) -> None:
        key = f"{self._base}:limit"
        try:
            raw = self._redis.get(key)
            if not raw or int(raw) > named:
                self._redis.set(key, named, ex=86_400)
        except redis_failures() as exc:
            logger.warning(
                "the queue limit's Redis (%s) could not record a learnt maximum of %d: %s",
                redis_address(self._redis),
                named,
                exc,
            )

    def _unreachable(self, error: BaseException | None) -> QueueTimeoutError:
        why = f"{type(error).__name__}: {error}" if error is not None else "no answer"
        return QueueTimeoutError(
            f"the queue limit's Redis ({redis_address(self._redis)}, set by "
            f"MODELSLAB_REDIS_URL or use_redis()) did not answer before the call's deadline "
            f"(queue_timeout) ({why}): start or unfreeze Redis, fix MODELSLAB_REDIS_URL (unset "
            "it to use the in-process limit), or raise queue_timeout"
        )

    def _timed_out(self) -> QueueTimeoutError:
        return QueueTimeoutError(
            f"no slot of this account's {self.limit} (shared through the queue limit's Redis "
            f"at {redis_address(self._redis)}, set by MODELSLAB_REDIS_URL or use_redis()) "
            "came free before the call's deadline (ModelsLab's queue limit): raise "
            "queue_timeout or max_concurrency, or send fewer requests at once (slots of a "
            "stopped process, or restored from Redis's dump, free up after slot_ttl)"
        )

    def _give_back_late(self, lock: Lock) -> None:
        """A slot a try took after its call gave up: release it."""
        self._releases.put(lock)

    def _gave_up(self, error: BaseException | None, answered: bool) -> QueueTimeoutError:
        """The error of a call whose deadline passed: a full limit if Redis ``answered``."""
        return self._timed_out() if answered else self._unreachable(error)

    def _pause(self, failures: int) -> float:
        """Seconds before the next try: the poll interval, longer while Redis fails."""
        base = self._poll if not failures else min(self._poll * 2**failures, _RETRY_BACKOFF_MAX)
        return base * (0.5 + random.random())

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

    def acquire(self, deadline: float) -> Slot:
        """Wait (this thread) for a local slot, then for a Redis slot, until ``deadline``."""
        local = super().acquire(deadline)
        if self.limit is None:
            return local
        try:
            failures, error, answered = 0, None, False
            while True:
                lock, failed, finished = try_until(self._try_slot, deadline, self._give_back_late)
                if lock is not None:
                    return Slot(functools.partial(self._hand_back, lock, local), local.in_flight)
                failures = failures + 1 if failed is not None else 0
                error = failed or (error if not finished else None)
                answered = (finished and failed is None) or (not finished and answered)
                if not finished or time.monotonic() >= deadline:
                    raise self._gave_up(error, answered)
                time.sleep(min(self._pause(failures), max(deadline - time.monotonic(), 0.0)))
        except BaseException:
            local.release()
            raise

    async def aacquire(self, deadline: float) -> Slot:
        """Wait (this task) for a local slot, then for a Redis slot, until ``deadline``."""
        local = await super().aacquire(deadline)
        if self.limit is None:
            return local
        try:
            failures, error, answered = 0, None, False
            while True:
                lock, failed, finished = await atry_until(
                    self._try_slot, deadline, self._give_back_late
                )
                if lock is not None:
                    return Slot(functools.partial(self._hand_back, lock, local), local.in_flight)
                failures = failures + 1 if failed is not None else 0
                error = failed or (error if not finished else None)
                answered = (finished and failed is None) or (not finished and answered)
                if not finished or time.monotonic() >= deadline:
                    raise self._gave_up(error, answered)
                await anyio.sleep(min(self._pause(failures), max(deadline - time.monotonic(), 0.0)))
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


def redis_client(url: str) -> Redis:
    """A ``redis.Redis`` for ``url`` whose commands end after :data:`DEFAULT_SOCKET_TIMEOUT` s.

    redis-py does not retry them (the waiting call does).

    Raises:
        ImportError: redis-py is not installed.
        ValueError: ``url`` is not a Redis URL, naming ``MODELSLAB_REDIS_URL``.
    """
    redis = _import_redis()
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    try:
        return redis.Redis.from_url(  # type: ignore[no-any-return]
            url,
            socket_timeout=DEFAULT_SOCKET_TIMEOUT,
            socket_connect_timeout=DEFAULT_SOCKET_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
            retry_on_timeout=False,
        )
    except ValueError as exc:
        scheme = url.split("://", 1)[0] if "://" in url else ""
        raise ValueError(
            f"{REDIS_URL_ENV} (or use_redis's url) must be a Redis URL such as "
            f"redis://host:6379/0 (rediss:// for TLS, unix:// for a socket); got one "
            f"with scheme {scheme!r}: {exc}"
        ) from None


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
        slot_ttl: Seconds a slot held by a killed process stays taken.
        prefix: Prefix of the Redis keys (one per deployment sharing a Redis).
        poll_interval: Seconds between two tries for a free slot.

    Raises:
        ImportError: redis-py is not installed (``pip install "modelslab-llm[redis]"``).
        ValueError: neither ``url`` nor ``client`` was given.
    """
    if client is None:
        if not url:
            raise ValueError("use_redis needs a Redis url (or a redis.Redis client)")
        client = redis_client(url)
    assert client is not None
    set_limit_backend(
        RedisLimitBackend(client, slot_ttl=slot_ttl, prefix=prefix, poll_interval=poll_interval)
    )


def use_redis_from_env() -> None:
    """Share the limits through ``$MODELSLAB_REDIS_URL`` when set and no backend is installed."""
    if not has_limit_backend():
        redis_url = redis_url_from_env()
        if redis_url is not None:
            use_redis(redis_url)
