"""Scenario 8: 5,000 concurrent async streams, with bounded RSS and file descriptors.

One ``AsyncModelsLabClient`` (and then one ``ChatModelsLab`` via ``astream``) reads
5,000 streams at once from the loopback server (20 chunks each, 200 ms before the
first). Each contender runs in a fresh interpreter so that its peak memory is its own:
reported are the wall time, the peak RSS growth over the process's size just before
the burst and the most file descriptors open at once (both sampled every 10 ms, from
``/proc/self/statm`` and ``/proc/self/fd``; ``ru_maxrss`` would hide the burst behind
the peak of the imports), and the TCP connections the server saw. The pool's limit (1,000
connections, :data:`modelslab_transport.http.sharded_pool.DEFAULT_LIMITS`) bounds the
sockets; the rest wait for a free connection.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from typing import Any

from benchmarks.runner import Server

STREAMS = 5000
PATH = "/c20/l0.2"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss() -> int:
    """The process's resident memory now, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


async def _burst(kind: str, base_url: str, streams: int) -> dict[str, Any]:
    from modelslab_transport import AsyncModelsLabClient, ClientSettings
    from modelslab_transport.wire import ChatCompletionRequest, ChatMessage

    peak_fds, peak_rss = _open_fds(), _rss()
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak_fds, peak_rss
        while not done.is_set():
            peak_fds, peak_rss = max(peak_fds, _open_fds()), max(peak_rss, _rss())
            await asyncio.sleep(0.01)

    if kind == "transport":
        client = AsyncModelsLabClient(
            ClientSettings(api_key="sk-bench", base_url=base_url, timeout=None)
        )
        request = ChatCompletionRequest(
            model="bench", messages=[ChatMessage(role="user", content="hi")], max_tokens=20
        )

        async def one() -> int:
            async with await client.stream_chat(request) as stream:
                return sum([1 async for _ in stream])

        close: Any = client.aclose
    else:
        from langchain_modelslab import ChatModelsLab

        llm = ChatModelsLab(model="bench", api_key="sk-bench", base_url=base_url, timeout=None)

        async def one() -> int:
            return sum([1 async for _ in llm.astream("hi")])

        close = llm.aclose
    await one()  # warm up: imports, the pool
    before_rss = peak_rss = _rss()
    before_fds = _open_fds()
    sampler = asyncio.create_task(sample())
    started = time.perf_counter()
    counts = await asyncio.gather(*(one() for _ in range(streams)), return_exceptions=True)
    wall = time.perf_counter() - started
    done.set()
    await sampler
    await close()
    failed = sum(1 for c in counts if isinstance(c, BaseException))
    return {
        "kind": kind,
        "streams": streams,
        "failed": failed,
        "wall_s": round(wall, 2),
        "rss_before_mib": round(before_rss / 2**20, 1),
        "rss_growth_mib": round((peak_rss - before_rss) / 2**20, 1),
        "peak_fds": peak_fds,
        "fds_before": before_fds,
        "fds_after": _open_fds(),
    }


def run(server: Server, streams: int = STREAMS) -> list[dict[str, Any]]:
    """Each contender's burst in its own interpreter; one row each."""
    rows = []
    for kind in ("transport", "ChatModelsLab.astream"):
        before = server.stats()["connections"]
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.many_streams", kind, server.url(PATH), str(streams)],
            capture_output=True,
            text=True,
            check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
        row = json.loads(result.stdout.strip().splitlines()[-1])
        row["connections"] = server.stats()["connections"] - before
        rows.append(row)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """A markdown table of :func:`run`'s rows."""
    lines = [
        "| 5,000 concurrent streams | failed | wall | RSS before, peak growth | peak open fds"
        " (before, after) | TCP connections |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['kind']} | {row['failed']} | {row['wall_s']} s | "
            f"{row['rss_before_mib']} MiB, +{row['rss_growth_mib']} MiB | "
            f"{row['peak_fds']} ({row['fds_before']}, {row['fds_after']}) | "
            f"{row['connections']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    kind, base_url, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run(_burst(kind, base_url, count))))
