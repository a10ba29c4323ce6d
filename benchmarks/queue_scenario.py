"""Scenario 7: ModelsLab's queue limit (limit 5, 100 ms per request), N requests at once.

The loopback server admits 5 requests at once and refuses the rest with ModelsLab's
documented 429 body (``Maximum 5 queued requests allowed``, ``retry_after`` 30). Each
contender sends N requests at once as its users would (LangChain ``abatch``; LlamaIndex
``asyncio.gather`` of ``achat``), once to learn the limit and once timed. The ideal is
``N / 5 x 100 ms``. Reported: wall time of the timed run and its ratio to the ideal,
requests that failed, and 429s the server sent in the timed run (after the limit was
learnt) and in the first. A floor row (bare httpx2 behind a semaphore of 5, the limit
known in advance) shows what the machine allowed at the time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks.clients import API_KEY, MAX_TOKENS, MODEL
from benchmarks.runner import Server

LIMIT = 5
LATENCY = 0.1


def _contenders(base_url: str) -> dict[str, tuple[str, Any]]:
    """label -> (kind, llm); peers only if their packages are installed."""
    from langchain_modelslab import ChatModelsLab
    from llama_index_modelslab import ModelsLabLLM

    found: dict[str, tuple[str, Any]] = {
        "ChatModelsLab.abatch": (
            "lc",
            ChatModelsLab(model=MODEL, api_key=API_KEY, base_url=base_url, max_tokens=MAX_TOKENS),
        ),
        "ModelsLabLLM gather(achat)": (
            "li",
            ModelsLabLLM(model=MODEL, api_key=API_KEY, base_url=base_url, max_tokens=MAX_TOKENS),
        ),
    }
    try:
        from langchain_openai import ChatOpenAI

        found["ChatOpenAI.abatch"] = (
            "lc",
            ChatOpenAI(model=MODEL, api_key=API_KEY, base_url=base_url, max_tokens=MAX_TOKENS),
        )
    except ImportError:
        pass
    try:
        from llama_index.llms.openai_like import OpenAILike  # type: ignore[import-untyped]

        found["OpenAILike gather(achat)"] = (
            "li",
            OpenAILike(
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
    found["floor: httpx2 + asyncio.Semaphore(5)"] = ("floor", _Floor(base_url))
    return found


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


def run(server: Server, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """Each contender at each size: learn run, then timed run; one dict per timed run."""
    rows = []
    for n in sizes:
        for label, (kind, llm) in _contenders(
            server.url(f"/c20/l{LATENCY:g}/q{LIMIT}/n{n}")
        ).items():

            async def both(kind: str = kind, llm: Any = llm, n: int = n) -> dict[str, Any]:
                first = server.stats()["refused"]
                learn = await _burst(kind, llm, n)
                second = server.stats()["refused"]
                start = time.perf_counter()
                timed = await _burst(kind, llm, n)
                wall = time.perf_counter() - start
                return {
                    "wall": wall,
                    "errors": sum(isinstance(r, BaseException) for r in timed),
                    "learn_errors": sum(isinstance(r, BaseException) for r in learn),
                    "refused_learning": second - first,
                    "refused_timed": server.stats()["refused"] - second,
                }

            print(f"  queue limit: {label}, N={n} ...", flush=True)
            result = asyncio.run(both())
            result.update(label=label, n=n, ideal=n / LIMIT * LATENCY)
            rows.append(result)
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """The scenario's markdown table and its goal lines."""
    lines = [
        f"7. Queue limit {LIMIT}, {LATENCY * 1000:.0f} ms per request (loopback server "
        "sending ModelsLab's 429 body):",
        "",
        "| N | contender | wall (timed run) | / ideal | errors (timed) | errors (first run) | "
        "429s first run | 429s timed run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['n']} | {r['label']} | {r['wall']:.2f} s | {r['wall'] / r['ideal']:.2f}x | "
            f"{r['errors']} | {r['learn_errors']} | {r['refused_learning']} | "
            f"{r['refused_timed']} |"
        )
    lines.append("")
    for r in rows:
        if r["label"].startswith(("ChatModelsLab", "ModelsLabLLM")):
            floor = next(
                (f for f in rows if f["n"] == r["n"] and f["label"].startswith("floor")), None
            )
            vs_floor = f", {r['wall'] / floor['wall']:.2f}x the floor" if floor else ""
            met = (
                r["errors"] == 0
                and r["learn_errors"] == 0
                and r["wall"] <= 1.2 * r["ideal"]
                and r["refused_timed"] == 0
            )
            lines.append(
                f"- 7. {r['label']} N={r['n']}: 0 errors, <= 1.2x ideal, no 429 once learnt: "
                f"{r['errors'] + r['learn_errors']} errors, {r['wall'] / r['ideal']:.2f}x, "
                f"{r['refused_timed']} 429s{vs_floor} -> **{'met' if met else 'NOT met'}**"
            )
    return "\n".join(lines)
