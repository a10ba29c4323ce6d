"""``close()`` / ``aclose()`` while calls are in flight: no call is stranded.

A call in flight when its model is closed finishes on its own connection, whatever it
is doing: waiting for a queue slot, connecting, sending its request, waiting for the
reply's head, or reading a stream. Its thread ends, and its connection is closed as it
ends (the pool it leased is retired by the close; see ``modelslab_transport.http.leases``).
Both classes, sync and async, against loopback servers; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from httpcore2._backends.auto import AutoBackend

from modelslab_transport import ModelsLabError
from modelslab_transport.http.timed_transport import _TimedBackend
from tests.faults.drivers import (
    ALL_DRIVERS,
    HARD_LIMIT,
    STREAM_DRIVERS,
    Driver,
    Outcome,
    bounded,
    make_model,
)
from tests.support.phase_server import HOLD_LIMIT, REPLY_TEXT, PhaseServer

PHASES = ("queue", "connecting", "sending", "headers", "mid-stream")
SENDING_PROMPT_CHARS = 8 * 1024 * 1024
"""A request body larger than the loopback socket buffers: its send blocks until read."""


@pytest.fixture
def held_connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[threading.Event, Any]]:
    """Hold every new connection (sync and async) before it connects, until released."""
    connecting, release = threading.Event(), threading.Event()
    sync_connect = _TimedBackend.connect_tcp
    auto_connect = AutoBackend.connect_tcp

    def held_sync(self: Any, *args: Any, **kwargs: Any) -> Any:
        connecting.set()
        release.wait(HOLD_LIMIT)
        return sync_connect(self, *args, **kwargs)

    async def held_async(self: Any, *args: Any, **kwargs: Any) -> Any:
        connecting.set()
        await asyncio.to_thread(release.wait, HOLD_LIMIT)
        return await auto_connect(self, *args, **kwargs)

    monkeypatch.setattr(_TimedBackend, "connect_tcp", held_sync)
    monkeypatch.setattr(AutoBackend, "connect_tcp", held_async)
    yield connecting, release
    release.set()


def _sync_call(driver: Driver, model: Any, prompt: str, outcome: Outcome) -> None:
    assert driver.sync_call is not None
    try:
        driver.sync_call(model, prompt, outcome, None)
    except Exception as exc:
        outcome.error = exc


async def _async_call(driver: Driver, model: Any, prompt: str, outcome: Outcome) -> None:
    assert driver.async_call is not None
    try:
        await driver.async_call(model, prompt, outcome, None)
    except Exception as exc:
        outcome.error = exc


def _close_during(
    driver: Driver,
    server: PhaseServer,
    model: Any,
    reached: threading.Event,
    release: threading.Event,
    prompt: str,
    *,
    queued: bool,
) -> list[Outcome]:
    """Start a call (two with ``queued``), close the model once ``reached``, release."""
    outcomes = [Outcome() for _ in range(2 if queued else 1)]
    if driver.sync_call is not None:
        threads = [
            threading.Thread(target=_sync_call, args=(driver, model, prompt, outcome))
            for outcome in outcomes
        ]
        threads[0].start()
        assert reached.wait(HOLD_LIMIT), "the call never reached the phase"
        if queued:  # the second waits for the only slot, which the first holds
            threads[1].start()
            time.sleep(0.2)
        model.close()
        release.set()
        for thread in threads:
            thread.join(HARD_LIMIT)
            assert not thread.is_alive(), "a call was stranded by close()"
        return outcomes

    async def run() -> None:
        first = asyncio.create_task(_async_call(driver, model, prompt, outcomes[0]))
        assert await asyncio.to_thread(reached.wait, HOLD_LIMIT), "never reached the phase"
        tasks = [first]
        if queued:
            tasks.append(asyncio.create_task(_async_call(driver, model, prompt, outcomes[1])))
            await asyncio.sleep(0.2)
        await model.aclose()
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), HARD_LIMIT)
        await model.aclose()

    bounded(driver.name, lambda: asyncio.run(run()))
    return outcomes


@pytest.mark.parametrize("phase", PHASES)
@pytest.mark.parametrize("driver", STREAM_DRIVERS, ids=repr)
def test_a_stream_in_flight_finishes_on_its_connection_when_the_model_is_closed(
    driver: Driver, phase: str, held_connects: tuple[threading.Event, threading.Event]
) -> None:
    hold = phase if phase in ("sending", "headers", "mid-stream") else None
    if phase == "queue":
        hold = "mid-stream"  # the first call holds the slot while the second waits
    with PhaseServer(hold) as server:  # type: ignore[arg-type]
        reached, release = server.reached.get(hold or "", None), server.release
        if phase == "connecting":
            reached, release = held_connects
        else:
            held_connects[1].set()  # connections go through at once
        assert reached is not None
        model = make_model(
            driver.framework,
            server.base_url,
            max_retries=0,
            max_concurrency=1 if phase == "queue" else None,
        )
        prompt = "x" * SENDING_PROMPT_CHARS if phase == "sending" else "hi"
        outcomes = _close_during(
            driver, server, model, reached, release, prompt, queued=phase == "queue"
        )
        for outcome in outcomes:
            assert outcome.error is None, f"{driver.name} at {phase}: {outcome.error!r}"
            assert outcome.text == REPLY_TEXT
        if phase == "queue" and driver.sync_call is not None:
            model.close()  # the second call started after the close, on a new pool
        # The closed pool was closed as its last call ended: no socket is left open.
        assert server.wait_until_no_open_connections() == 0


@pytest.mark.parametrize(
    "driver", [driver for driver in ALL_DRIVERS if not driver.streaming], ids=repr
)
def test_a_call_awaiting_its_reply_finishes_when_the_model_is_closed(driver: Driver) -> None:
    with PhaseServer("headers") as server:
        model = make_model(driver.framework, server.base_url, max_retries=0)
        (outcome,) = _close_during(
            driver, server, model, server.reached["headers"], server.release, "hi", queued=False
        )
        assert outcome.error is None, repr(outcome.error)
        assert outcome.text == REPLY_TEXT
        assert server.wait_until_no_open_connections() == 0


# ------------------------------------------------------------------- mixed load


def _drivers(framework: str) -> dict[tuple[bool, bool], Driver]:
    """(is_async, streaming) -> the framework's driver."""
    return {
        (driver.is_async, driver.streaming): driver
        for driver in ALL_DRIVERS
        if driver.framework == framework
    }


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_close_and_changes_under_mixed_load_strand_no_call(framework: str) -> None:
    """8 sync streaming threads and 50 async calls in another thread's loop share one
    model; it is closed (``close()`` and, in the loop, ``aclose()``) while they run,
    then its timeout and base URL change and it is closed again. Every call ends with
    the whole reply or a typed error, every thread ends, and no socket stays open."""
    drivers = _drivers(framework)
    stop, close_async = threading.Event(), threading.Event()
    sync_outcomes: list[Outcome] = []
    async_outcomes: list[Outcome] = []
    with PhaseServer(pause=0.01) as first, PhaseServer(pause=0.01) as second:
        model = make_model(framework, first.base_url, max_retries=0)

        def stream_forever() -> None:
            while not stop.is_set():
                outcome = Outcome()
                sync_outcomes.append(outcome)
                _sync_call(drivers[(False, True)], model, "hi", outcome)

        async def call_forever(driver: Driver) -> None:
            while not stop.is_set():
                outcome = Outcome()
                async_outcomes.append(outcome)
                await _async_call(driver, model, "hi", outcome)

        async def loop_main() -> None:
            tasks = [
                asyncio.create_task(call_forever(drivers[(True, index % 2 == 0)]))
                for index in range(50)
            ]
            await asyncio.to_thread(close_async.wait, HARD_LIMIT)
            await model.aclose()
            await asyncio.wait_for(asyncio.gather(*tasks), HARD_LIMIT)
            await model.aclose()

        threads = [threading.Thread(target=stream_forever, daemon=True) for _ in range(8)]
        threads.append(threading.Thread(target=lambda: asyncio.run(loop_main()), daemon=True))
        for thread in threads:
            thread.start()

        def wait_for(condition: Any) -> None:
            deadline = time.monotonic() + HARD_LIMIT
            while not condition() and time.monotonic() < deadline:
                time.sleep(0.01)

        wait_for(lambda: len(sync_outcomes) > 16 and len(async_outcomes) > 60)
        model.close()
        close_async.set()
        model.timeout = 7.0
        model.base_url = second.base_url
        model.close()
        wait_for(lambda: len(second.requests) > 60)
        stop.set()
        for thread in threads:
            thread.join(HARD_LIMIT)
        assert not [thread for thread in threads if thread.is_alive()], "a call was stranded"
        model.close()

        assert len(second.requests) > 60
        for outcome in sync_outcomes + async_outcomes:
            if outcome.error is not None:
                assert isinstance(outcome.error, ModelsLabError), repr(outcome.error)
            else:
                assert outcome.text == REPLY_TEXT
        assert first.wait_until_no_open_connections() == 0
        assert second.wait_until_no_open_connections() == 0
