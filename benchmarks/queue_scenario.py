"""Scenario 7: ModelsLab's queue limit (limit 5, 100 ms per request), N requests at once.

The loopback server admits 5 requests at once and refuses the rest with ModelsLab's
documented 429 body (``Maximum 5 queued requests allowed``), here with a ``retry_after``
of 1 s instead of ModelsLab's 30 so that a refusal ours honours costs seconds, not
minutes. Each contender sends N requests at once as its users would (LangChain
``abatch``; LlamaIndex ``asyncio.gather`` of ``achat``), twice: a first run (for ours
without ``max_concurrency``, the one that learns the limit from the first 429), then the
timed run. The ideal is ``N / 5 x 100 ms``.

Ours appears twice: "known limit" (``max_concurrency=5``: no 429 should ever be sent)
and "learnt" (no ``max_concurrency``: a loopback base URL has no default limit, so the
first run sends all N at once, and the 429s teach it the limit). The account registry
is reset before each of our rows, so each learns (or is told) afresh.

At the first N the scenario runs again against a server that frees a request's place
in its queue only 5 ms after it has written the reply (``f0.005``; the rows marked "late
free"), as a server counting replies rather than work may: the moment our client has
its reply, the server may still count the request, so a request sent in its place is
refused for our own finished one. Ours should neither wait ``retry_after`` for such
refusals nor keep sending into places still taken. The floor, which does not resend
refused requests, fails some against that server; its row there is for reference.

Reported per row: wall time of the first and of the timed run, the timed run's ratio
to the ideal and to the floor, failed requests and 429s the server sent in each run.
The floor (bare httpx2 behind an ``asyncio.Semaphore(5)``, the limit known in advance,
no framework) runs first and last at each N; its mean is what the machine allowed at
that moment.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable
from typing import Any

from benchmarks.runner import Server
from benchmarks.workload import API_KEY, MAX_TOKENS, MODEL

LIMIT = 5
LATENCY = 0.1
RETRY_AFTER = 1
FLOOR = "floor: httpx2 + asyncio.Semaphore(5)"
LATE_FREE = (("", ""), ("/f0.005", ", late free"))
"""Server variants: (URL path suffix, label suffix); the late one only at the first N."""


def _ours(base_url: str, known: bool) -> dict[str, tuple[str, Callable[[], Any]]]:
    from langchain_modelslab import ChatModelsLab
    from llama_index_modelslab import ModelsLabLLM

    limit = LIMIT if known else None
    tag = "known limit" if known else "learnt"
    options: dict[str, Any] = {
        "model": MODEL,
        "api_key": API_KEY,
        "base_url": base_url,
        "max_tokens": MAX_TOKENS,
        "max_concurrency": limit,
    }
    return {
        f"ChatModelsLab.abatch, {tag}": ("lc", lambda: ChatModelsLab(**options)),
        f"ModelsLabLLM gather(achat), {tag}": ("li", lambda: ModelsLabLLM(**options)),
    }


def _peers(base_url: str) -> dict[str, tuple[str, Callable[[], Any]]]:
    """Peers with their defaults, only if their packages are installed."""
    found: dict[str, tuple[str, Callable[[], Any]]] = {}
    try:
        from langchain_openai import ChatOpenAI

        found["ChatOpenAI.abatch"] = (
            "lc",
            lambda: ChatOpenAI(
                model=MODEL, api_key=API_KEY, base_url=base_url, max_tokens=MAX_TOKENS
            ),
        )
    except ImportError:
        pass
    try:
        from llama_index.llms.openai_like import OpenAILike  # type: ignore[import-untyped]

        found["OpenAILike gather(achat)"] = (
            "li",
            lambda: OpenAILike(
                model=MODEL,
                api_key=API_KEY,
                api_base=base_url,
                max_tokens=MAX_TOKENS,
                is_chat_model=True,
                context_window=8192,
            ),
        )
    except ImportError:
        pass
    return found


def _contenders(base_url: str, peers: bool = True) -> list[tuple[str, str, Callable[[], Any]]]:
    """(label, kind, factory) in running order: floor, ours, peers, floor again."""
    floor = (FLOOR, "floor", lambda: _Floor(base_url))
    middle = {**_ours(base_url, known=True), **_ours(base_url, known=False)}
    if peers:
        middle.update(_peers(base_url))
    return [floor, *((label, kind, make) for label, (kind, make) in middle.items()), floor]


class _Floor:
    """Bare httpx2 behind an ``asyncio.Semaphore(LIMIT)``: the limit known in advance.

    What the machine allows at the moment (no learning, no framework): read our rows'
    wall time against it as well as against the ideal.
    """

    def __init__(self, base_url: str) -> None:
        self.url = base_url + "/chat/completions"

    async def burst(self, n: int) -> list[Any]:
        import httpx2

        semaphore = asyncio.Semaphore(LIMIT)
        body = {"model": MODEL, "messages": [{"role": "user", "content": "q"}]}
        async with httpx2.AsyncClient(timeout=60) as client:

            async def one() -> Any:
                async with semaphore:
                    reply = await client.post(self.url, json=body)
                if reply.status_code != 200:
                    return RuntimeError(f"HTTP {reply.status_code}")
                return reply.json()

            return list(await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True))


async def _burst(kind: str, llm: Any, n: int) -> list[Any]:
    if kind == "floor":
        return await llm.burst(n)  # type: ignore[no-any-return]
    if kind == "lc":
        return list(await llm.abatch([f"q{i}" for i in range(n)], return_exceptions=True))
    from llama_index.core.llms import ChatMessage

    calls = [llm.achat([ChatMessage(role="user", content=f"q{i}")]) for i in range(n)]
    return list(await asyncio.gather(*calls, return_exceptions=True))


def _one_row(server: Server, kind: str, llm: Any, n: int) -> dict[str, Any]:
    """The first run, then the timed run, of one contender (in a fresh event loop)."""

    async def both() -> dict[str, Any]:
        before = server.stats()["refused"]
        start = time.perf_counter()
        first = await _burst(kind, llm, n)
        first_wall = time.perf_counter() - start
        between = server.stats()["refused"]
        start = time.perf_counter()
        timed = await _burst(kind, llm, n)
        wall = time.perf_counter() - start
        return {
            "first_wall": first_wall,
            "wall": wall,
            "errors": sum(isinstance(r, BaseException) for r in timed),
            "first_errors": sum(isinstance(r, BaseException) for r in first),
            "first_429s": between - before,
            "timed_429s": server.stats()["refused"] - between,
        }

    return asyncio.run(both())


def run(server: Server, sizes: tuple[int, ...], peers: bool = True) -> list[dict[str, Any]]:
    """Each contender at each size: first run, then timed run; one dict per contender."""
    from modelslab_transport.limits.queue import reset_account_limits

    rows = []
    for n in sizes:
        for suffix, variant in LATE_FREE if n == sizes[0] else LATE_FREE[:1]:
            base_url = server.url(f"/c20/l{LATENCY:g}/q{LIMIT}/r{RETRY_AFTER}/n{n}{suffix}")
            for label, kind, make in _contenders(base_url, peers):
                print(f"  queue limit: {label}{variant}, N={n} ...", flush=True)
                reset_account_limits()  # ours learns (or is told) the limit afresh
                gc.collect()
                load = os.getloadavg()[0]
                result = _one_row(server, kind, make(), n)
                result.update(
                    label=label + variant,
                    floor=label == FLOOR,
                    variant=variant,
                    n=n,
                    ideal=n / LIMIT * LATENCY,
                    load=load,
                )
                rows.append(result)
    return rows


def _floor_wall(rows: list[dict[str, Any]], row: dict[str, Any]) -> float | None:
    walls = [
        r["wall"]
        for r in rows
        if r["n"] == row["n"] and r.get("floor") and r.get("variant") == row.get("variant")
    ]
    return sum(walls) / len(walls) if walls else None


def render(rows: list[dict[str, Any]]) -> str:
    """The scenario's markdown table and its goal lines."""
    lines = [
        f"7. Queue limit {LIMIT}, {LATENCY * 1000:.0f} ms per request (loopback server "
        f"sending ModelsLab's 429 body, retry_after {RETRY_AFTER} s); ideal N / {LIMIT} x "
        f"{LATENCY * 1000:.0f} ms; / floor: against the mean of the two floor rows; load: the "
        "machine's 1-minute load average when the row began (2 cores):",
        "",
        "| N | contender | first run: wall, errors, 429s | timed run: wall | / ideal | "
        "/ floor | errors | 429s | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        floor = _floor_wall(rows, r)
        # Against the late-free server the floor fails the requests it does not resend.
        compared = floor and not r.get("floor") and not r.get("variant")
        vs_floor = f"{r['wall'] / floor:.2f}x" if compared else "-"
        lines.append(
            f"| {r['n']} | {r['label']} | {r['first_wall']:.2f} s, {r['first_errors']}, "
            f"{r['first_429s']} | {r['wall']:.2f} s | {r['wall'] / r['ideal']:.2f}x | "
            f"{vs_floor} | {r['errors']} | {r['timed_429s']} | {r.get('load', 0):.1f} |"
        )
    lines.append("")
    for r in rows:
        if not r["label"].startswith(("ChatModelsLab", "ModelsLabLLM")):
            continue
        floor = _floor_wall(rows, r)
        late = bool(r.get("variant"))
        # Learning the limit is part of the goal: a learnt row's first run counts too.
        first = "learnt" in r["label"]
        worst = max(r["wall"], r["first_wall"]) if first else r["wall"]
        met = (
            r["errors"] == 0
            and r["first_errors"] == 0
            and worst <= 1.2 * r["ideal"]
            and (late or r["timed_429s"] == 0)
        )
        floor_note = ""
        if floor and not late:
            floor_note = f" (floor {floor / r['ideal']:.2f}x; ours/floor {r['wall'] / floor:.2f}x)"
        what = "0 errors, <= 1.2x ideal" + (" (first run too)" if first else "")
        what += "" if late else ", no 429 once learnt"
        lines.append(
            f"- 7. {r['label']} N={r['n']}: {what}: "
            f"{r['errors'] + r['first_errors']} errors, {worst / r['ideal']:.2f}x"
            f"{floor_note}, {r['timed_429s']} 429s -> **{'met' if met else 'NOT met'}**"
        )
    return "\n".join(lines)


def main() -> None:
    """``python -m benchmarks.queue_scenario [--sizes 100,1000] [--no-peers]``: scenario 7 alone."""
    import argparse

    from benchmarks.runner import running_server

    parser = argparse.ArgumentParser(prog="python -m benchmarks.queue_scenario")
    parser.add_argument("--sizes", default="100", help="comma-separated N (default 100)")
    parser.add_argument("--no-peers", action="store_true", help="only ours and the floor")
    args = parser.parse_args()
    sizes = tuple(int(size) for size in args.sizes.split(","))
    with running_server() as server:
        print(render(run(server, sizes, peers=not args.no_peers)))


if __name__ == "__main__":
    main()
