"""Running the loopback server and timing contenders against it, interleaved.

Timings on a shared machine are noisy, so contenders of one scenario never run in
separate phases: after a warm-up, each repeat runs every contender once, in an order
rotated from repeat to repeat, and the median and minimum of the repeats are kept.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2

from benchmarks.clients import Contender


@dataclass
class Timing:
    """The repeated measurements of one contender in one scenario."""

    key: str
    label: str
    role: str
    group: str
    seconds: list[float] = field(default_factory=list)
    """Wall-clock time of each timed repeat."""
    cpu: list[float] = field(default_factory=list)
    """CPU time this process spent in each timed repeat (less noisy on a shared machine)."""
    connections: list[int] = field(default_factory=list)
    """Connections the server accepted during each timed repeat."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        """Median of the repeats."""
        return statistics.median(self.seconds)

    @property
    def min(self) -> float:
        """Fastest repeat."""
        return min(self.seconds)

    @property
    def cpu_median(self) -> float:
        """Median CPU time of the repeats."""
        return statistics.median(self.cpu)


@dataclass
class Server:
    """A running loopback server (its own process)."""

    port: int
    process: subprocess.Popen[str]

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def url(self, scenario_path: str) -> str:
        """The base URL clients use for a scenario, e.g. ``/c2000``."""
        return self.root + scenario_path

    def stats(self) -> dict[str, int]:
        """The server's counters (connections that carried a chat request, requests)."""
        return httpx2.get(self.root + "/stats", timeout=10).json()  # type: ignore[no-any-return]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_server() -> Iterator[Server]:
    """Start ``python -m benchmarks.server`` on a free port; stop it on exit."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        yield Server(port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _order(items: list[Contender], repeat: int) -> list[Contender]:
    shift = repeat % len(items)
    return items[shift:] + items[:shift]


def time_sync(
    contenders: list[Contender],
    server: Server,
    *,
    repeats: int,
    warmup: int,
    inner: int = 1,
) -> list[Timing]:
    """Time ``inner`` calls of each contender's ``run``, ``repeats`` times, interleaved."""
    timings = {c.key: Timing(c.key, c.label, c.role, c.group) for c in contenders}
    for contender in contenders:
        assert contender.run is not None
        contender.check(contender.run())
    for _ in range(warmup):
        for contender in contenders:
            assert contender.run is not None
            for _ in range(inner):
                contender.run()
    for repeat in range(repeats):
        for contender in _order(contenders, repeat):
            run = contender.run
            assert run is not None
            gc.collect()
            before = server.stats()["connections"]
            cpu_start, start = time.process_time(), time.perf_counter()
            for _ in range(inner):
                run()
            elapsed = time.perf_counter() - start
            timings[contender.key].cpu.append(time.process_time() - cpu_start)
            timings[contender.key].seconds.append(elapsed)
            timings[contender.key].connections.append(server.stats()["connections"] - before)
    return list(timings.values())


def time_concurrent(
    contenders: list[Contender],
    server: Server,
    *,
    concurrency: int,
    repeats: int,
    warmup: int,
) -> list[Timing]:
    """Time ``concurrency`` concurrent ``arun`` calls of each contender, interleaved.

    Everything runs on one event loop, so pools built in the warm-up are the ones
    the timed repeats use. Each timed burst follows an untimed one of the same
    contender; the connections the timed burst opened are recorded, as are those the
    very first (cold) burst opened.
    """
    timings = {c.key: Timing(c.key, c.label, c.role, c.group) for c in contenders}

    async def burst(contender: Contender) -> list[Any]:
        assert contender.arun is not None
        return await asyncio.gather(*(contender.arun() for _ in range(concurrency)))

    async def main() -> None:
        for contender in contenders:
            before = server.stats()["connections"]
            results = await burst(contender)
            for result in results:
                contender.check(result)
            timings[contender.key].extra["first_burst_connections"] = (
                server.stats()["connections"] - before
            )
        for _ in range(warmup):
            for contender in contenders:
                await burst(contender)
        for repeat in range(repeats):
            for contender in _order(contenders, repeat):
                # An untimed burst first: the timed one then finds the pool as a busy
                # application would (its idle connections younger than any keep-alive
                # expiry), whatever the other contenders did in between.
                await burst(contender)
                gc.collect()
                before = server.stats()["connections"]
                cpu_start, start = time.process_time(), time.perf_counter()
                await burst(contender)
                elapsed = time.perf_counter() - start
                timings[contender.key].cpu.append(time.process_time() - cpu_start)
                timings[contender.key].seconds.append(elapsed)
                timings[contender.key].connections.append(server.stats()["connections"] - before)
        for contender in contenders:
            for closer in contender.closers:
                result = closer()
                if asyncio.iscoroutine(result):
                    await result

    asyncio.run(main())
    return list(timings.values())


def close_all(contenders: list[Contender]) -> None:
    """Close the sync side of every contender (async closers need a loop; skipped)."""
    for contender in contenders:
        for closer in contender.closers:
            result = closer()
            if asyncio.iscoroutine(result):
                result.close()
