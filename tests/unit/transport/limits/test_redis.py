"""The account limit shared through Redis: slots shared between limits of one account, a
learnt maximum shared too, the errors for a full limit and an unreachable Redis, and the
entry points. The multi-process suites are in ``tests/queue_limit``."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelslab_transport.errors import QueueTimeoutError
from modelslab_transport.limits.queue import has_limit_backend
from tests.support.loopback import refused_base_url
from tests.support.redis_server import REDIS_SERVER, RedisServer

redis = pytest.importorskip("redis", reason="redis-py is not installed (the [redis] extra)")

from modelslab_transport.limits.redis import (  # noqa: E402  (needs redis-py)
    DEFAULT_PREFIX,
    RedisAccountLimit,
    RedisLimitBackend,
    redis_client,
    use_redis,
    use_redis_from_env,
)

needs_server = pytest.mark.skipif(REDIS_SERVER is None, reason="no redis-server binary")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("no redis-server binary")
    running = RedisServer(Path(tmp_path_factory.mktemp("redis")))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(server: RedisServer) -> Iterator[object]:
    made = redis_client(server.url)
    made.flushdb()
    yield made
    # Slots are given back by a background thread: wait for it before the next test.
    for _ in range(300):
        if not made.keys(f"{DEFAULT_PREFIX}:*:slot:*"):
            break
        time.sleep(0.01)


def _soon(seconds: float = 0.3) -> float:
    return time.monotonic() + seconds


def test_ttl_and_poll_interval_must_be_positive() -> None:
    made = redis_client("redis://127.0.0.1:1/0")  # never connected to
    with pytest.raises(ValueError, match="slot_ttl and poll_interval must be positive seconds"):
        RedisAccountLimit("a", 2, client=made, slot_ttl=0)
    with pytest.raises(ValueError, match="must be positive"):
        RedisAccountLimit("a", 2, client=made, poll_interval=-1)


def test_a_url_that_is_not_a_redis_url_names_the_setting() -> None:
    with pytest.raises(ValueError, match="must be a Redis URL") as caught:
        redis_client("http://127.0.0.1:6379")
    assert str(caught.value).startswith(
        "MODELSLAB_REDIS_URL (or use_redis's url) must be a Redis URL such as "
        "redis://host:6379/0 (rediss:// for TLS, unix:// for a socket); got one with scheme "
        "'http'"
    )


def test_use_redis_needs_a_url_or_a_client() -> None:
    with pytest.raises(ValueError, match="use_redis needs a Redis url"):
        use_redis()


def test_use_redis_from_env_installs_a_backend_only_when_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("MODELSLAB_REDIS_URL", raising=False)
    use_redis_from_env()
    assert not has_limit_backend()
    monkeypatch.setenv("MODELSLAB_REDIS_URL", "redis://127.0.0.1:1/0")
    use_redis_from_env()
    assert has_limit_backend()


def test_the_backend_builds_limits_with_its_settings() -> None:
    made = redis_client("redis://127.0.0.1:1/0")
    backend = RedisLimitBackend(made, slot_ttl=9, prefix="p", poll_interval=0.5)
    limit = backend("acct", 3)
    assert isinstance(limit, RedisAccountLimit)
    assert limit.limit == 3


def test_without_a_limit_redis_is_not_asked() -> None:
    with refused_base_url() as refused:
        made = redis_client("redis" + refused.removeprefix("http") + "/0")
        slot = RedisAccountLimit("acct", None, client=made).acquire(_soon())
    assert slot.held
    slot.release()


def test_an_unreachable_redis_is_named_without_its_password() -> None:
    with refused_base_url() as refused:
        port = refused.rsplit(":", 1)[1]
        made = redis_client(f"redis://:hunter2-pw@127.0.0.1:{port}/0")
        limit = RedisAccountLimit("acct", 2, client=made, poll_interval=0.01)
        with pytest.raises(QueueTimeoutError) as caught:
            limit.acquire(_soon(0.5))
    text = str(caught.value)
    assert text.startswith(f"the queue limit's Redis (redis://127.0.0.1:{port}/0, set by")
    assert "did not answer before the call's deadline (queue_timeout)" in text
    assert "hunter2" not in text
    assert limit.in_flight == 0  # the local slot was given back


@needs_server
def test_limits_of_one_account_share_their_slots(client: object) -> None:
    first = RedisAccountLimit("acct", 2, client=client, poll_interval=0.01)  # type: ignore[arg-type]
    second = RedisAccountLimit("acct", 2, client=client, poll_interval=0.01)  # type: ignore[arg-type]
    held = [first.acquire(_soon()), first.acquire(_soon())]
    with pytest.raises(QueueTimeoutError) as caught:
        second.acquire(_soon(0.2))
    assert str(caught.value).startswith("no slot of this account's 2 (shared through the queue")
    held[0].release()
    deadline = _soon(5)
    taken = second.acquire(deadline)
    assert taken.held
    taken.release()
    held[1].release()


@needs_server
def test_another_account_has_its_own_slots(client: object) -> None:
    first = RedisAccountLimit("acct-a", 1, client=client, poll_interval=0.01)  # type: ignore[arg-type]
    other = RedisAccountLimit("acct-b", 1, client=client, poll_interval=0.01)  # type: ignore[arg-type]
    held = first.acquire(_soon())
    taken = other.acquire(_soon())
    digest = hashlib.sha256(b"acct-a").hexdigest()[:16]
    keys = {key.decode() for key in client.keys(f"{DEFAULT_PREFIX}:*")}  # type: ignore[attr-defined]
    assert f"{DEFAULT_PREFIX}:{digest}:slot:0" in keys
    assert len(keys) == 2
    held.release()
    taken.release()


@needs_server
def test_a_learnt_maximum_is_shared_through_redis(client: object) -> None:
    first = RedisAccountLimit("acct", 4, client=client)  # type: ignore[arg-type]
    assert first.lower_to(2)
    digest = hashlib.sha256(b"acct").hexdigest()[:16]
    key = f"{DEFAULT_PREFIX}:{digest}:limit"
    for _ in range(200):  # recorded in the background
        if client.get(key) is not None:  # type: ignore[attr-defined]
            break
        time.sleep(0.01)
    assert client.get(key) == b"2"  # type: ignore[attr-defined]
    assert client.ttl(key) > 0  # type: ignore[attr-defined]
    second = RedisAccountLimit("acct", 4, client=client)  # type: ignore[arg-type]
    assert second._slots() == 2


@needs_server
def test_async_acquire_takes_and_gives_back_a_slot(client: object) -> None:
    limit = RedisAccountLimit("acct", 1, client=client, poll_interval=0.01)  # type: ignore[arg-type]

    async def run() -> None:
        slot = await limit.aacquire(_soon())
        with pytest.raises(QueueTimeoutError):
            await limit.aacquire(_soon(0.1))
        slot.release()
        again = await limit.aacquire(_soon(5))
        again.release()

    asyncio.run(run())
