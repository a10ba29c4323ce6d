"""``python -m benchmarks [--quick] [--only 1,2,...] [--json PATH] [--no-write]``.

Starts the loopback server, runs the six scenarios (every contender of a scenario in
the same invocation, interleaved, after a warm-up), prints one markdown table of
ratios and writes it into ``benchmarks/RESULTS.md`` (between the ``results`` markers;
the rest of that file is kept). See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import many_streams, queue_scenario
from benchmarks.clients import BUILDERS, FRAMEWORK_FLOORS
from benchmarks.runner import (
    Server,
    Timing,
    close_all,
    running_server,
    time_concurrent,
    time_sync,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"

# Tracing or telemetry would add work (or network calls) to some contenders only.
QUIET_ENVIRONMENT = {
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "MODELSLAB_API_KEY": "sk-bench",
}

# group: the framework floors of scenario 1 (a bare framework subclass: without HTTP,
# then reading the server with httpx2 iter_lines + json.loads, which the goals use)
FRAMEWORK_FLOOR_KEYS = {
    "langchain": ("lc-floor", "lc-http-floor"),
    "llama-index": ("li-floor", "li-http-floor"),
}

GROUPS = {
    # group: (ours, peers)
    "langchain": ("lc-ours", ["lc-openai"]),
    "llama-index": ("li-ours", ["li-openai-like", "li-modelslab-pkg"]),
    "transport": ("tr-ours", ["tr-openai"]),
}

IMPORTS = {
    # group: (ours, peers, the framework class every integration of it builds on), each
    # "module:name" for ``from module import name``: what a user's first line does,
    # whether or not a package defers its imports until a name is used.
    "langchain": (
        "langchain_modelslab:ChatModelsLab",
        ["langchain_openai:ChatOpenAI"],
        "langchain_core.language_models.chat_models:BaseChatModel",
    ),
    "llama-index": (
        "llama_index_modelslab:ModelsLabLLM",
        ["llama_index.llms.openai_like:OpenAILike", "llama_index.llms.modelslab:ModelsLabLLM"],
        "llama_index.core.llms.function_calling:FunctionCallingLLM",
    ),
    "transport": ("modelslab_transport:ModelsLabClient", ["openai:OpenAI"], "httpx2:Client"),
}


@dataclass
class Config:
    """Sizes and repeats of one run."""

    quick: bool = False
    stream_chunks: int = 2000
    stream_repeats: int = 10
    invokes: int = 500
    invoke_repeats: int = 5
    concurrency: int = 200
    latency: float = 0.05
    concurrent_repeats: int = 3
    large_bursts: tuple[int, ...] = (1000, 5000)
    """Sizes of scenario 3b's bursts (linearity: 1,000 against 5,000)."""
    large_burst_repeats: int = 2
    large_burst_deadline: float = 120.0
    """Seconds a contender's 3b process (one untimed burst, then the timed ones) may take."""
    tool_fragments: int = 200
    tool_streams: int = 5
    tool_repeats: int = 10
    import_depths: tuple[int, ...] = tuple(range(0, 144, 12))
    """Call depths the cold-start probes run at, one round each (see benchmarks/probe.py)."""
    memory_small: int = 100
    memory_large: int = 10_000
    warmup: int = 2

    @classmethod
    def for_quick_look(cls) -> Config:
        """A run for a quick look (a minute or two): fewer repeats, smaller loops."""
        return cls(
            quick=True,
            stream_repeats=4,
            invokes=200,
            invoke_repeats=3,
            concurrent_repeats=1,
            large_burst_repeats=1,
            tool_repeats=4,
            import_depths=(0, 36, 72, 108),
            memory_large=2000,
            warmup=1,
        )


# ------------------------------------------------------------------------ scenarios


def _build(kind: str, base_url: str) -> list[Any]:
    return [builder(kind, base_url) for builder in BUILDERS.values()]


def scenario_stream(server: Server, config: Config) -> list[Timing]:
    """1. Stream ``stream_chunks`` content chunks and aggregate them.

    Beside the HTTP contenders run the framework floors: the same chunks yielded by a
    bare ``BaseChatModel`` / ``FunctionCallingLLM`` subclass through the same stream path.
    """
    url = server.url(f"/c{config.stream_chunks}")
    contenders = _build("stream", url)
    contenders += [builder("stream", url) for builder in FRAMEWORK_FLOORS.values()]
    try:
        return time_sync(contenders, server, repeats=config.stream_repeats, warmup=config.warmup)
    finally:
        close_all(contenders)


def scenario_invoke(server: Server, config: Config) -> list[Timing]:
    """2. ``invokes`` sequential non-streamed calls on one instance."""
    contenders = _build("invoke", server.url("/c20"))
    try:
        return time_sync(
            contenders, server, repeats=config.invoke_repeats, warmup=1, inner=config.invokes
        )
    finally:
        close_all(contenders)


def scenario_concurrent(server: Server, config: Config) -> list[Timing]:
    """3. ``concurrency`` concurrent async calls, the server waiting ``latency`` each."""
    contenders = _build("ainvoke", server.url(f"/c20/l{config.latency:g}"))
    try:
        return time_concurrent(
            contenders,
            server,
            concurrency=config.concurrency,
            repeats=config.concurrent_repeats,
            warmup=0,
        )
    finally:
        close_all(contenders)


LARGE_BURST_KEYS = ("lc-ours", "li-ours", "lc-openai")
"""Scenario 3b's contenders: ours in both frameworks, and ChatOpenAI."""


def scenario_large_bursts(server: Server, config: Config) -> list[Timing]:
    """3b. 1,000 and 5,000 concurrent async invokes (linear, or a collapse?).

    Each contender and size runs in a fresh process (``benchmarks.probe burst``): one
    untimed burst, then the timed ones. A process still running after
    ``large_burst_deadline`` seconds is killed and recorded as not finished (the
    timing's ``extra["deadline"]``). The timing's key carries the size (``lc-ours@5000``).
    """
    timings: list[Timing] = []
    url = server.url(f"/c20/l{config.latency:g}")
    for size in config.large_bursts:
        for key in LARGE_BURST_KEYS:
            contender = BUILDERS[key]("ainvoke", url)
            close_all([contender])
            timing = Timing(f"{key}@{size}", contender.label, contender.role, contender.group)
            timing.extra = {"size": size, "first_burst_errors": 0, "errors": 0}
            print(f"  {size:,} concurrent: {key} ...", file=sys.stderr, flush=True)
            before = server.stats()["connections"]
            args = ["burst", key, url, str(size), str(config.large_burst_repeats)]
            try:
                timing.extra.update(_probe(*args, timeout=config.large_burst_deadline))
                timing.seconds = timing.extra.pop("seconds")
                timing.cpu = timing.extra.pop("cpu")
            except subprocess.TimeoutExpired:
                timing.extra["deadline"] = config.large_burst_deadline
                timing.seconds = [config.large_burst_deadline]
            timing.extra["connections"] = server.stats()["connections"] - before
            timings.append(timing)
    return timings


def scenario_tools(server: Server, config: Config) -> list[Timing]:
    """4. Stream ``tool_fragments`` tool-call argument fragments and assemble the call."""
    contenders = _build("tools", server.url(f"/c0/t{config.tool_fragments}"))
    try:
        return time_sync(
            contenders,
            server,
            repeats=config.tool_repeats,
            warmup=config.warmup,
            inner=config.tool_streams,
        )
    finally:
        close_all(contenders)


def _probe(*args: str, timeout: float | None = None) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "benchmarks.probe", *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=HERE.parent,
        timeout=timeout,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])  # type: ignore[no-any-return]


OUR_PACKAGES = ("modelslab_transport", "langchain_modelslab", "llama_index_modelslab")


def compile_our_bytecode() -> None:
    """Write the ``__pycache__`` bytecode of our packages, as ``pip install`` does.

    The peers come from wheels, which pip byte-compiles when it installs them; ours is
    an editable checkout, and with ``PYTHONDONTWRITEBYTECODE`` set (as on the machine
    these results come from) every import would compile our sources again. Without
    this the import rows would time the compiler for ours and not for the peers.
    """
    for package in OUR_PACKAGES:
        compileall.compile_dir(HERE.parent / package, quiet=1)


def _import_label(target: str) -> str:
    module, _, name = target.partition(":")
    return f"from {module} import {name}"


def _cold_probes(
    timings: dict[str, Timing], probe_args: Callable[[str], list[str]], depths: Sequence[int]
) -> list[Timing]:
    """Fill ``timings`` from fresh-interpreter probes, one round per call depth.

    An untimed first round brings the files into the page cache; each timed round runs
    every key once at that round's depth, in an order rotated from round to round.
    """
    keys = list(timings)
    for key in keys:
        _probe(*probe_args(key))
    for repeat, depth in enumerate(depths):
        shift = repeat % len(keys)
        for key in keys[shift:] + keys[:shift]:
            probe = _probe(*probe_args(key), str(depth))
            timings[key].seconds.append(probe["seconds"])
            timings[key].cpu.append(probe["cpu"])
    return list(timings.values())


def scenario_imports(config: Config) -> list[Timing]:
    """5. Cold ``import`` of each package, one fresh interpreter per import.

    Each module is imported once at each of ``import_depths`` (see
    ``benchmarks/probe.py`` for why the call depth matters on CPython 3.11).
    """
    timings = {}
    for group, (ours, peers, floor) in IMPORTS.items():
        for target, role in [(ours, "ours"), *((peer, "peer") for peer in peers), (floor, "floor")]:
            timings[target] = Timing(target, _import_label(target), role, group)
    return _cold_probes(timings, lambda target: ["import", target], config.import_depths)


def scenario_first_reply(server: Server, config: Config) -> list[Timing]:
    """5. Cold start: import, build and one invoke, one fresh interpreter per probe.

    The import rows alone would reward a package that moves its import work to the
    first request; this row times the whole way to a first reply.
    """
    url = server.url("/c20")
    timings = {}
    for key, build in BUILDERS.items():
        contender = build("invoke", url)
        close_all([contender])
        timings[key] = Timing(key, contender.label, contender.role, contender.group)
    return _cold_probes(timings, lambda key: ["first-reply", key, url], config.import_depths[::3])


def scenario_memory(server: Server, config: Config) -> list[Timing]:
    """6. RSS after ``memory_small`` and after ``memory_large`` invokes, per contender."""
    url = server.url("/c20")
    sizes = (str(config.memory_small), str(config.memory_large))
    # Two probes at a time: only their memory is measured, not their speed.
    with ThreadPoolExecutor(max_workers=2) as pool:
        probes = list(pool.map(lambda key: _probe("memory", key, url, *sizes), BUILDERS))
    timings = []
    for key, probe in zip(BUILDERS, probes, strict=True):
        contender = BUILDERS[key]("invoke", url)
        close_all([contender])
        timing = Timing(key, contender.label, contender.role, contender.group)
        timing.extra = probe
        timings.append(timing)
    return timings


# -------------------------------------------------------------------------- report


def _ms(seconds: float) -> str:
    value = seconds * 1000
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def _cell(t: Timing) -> str:
    return f"{_ms(t.median)} ({_ms(t.min)})"


def _ratio(a: Timing, b: Timing) -> str:
    return f"**{a.median / b.median:.2f}** ({a.min / b.min:.2f})"


def _cpu_ratio(a: Timing, b: Timing) -> str:
    return f"{a.cpu_median / b.cpu_median:.2f}" if a.cpu and b.cpu else ""


def _mb(value: float) -> str:
    return f"{value / 2**20:+.1f}"


Row = list[str]


def _compare(title: str, timings: list[Timing], note: Any) -> list[Row]:
    """Rows of ours vs each peer (and vs the floor) within each group."""
    by_key = {t.key: t for t in timings}
    floor = by_key["floor"]
    rows = []
    for ours_key, peer_keys in GROUPS.values():
        ours = by_key[ours_key]
        for peer_key in peer_keys:
            peer = by_key[peer_key]
            rows.append(
                [
                    title,
                    ours.label,
                    peer.label,
                    _cell(ours),
                    _cell(peer),
                    _ratio(ours, peer),
                    _cpu_ratio(ours, peer),
                    _ratio(ours, floor),
                    note(ours, peer),
                ]
            )
    rows.append([title, "(floor)", floor.label, "", _cell(floor), "", "", "", note(floor, None)])
    return rows


def _framework_floor_rows(title: str, timings: list[Timing]) -> list[Row]:
    """Ours against the framework floor of its group (scenario 1)."""
    by_key = {t.key: t for t in timings}
    rows = []
    notes = {
        False: "ms/stream; peer column: the framework alone (ours/peer = ours / framework floor)",
        True: "ms/stream; peer column: the framework and the cheapest HTTP (ours/peer = ours / "
        "framework floor with HTTP)",
    }
    for group, floor_keys in FRAMEWORK_FLOOR_KEYS.items():
        for floor_key in floor_keys:
            if floor_key not in by_key:
                continue
            ours, floor = by_key[GROUPS[group][0]], by_key[floor_key]
            rows.append(
                [
                    title,
                    ours.label,
                    floor.label,
                    _cell(ours),
                    _cell(floor),
                    _ratio(ours, floor),
                    _cpu_ratio(ours, floor),
                    "",
                    notes["http" in floor_key],
                ]
            )
    return rows


def _concurrent_rows(config: Config, timings: list[Timing]) -> list[Row]:
    ideal = config.latency

    def describe(t: Timing) -> str:
        return (
            f"{t.median / ideal:.0f}x ideal, {t.extra['first_burst_connections']} conns "
            f"first burst, {max(t.connections)} new per warm burst"
        )

    def note(ours: Timing, peer: Timing | None) -> str:
        if peer is None:
            return f"ms/warm burst; {describe(ours)}"
        return f"ms/warm burst; ours {describe(ours)}; peer {describe(peer)}"

    title = (
        f"3. {config.concurrency} concurrent async invokes, server latency "
        f"{ideal * 1000:.0f} ms (ideal {ideal * 1000:.0f} ms)"
    )
    return _compare(title, timings, note)


def _large_burst_rows(config: Config, timings: list[Timing]) -> list[Row]:
    """Scenario 3b: per size, ours against ChatOpenAI; linearity against the smallest size."""
    by_key = {t.key: t for t in timings}
    small, *_ = config.large_bursts
    rows = []
    for size in config.large_bursts:
        peer = by_key[f"lc-openai@{size}"]
        for ours_key in ("lc-ours", "li-ours"):
            ours = by_key[f"{ours_key}@{size}"]

            def describe(t: Timing, base: str, size: int = size) -> str:
                if "deadline" in t.extra:
                    return f"did not finish {size:,} calls within {t.extra['deadline']:.0f} s"
                per_call = t.median / size * 1e6
                scale = ""
                base_timing = by_key[f"{base}@{small}"]
                if size != small and "deadline" not in base_timing.extra:
                    scale = f", {t.median / base_timing.median:.1f}x the {small:,} burst"
                return (
                    f"{per_call:.0f} us/call{scale}, {t.extra['connections']} conns in "
                    f"{config.large_burst_repeats + 1} bursts, "
                    f"{t.extra['errors'] + t.extra['first_burst_errors']} errors"
                )

            def cell(t: Timing) -> str:
                return f"> {_ms(t.median)} (not finished)" if "deadline" in t.extra else _cell(t)

            def ratio(a: Timing, b: Timing) -> str:
                if "deadline" in b.extra:
                    return f"**< {a.median / b.median:.2f}**"
                return _ratio(a, b)

            rows.append(
                [
                    f"3b. {size:,} concurrent async invokes, server latency "
                    f"{config.latency * 1000:.0f} ms",
                    ours.label,
                    peer.label,
                    cell(ours),
                    cell(peer),
                    ratio(ours, peer),
                    _cpu_ratio(ours, peer) if peer.cpu else "",
                    "",
                    f"ms/burst; ours {describe(ours, ours_key)}; "
                    f"peer {describe(peer, 'lc-openai')}",
                ]
            )
    return rows


def _import_rows(timings: list[Timing]) -> list[Row]:
    rows = []
    by_module = {t.key: t for t in timings}
    for ours_name, peers, floor_name in IMPORTS.values():
        ours, floor = by_module[ours_name], by_module[floor_name]
        for peer_name in peers:
            peer = by_module[peer_name]
            rows.append(
                [
                    "5. cold import",
                    ours.label,
                    peer.label,
                    _cell(ours),
                    _cell(peer),
                    _ratio(ours, peer),
                    _cpu_ratio(ours, peer),
                    _ratio(ours, floor),
                    f"ms; floor: {floor.label} {_cell(floor)}",
                ]
            )
    return rows


def _memory_rows(config: Config, timings: list[Timing]) -> list[Row]:
    by_key = {t.key: t for t in timings}
    floor = by_key["floor"]
    title = f"6. RSS growth from {config.memory_small} to {config.memory_large:,} invokes"

    def growth(t: Timing) -> int:
        return int(t.extra["rss_large"] - t.extra["rss_small"])

    def cell(t: Timing) -> str:
        return f"{_mb(growth(t))} MB (RSS {t.extra['rss_large'] / 2**20:.0f} MB)"

    def ratio(a: Timing, b: Timing) -> str:
        return f"RSS **{a.extra['rss_large'] / b.extra['rss_large']:.2f}**"

    rows = []
    for ours_key, peer_keys in GROUPS.values():
        ours = by_key[ours_key]
        for peer_key in peer_keys:
            peer = by_key[peer_key]
            rows.append(
                [
                    title,
                    ours.label,
                    peer.label,
                    cell(ours),
                    cell(peer),
                    ratio(ours, peer),
                    "",
                    ratio(ours, floor),
                    "growth (final RSS); ratios of final RSS",
                ]
            )
    rows.append([title, "(floor)", floor.label, "", cell(floor), "", "", "", ""])
    return rows


def _goals(results: dict[str, list[Timing]], config: Config) -> list[str]:
    def get(scenario: str, key: str) -> Timing:
        return next(t for t in results[scenario] if t.key == key)

    lines = []

    def goal(name: str, met: bool, shown: str) -> None:
        lines.append(f"- {name}: {shown} -> **{'met' if met else 'NOT met'}**")

    def ratio_goal(name: str, ours: Timing, peer: Timing, limit: float) -> None:
        ratio = ours.median / peer.median
        goal(
            name,
            ratio <= limit,
            f"{ratio:.2f}x median wall, {ours.min / peer.min:.2f}x min, "
            f"{ours.cpu_median / peer.cpu_median:.2f}x median CPU",
        )

    if "1" in results:
        ratio_goal(
            "1. ChatModelsLab <= 0.8x ChatOpenAI (stream)",
            get("1", "lc-ours"),
            get("1", "lc-openai"),
            0.8,
        )
        ratio_goal(
            "1. transport iteration <= 1.3x the floor", get("1", "tr-ours"), get("1", "floor"), 1.3
        )
        if any(t.key == "lc-http-floor" for t in results["1"]):
            ratio_goal(
                "1. ChatModelsLab.stream <= 1.15x the LangChain floor with HTTP",
                get("1", "lc-ours"),
                get("1", "lc-http-floor"),
                1.15,
            )
            ratio_goal(
                "1. ModelsLabLLM.stream_chat <= 1.2x the LlamaIndex floor with HTTP",
                get("1", "li-ours"),
                get("1", "li-http-floor"),
                1.2,
            )
    if "2" in results:
        ratio_goal(
            f"2. ChatModelsLab <= 0.8x ChatOpenAI ({config.invokes} invokes)",
            get("2", "lc-ours"),
            get("2", "lc-openai"),
            0.8,
        )
    if "3" in results:
        for key in ("lc-ours", "li-ours", "tr-ours"):
            t = get("3", key)
            warm = max(t.connections)
            goal(
                f"3. {t.label}: no new connection per request",
                warm == 0 and t.extra["first_burst_connections"] <= config.concurrency,
                f"{t.extra['first_burst_connections']} connections for the first burst of "
                f"{config.concurrency}, at most {warm} new in a warm burst",
            )
    if "3b" in results:
        small, large = config.large_bursts[0], config.large_bursts[-1]
        for key in ("lc-ours", "li-ours"):
            a, b = get("3b", f"{key}@{small}"), get("3b", f"{key}@{large}")
            errors = sum(t.extra["errors"] + t.extra["first_burst_errors"] for t in (a, b))
            scale = b.median / a.median
            finished = "deadline" not in a.extra and "deadline" not in b.extra
            goal(
                f"3b. {a.label}: {large:,} concurrent calls linear, no collapse "
                f"(<= 1.5x the per-call time of {small:,}, 0 errors)",
                finished and errors == 0 and scale <= 1.5 * large / small,
                f"{large:,} took {b.median:.2f} s, {small:,} took {a.median:.2f} s "
                f"({scale:.1f}x for {large / small:.0f}x the calls), {errors} errors",
            )
    if "5" in results:
        ours = get("5", "langchain_modelslab:ChatModelsLab")
        peer = get("5", "langchain_openai:ChatOpenAI")
        goal(
            "5. import langchain_modelslab <= 0.5x langchain_openai",
            ours.median / peer.median <= 0.5,
            f"{ours.median / peer.median:.2f}x median ({_ms(ours.median)} vs "
            f"{_ms(peer.median)} ms)",
        )
    if "6" in results:
        for key in ("lc-ours", "li-ours", "tr-ours"):
            t = get("6", key)
            grown = t.extra["rss_large"] - t.extra["rss_small"]
            goal(
                f"6. {t.label}: flat memory (growth < 1 MB)",
                grown < 2**20,
                f"{_mb(grown)} MB from {config.memory_small} to {config.memory_large:,} invokes",
            )
    return lines


def render(results: dict[str, list[Timing]], config: Config, elapsed: float) -> str:
    """The markdown report: machine line, the ratio table, the goals."""
    rows: list[Row] = []
    if "1" in results:
        title = f"1. stream {config.stream_chunks:,} chunks + aggregate"
        rows += _compare(title, results["1"], lambda ours, peer: "ms/stream")
        rows += _framework_floor_rows(title, results["1"])
    if "2" in results:
        rows += _compare(
            f"2. {config.invokes} sequential invokes, one instance",
            results["2"],
            lambda ours, peer: f"ms/{config.invokes} calls",
        )
    if "3" in results:
        rows += _concurrent_rows(config, results["3"])
    if "3b" in results:
        rows += _large_burst_rows(config, results["3b"])
    if "4" in results:
        rows += _compare(
            f"4. stream {config.tool_fragments} tool-call fragments + assemble",
            results["4"],
            lambda ours, peer: f"ms/{config.tool_streams} streams",
        )
    if "5" in results:
        rows += _import_rows(results["5"])
    if "5b" in results:
        rows += _compare(
            "5. cold start: import + build + first invoke",
            results["5b"],
            lambda ours, peer: "ms, fresh interpreter each",
        )
    if "6" in results:
        rows += _memory_rows(config, results["6"])
    header = [
        "scenario",
        "ours",
        "peer",
        "ours: median (min)",
        "peer: median (min)",
        "ours/peer: median (min)",
        "ours/peer CPU",
        "ours/floor: median (min)",
        "unit, notes",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    versions = ", ".join(
        f"{dist} {metadata.version(dist)}"
        for dist in (
            "httpx2",
            "httpcore2",
            "httpx",
            "httpcore",
            "pydantic",
            "langchain-core",
            "langchain-openai",
            "openai",
            "llama-index-core",
            "llama-index-llms-openai-like",
            "llama-index-llms-modelslab",
        )
    )
    command = "python -m benchmarks" + (" --quick" if config.quick else "")
    machine = (
        f"Run {datetime.date.today().isoformat()} with `{command}` ({elapsed:.0f} s): "
        f"Python {platform.python_version()} on {os.cpu_count()} CPU cores shared with other "
        f"jobs, so wall times are noisy (ratios within one run are what to read; the CPU "
        f"column is this process's CPU time, steadier). {versions}."
    )
    return "\n".join(
        [
            machine,
            "",
            *lines,
            "",
            "Ratios below 1: ours is faster (or smaller). Goals:",
            "",
            *_goals(results, config),
        ]
    )


def _write_results(report: str) -> None:
    block = f"{BEGIN}\n{report}\n{END}"
    if RESULTS.exists():
        text = RESULTS.read_text()
        if BEGIN in text and END in text:
            head, _, rest = text.partition(BEGIN)
            _, _, tail = rest.partition(END)
            RESULTS.write_text(head + block + tail)
            return
    RESULTS.write_text(f"# Benchmark results\n\n{block}\n")


def _write_json(path: Path, config: Config, results: dict[str, list[Timing]]) -> None:
    raw = {k: [asdict(t) for t in v] for k, v in results.items()}
    path.write_text(json.dumps({"config": asdict(config), "results": raw}, indent=1))


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks, print the table, update RESULTS.md."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a minute or two)")
    parser.add_argument("--only", default="1,2,3,4,5,6,7,8", help="scenarios to run, e.g. 1,2")
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args(argv)
    os.environ.update(QUIET_ENVIRONMENT)
    os.environ.pop("MODELSLAB_BASE_URL", None)
    config = Config.for_quick_look() if args.quick else Config()
    wanted = set(args.only.split(","))
    started = time.perf_counter()
    results: dict[str, list[Timing]] = {}
    steps = [
        ("1", "stream", scenario_stream),
        ("2", "sequential invokes", scenario_invoke),
        ("3", "concurrent async invokes", scenario_concurrent),
        ("3b", "1,000 and 5,000 concurrent async invokes", scenario_large_bursts),
        ("4", "tool-call stream", scenario_tools),
        ("5b", "cold start to a first reply", scenario_first_reply),
        ("6", "memory", scenario_memory),
    ]
    if "5" in wanted:
        compile_our_bytecode()
    with running_server() as server:
        for number, name, scenario in steps:
            if number.rstrip("b") in wanted:
                print(f"scenario {number}: {name} ...", file=sys.stderr, flush=True)
                results[number] = scenario(server, config)
                if args.json:  # after every scenario: a run cut short keeps what it measured
                    _write_json(args.json, config, results)
        queue_rows, stream_rows = [], []
        if "7" in wanted:  # ModelsLab's queue limit: N requests at once, limit 5
            print("scenario 7: queue limit ...", file=sys.stderr, flush=True)
            queue_rows = queue_scenario.run(server, (100,) if config.quick else (100, 1000))
            print(queue_scenario.render(queue_rows), file=sys.stderr, flush=True)
        if "8" in wanted:  # 5,000 concurrent streams: RSS and file descriptors
            print("scenario 8: 5,000 concurrent streams ...", file=sys.stderr, flush=True)
            stream_rows = many_streams.run(server, 500 if config.quick else many_streams.STREAMS)
            print(many_streams.render(stream_rows), file=sys.stderr, flush=True)
        stats = server.stats()
    if "5" in wanted:
        print("scenario 5: imports ...", file=sys.stderr, flush=True)
        results["5"] = scenario_imports(config)
    report = render(results, config, time.perf_counter() - started)
    if queue_rows:
        report += "\n\n" + queue_scenario.render(queue_rows)
    if stream_rows:
        report += "\n\n" + many_streams.render(stream_rows)
    print(report)
    print(f"\nserver counters: {stats}", file=sys.stderr)
    if args.json:
        _write_json(args.json, config, results)
    if not args.no_write and wanted == {"1", "2", "3", "4", "5", "6", "7", "8"}:
        _write_results(report)
        print(f"written to {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()
