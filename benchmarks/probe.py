"""Measurements that need a fresh process: cold import time and memory growth.

``python -m benchmarks.probe import MODULE`` prints the seconds (wall and CPU)
``import MODULE`` took in this fresh interpreter (interpreter start-up excluded).

``python -m benchmarks.probe memory KEY BASE_URL SMALL LARGE`` builds contender
``KEY`` for non-streamed invokes, runs ``SMALL`` invokes, then more up to ``LARGE``,
and prints the resident set size (after a full garbage collection) at both points as
JSON.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time


def _rss_bytes() -> int:
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:  # Linux fallback
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return int(psutil.Process().memory_info().rss)


def probe_import(module: str) -> None:
    cpu, start = time.process_time(), time.perf_counter()
    __import__(module)
    print(json.dumps({"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu}))


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


if __name__ == "__main__":
    if sys.argv[1] == "import":
        probe_import(sys.argv[2])
    elif sys.argv[1] == "memory":
        probe_memory(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(f"unknown probe {sys.argv[1]!r}")
