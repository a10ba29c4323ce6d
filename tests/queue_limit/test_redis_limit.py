"""The queue limit shared by four processes through a real redis-server."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelslab_transport import ClientSettings
from modelslab_transport.limits.queue import account_id
from tests.support.queue_server import QueueLimitedServer

redis = pytest.importorskip("redis", reason="redis-py is not installed (the [redis] extra)")

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="no redis-server binary (Debian: apt-get install -y redis-server)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A redis-server of our own on a free loopback port, stopped after the test."""
    port = _free_port()
    assert REDIS_SERVER is not None
    process = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp_path),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield url
    finally:
        client.close()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _env(redis_url: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "MODELSLAB_REDIS_URL": redis_url, "PYTHONPATH": path}
    env.pop("MODELSLAB_BASE_URL", None)
    return env


def test_four_processes_share_one_limit_of_five(redis_url: str) -> None:
    with QueueLimitedServer(limit=5, latency=0.05) as server:
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.queue_limit.redis_worker",
                    server.base_url,
                    f"w{n}",
                    "25",
                ],
                cwd=ROOT,
                env=_env(redis_url),
                stdout=subprocess.PIPE,
                text=True,
            )
            for n in range(4)
        ]
        reports = []
        for worker in workers:
            out, _ = worker.communicate(timeout=300)
            assert worker.returncode == 0
            reports.append(json.loads(out.strip().splitlines()[-1]))
        assert [r["errors"] for r in reports] == [[], [], [], []]
        assert [r["right"] for r in reports] == [25, 25, 25, 25]
        assert server.served == 100
        assert server.peak_in_flight <= 5
        assert server.refused == 0


def test_a_killed_worker_gives_its_slots_back(redis_url: str) -> None:
    from modelslab_transport.limits.queue import account_limit, reset_account_limits
    from modelslab_transport.limits.redis import use_redis

    base_url = "http://127.0.0.1:9"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from modelslab_transport import ClientSettings\n"
            "from modelslab_transport.limits.queue import account_limit\n"
            "from modelslab_transport.limits.redis import use_redis\n"
            f"use_redis({redis_url!r}, slot_ttl=1.0)\n"
            f"s = ClientSettings(api_key='sk-queue-test-key', base_url={base_url!r}, "
            "max_concurrency=2)\n"
            "limit = account_limit(s)\n"
            "slots = [limit.acquire(float('inf')) for _ in range(2)]\n"
            "print('holding', flush=True)\n"
            "time.sleep(600)\n",
        ],
        cwd=ROOT,
        env=_env(redis_url),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "holding"
        use_redis(redis_url, slot_ttl=1.0)
        settings = ClientSettings(api_key="sk-queue-test-key", base_url=base_url, max_concurrency=2)
        limit = account_limit(settings)
        from modelslab_transport.limits.queue import QueueTimeoutError

        with pytest.raises(QueueTimeoutError):
            limit.acquire(time.monotonic() + 0.3)  # both slots are the holder's
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        # its locks expire within slot_ttl (1 s); wait for them, bounded
        slots = [limit.acquire(time.monotonic() + 30) for _ in range(2)]
        assert limit.in_flight == 2
        for slot in slots:
            slot.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        reset_account_limits()
    assert "sk-queue-test-key" not in account_id(settings)
