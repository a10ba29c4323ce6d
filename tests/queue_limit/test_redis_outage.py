"""The Redis queue limit while Redis goes away mid-batch: stopped, restarted (empty or
from its dump), or frozen (SIGSTOP: it accepts connections and never answers).

The documented behaviour (``modelslab_transport.limits.redis``): a call waiting for a
slot keeps trying within its ``queue_timeout``, then fails with ``QueueTimeoutError``
naming Redis and ``MODELSLAB_REDIS_URL``; no redis-py exception reaches the caller, and
no call outlives ``queue_timeout`` (plus its reply's own time). Both classes, sync and
async, through ``$MODELSLAB_REDIS_URL``, against a real redis-server on loopback.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import ModelsLabError, QueueTimeoutError
from tests.support.queue_server import QueueLimitedServer, answer_for
from tests.support.redis_server import REDIS_SERVER, RedisServer

redis = pytest.importorskip("redis", reason="redis-py is not installed (the [redis] extra)")
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="no redis-server binary (Debian: apt-get install -y redis-server)",
)

QUEUE_TIMEOUT = 2.0
LATENCY = 0.15
SLACK = 1.0
"""What a call may take beyond its bounds (a starved CPU, thread hand-offs)."""
CALLS = 12


@pytest.fixture
def redis_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    monkeypatch.setenv("MODELSLAB_REDIS_URL", server.url)
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Result:
    prompt: str
    answer: str | None = None
    error: BaseException | None = None
    seconds: float = 0.0


def _model(framework: str, base_url: str) -> Any:
    fields: dict[str, Any] = {
        "model": "m",
        "api_key": "sk-redis-outage-key",
        "base_url": base_url,
        "max_concurrency": 2,
        "queue_timeout": QUEUE_TIMEOUT,
        "max_retries": 0,
        "timeout": 10,
    }
    return ChatModelsLab(**fields) if framework == "langchain" else ModelsLabLLM(**fields)


def _sync_answer(model: Any, prompt: str) -> str:
    if isinstance(model, ChatModelsLab):
        return str(model.invoke(prompt).content)
    return str(model.chat([ChatMessage(role="user", content=prompt)]).message.content)


async def _async_answer(model: Any, prompt: str) -> str:
    if isinstance(model, ChatModelsLab):
        return str((await model.ainvoke(prompt)).content)
    reply = await model.achat([ChatMessage(role="user", content=prompt)])
    return str(reply.message.content)


def _batch(model: Any, prompts: list[str], use_async: bool) -> list[Result]:
    """Send ``prompts`` at once (threads, or tasks of one loop); every call is timed."""
    results = [Result(prompt) for prompt in prompts]

    def sync_one(result: Result) -> None:
        start = time.monotonic()
        try:
            result.answer = _sync_answer(model, result.prompt)
        except BaseException as exc:
            result.error = exc
        result.seconds = time.monotonic() - start

    async def async_one(result: Result) -> None:
        start = time.monotonic()
        try:
            result.answer = await _async_answer(model, result.prompt)
        except BaseException as exc:
            result.error = exc
        result.seconds = time.monotonic() - start

    async def all_async() -> None:
        await asyncio.gather(*(async_one(result) for result in results))

    if use_async:
        threads = [threading.Thread(target=lambda: asyncio.run(all_async()), daemon=True)]
    else:
        threads = [threading.Thread(target=sync_one, args=(r,), daemon=True) for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "a call outlived every bound"
    return results


def _check(results: list[Result], *, names_redis: bool = True) -> list[Result]:
    """Every call answered right, or failed with our typed error naming Redis and the
    setting, within its bounds; returns the failures."""
    failures = []
    for result in results:
        if result.error is None:
            assert result.answer == answer_for(result.prompt)
            assert result.seconds < QUEUE_TIMEOUT + LATENCY + SLACK
            continue
        failures.append(result)
        error = result.error
        assert isinstance(error, ModelsLabError), f"a raw error escaped: {error!r}"
        assert isinstance(error, QueueTimeoutError), repr(error)
        assert not isinstance(error, redis.RedisError)
        if names_redis:
            assert "Redis" in str(error), str(error)
            assert "MODELSLAB_REDIS_URL" in str(error), str(error)
            assert "queue_timeout" in str(error)
        assert result.seconds < QUEUE_TIMEOUT + SLACK, f"outlived queue_timeout: {result}"
    return failures


def _during(fault: Callable[[], None], after: float) -> threading.Thread:
    """Run ``fault`` ``after`` seconds from now, in a thread."""
    thread = threading.Thread(target=lambda: (time.sleep(after), fault()), daemon=True)
    thread.start()
    return thread


BOTH = pytest.mark.parametrize(
    ("framework", "use_async"),
    [("langchain", False), ("langchain", True), ("llama_index", False), ("llama_index", True)],
)


@BOTH
@pytest.mark.parametrize("from_dump", [False, True], ids=["empty", "from-dump"])
def test_redis_stopped_and_restarted_mid_batch(
    redis_server: RedisServer, framework: str, use_async: bool, from_dump: bool
) -> None:
    def outage() -> None:
        if from_dump:
            redis_server.save()  # the slots held now are in the dump
        redis_server.stop()
        time.sleep(0.5)
        redis_server.start(from_dump=from_dump)

    with QueueLimitedServer(limit=2, latency=LATENCY) as server:
        model = _model(framework, server.base_url)
        fault = _during(outage, 0.3)
        results = _batch(model, [f"p{n}" for n in range(CALLS)], use_async)
        fault.join(30)
        _check(results)
        assert any(result.error is None for result in results)
        assert server.peak_in_flight <= 2
        # Redis is back: calls take slots again (restored slots expire with slot_ttl, so
        # after a restart from the dump a call may still wait; it ends within bounds).
        _check(_batch(model, ["after-1", "after-2"], use_async))
        if not from_dump:
            assert all(r.error is None for r in _batch(model, ["after-3"], use_async))


@BOTH
def test_redis_stopped_for_good_fails_every_waiting_call_within_queue_timeout(
    redis_server: RedisServer, framework: str, use_async: bool
) -> None:
    with QueueLimitedServer(limit=2, latency=LATENCY) as server:
        model = _model(framework, server.base_url)
        fault = _during(redis_server.stop, 0.3)
        results = _batch(model, [f"p{n}" for n in range(CALLS)], use_async)
        fault.join(30)
        assert _check(results), "Redis went away: the calls still waiting must fail"
        later = _batch(model, ["later"], use_async)
        assert len(_check(later)) == 1
        assert "ConnectionError" in str(later[0].error)


@BOTH
def test_a_frozen_redis_never_keeps_a_call_past_queue_timeout(
    redis_server: RedisServer, framework: str, use_async: bool
) -> None:
    with QueueLimitedServer(limit=2, latency=LATENCY) as server:
        model = _model(framework, server.base_url)
        fault = _during(redis_server.freeze, 0.3)
        try:
            results = _batch(model, [f"p{n}" for n in range(CALLS)], use_async)
        finally:
            fault.join(30)
            redis_server.thaw()
        assert _check(results), "Redis froze: the calls still waiting must fail"
        # Thawed: slots given back during the freeze are released now; calls go through.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            after = _batch(model, ["after"], use_async)
            _check(after)
            if after[0].error is None:
                break
        assert after[0].error is None


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_an_unreachable_redis_is_named_without_its_password(
    monkeypatch: pytest.MonkeyPatch, use_async: bool
) -> None:
    from tests.support.loopback import refused_base_url

    with refused_base_url() as refused, QueueLimitedServer(limit=2) as server:
        port = refused.rsplit(":", 1)[1]
        monkeypatch.setenv("MODELSLAB_REDIS_URL", f"redis://:hunter2-pw@127.0.0.1:{port}/0")
        (result,) = _batch(_model("langchain", server.base_url), ["p"], use_async)
        _check([result])
        assert result.error is not None
        assert f"redis://127.0.0.1:{port}/0" in str(result.error)
        assert "hunter2" not in str(result.error)
        assert not server.requests


def test_a_redis_url_that_is_not_one_is_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MODELSLAB_REDIS_URL", "http://127.0.0.1:6379")
    model = _model("llama_index", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match=r"MODELSLAB_REDIS_URL .* must be a Redis URL"):
        _sync_answer(model, "p")


def test_four_processes_ride_out_a_redis_restart(redis_server: RedisServer) -> None:
    """A batch of 4 worker processes sharing one limit through Redis, which is
    stopped mid-batch and restarted empty; with the default queue_timeout every call
    waits for it and is answered, and no raw redis-py error reaches a caller."""
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    worker = (sys.executable, "-m", "tests.queue_limit.redis_worker")
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "MODELSLAB_REDIS_URL": redis_server.url, "PYTHONPATH": path}
    env.pop("MODELSLAB_BASE_URL", None)
    with QueueLimitedServer(limit=5, latency=0.05) as server:
        workers = [
            subprocess.Popen(
                [*worker, server.base_url, f"w{n}", "40"],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(4)
        ]
        deadline = time.monotonic() + 60
        while server.served < 20 and time.monotonic() < deadline:  # the batch is under way
            time.sleep(0.01)
        assert server.served < 160, "the batch ended before Redis went away"
        redis_server.stop()
        time.sleep(0.5)
        redis_server.start()
        reports = []
        for worker in workers:
            out, _ = worker.communicate(timeout=300)
            assert worker.returncode == 0
            reports.append(json.loads(out.strip().splitlines()[-1]))
    assert [report["errors"] for report in reports] == [[], [], [], []]
    assert [report["right"] for report in reports] == [40, 40, 40, 40]
    assert server.peak_in_flight <= 5
