"""Measurements that need a fresh process: cold import time and memory growth.

``python -m benchmarks.probe import MODULE[:NAME] [DEPTH]`` prints the seconds (wall and
CPU) ``from MODULE import NAME`` (or ``import MODULE``) took in this fresh interpreter
(interpreter start-up excluded).

``python -m benchmarks.probe first-reply KEY BASE_URL [DEPTH]`` prints the seconds (wall
and CPU) from nothing imported to the first checked reply of contender ``KEY``:
importing its library, building it and one non-streamed invoke against the loopback
server.

Both run their work ``DEPTH`` Python calls deep (default 0). On CPython 3.11 the
interpreter keeps its frames in 16 KiB chunks and unmaps a chunk as soon as the call
that needed it returns, so an import whose recursion (pydantic schema building, the
import machinery) keeps crossing a chunk boundary maps and faults fresh pages over and
over. Whether it does depends on the call depth the import starts at: ``import
langchain_modelslab`` took 490-651 ms (14,000-33,400 page faults) here from depths 0-132,
``import langchain_openai`` 942-1,220 ms. ``python -m benchmarks`` therefore spreads
each measurement over a range of depths instead of timing one lucky or unlucky one.

``python -m benchmarks.probe memory KEY BASE_URL SMALL LARGE`` builds contender
``KEY`` for non-streamed invokes, runs ``SMALL`` invokes, then more up to ``LARGE``,
and prints the resident set size (after a full garbage collection) at both points as
JSON.

``python -m benchmarks.probe burst KEY BASE_URL SIZE REPEATS`` runs one untimed burst of
``SIZE`` concurrent async invokes of contender ``KEY``, then ``REPEATS`` timed ones, and
prints their timings as JSON (scenario 3b; a process of its own, so that a collapsing
client can be killed at a deadline).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
from collections.abc import Callable


def _rss_bytes() -> int:
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:  # Linux fallback
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.Process().memory_info().rss)


def _at_depth(depth: int, work: Callable[[], object]) -> None:
    """Run ``work`` ``depth`` calls deeper than here and print how long it took."""
    if depth > 0:
        _at_depth(depth - 1, work)
        return
    cpu, start = time.process_time(), time.perf_counter()
    work()
    print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}))


def probe_import(target: str, depth: int = 0) -> None:
    module, _, name = target.partition(":")

    def load() -> None:
        __import__(module)
        if name:
            getattr(sys.modules[module], name)

    _at_depth(depth, load)


def probe_first_reply(key: str, base_url: str, depth: int = 0) -> None:
    from benchmarks.clients import BUILDERS  # imports no client library itself

    def first_reply() -> None:
        contender = BUILDERS[key]("invoke", base_url)
        run = contender.run
        assert run is not None
        contender.check(run())

    _at_depth(depth, first_reply)


def probe_memory(key: str, base_url: str, small: int, large: int) -> None:
    from benchmarks.clients import BUILDERS

    contender = BUILDERS[key]("invoke", base_url)
    run = contender.run
    assert run is not None
    contender.check(run())
    for _ in range(small - 1):
        run()
    gc.collect()
    rss_small = _rss_bytes()
    start = time.perf_counter()
    for _ in range(large - small):
        run()
    elapsed = time.perf_counter() - start
    gc.collect()
    rss_large = _rss_bytes()
    print(
        json.dumps(
            {
                "rss_small": rss_small,
                "rss_large": rss_large,
                "seconds_per_invoke": elapsed / max(large - small, 1),
            }
        )
    )


def probe_burst(key: str, base_url: str, size: int, repeats: int) -> None:
    """One untimed burst of ``size`` concurrent ``ainvoke`` calls, then ``repeats`` timed.

    Prints, as JSON, each timed burst's wall and CPU seconds, the failed calls of the
    untimed and of the timed bursts. Run in its own process so that a client that
    collapses under the burst can be stopped (killed) without holding up the run.
    """
    import asyncio

    from benchmarks.clients import BUILDERS

    contender = BUILDERS[key]("ainvoke", base_url)
    arun = contender.arun
    assert arun is not None

    async def burst() -> list[object]:
        return await asyncio.gather(*(arun() for _ in range(size)), return_exceptions=True)

    async def main() -> dict[str, object]:
        first = await burst()
        contender.check(next(r for r in first if not isinstance(r, BaseException)))
        failed = [r for r in first if isinstance(r, BaseException)]
        seconds, cpu, errors = [], [], 0
        for _ in range(repeats):
            gc.collect()
            cpu_start, start = time.process_time(), time.perf_counter()
            results = await burst()
            seconds.append(time.perf_counter() - start)
            cpu.append(time.process_time() - cpu_start)
            errors += sum(isinstance(r, BaseException) for r in results)
        return {
            "seconds": seconds,
            "cpu": cpu,
            "first_burst_errors": len(failed),
            "first_error": repr(failed[0])[:200] if failed else None,
            "errors": errors,
        }

    print(json.dumps(asyncio.run(main())))


if __name__ == "__main__":
    if sys.argv[1] == "import":
        probe_import(sys.argv[2], *map(int, sys.argv[3:4]))
    elif sys.argv[1] == "first-reply":
        probe_first_reply(sys.argv[2], sys.argv[3], *map(int, sys.argv[4:5]))
    elif sys.argv[1] == "burst":
        probe_burst(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif sys.argv[1] == "memory":
        probe_memory(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(f"unknown probe {sys.argv[1]!r}")
