"""Redis tries waited for only until the call's deadline (limits.redis_tries)."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest

from modelslab_transport.limits.redis_tries import atry_until, redis_address, try_until

redis = pytest.importorskip("redis", reason="redis-py is not installed (the [redis] extra)")


def _slow(release: threading.Event, result: str = "slot") -> object:
    def attempt() -> str:
        release.wait(10)
        return result

    return attempt


def test_a_try_past_the_deadline_hands_its_late_result_over() -> None:
    release, late, handed = threading.Event(), [], threading.Event()

    def take(result: str) -> None:
        late.append(result)
        handed.set()

    result, error, finished = try_until(_slow(release), time.monotonic() + 0.05, take)  # type: ignore[arg-type]
    assert (result, error, finished) == (None, None, False)
    release.set()
    assert handed.wait(10)
    assert late == ["slot"]


def test_a_redis_failure_is_returned_and_any_other_error_raised() -> None:
    def refused() -> None:
        raise redis.ConnectionError("Error 111 connecting")

    result, error, finished = try_until(refused, math.inf, lambda _: None)
    assert result is None
    assert finished
    assert isinstance(error, redis.ConnectionError)

    def broken() -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        try_until(broken, math.inf, lambda _: None)


def test_the_async_try_stops_at_the_deadline_too() -> None:
    release = threading.Event()

    async def run() -> tuple[object, object, bool]:
        return await atry_until(_slow(release), time.monotonic() + 0.05, lambda _: None)  # type: ignore[arg-type]

    try:
        assert asyncio.run(run()) == (None, None, False)
    finally:
        release.set()
    ok = asyncio.run(atry_until(lambda: "slot", math.inf, lambda _: None))
    assert ok == ("slot", None, True)


def test_the_address_never_shows_a_password() -> None:
    client = redis.Redis.from_url("redis://user:s3cret-pw@10.0.0.7:6380/2")
    assert redis_address(client) == "redis://10.0.0.7:6380/2"
    assert redis_address(object()) == "Redis"
