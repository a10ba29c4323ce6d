"""Compare two raw runs: ``python -m benchmarks.compare BEFORE.json AFTER.json``.

Both files come from ``python -m benchmarks --json PATH``, typically one from the code
before a change and one after. Prints a markdown table of our contenders' medians
(wall and CPU) before and after, and their ratio to the same peer in each run.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

OURS_TO_PEER = {"lc-ours": "lc-openai", "li-ours": "li-openai-like", "tr-ours": "tr-openai"}
IMPORT_PAIRS = {
    "langchain_modelslab:ChatModelsLab": "langchain_openai:ChatOpenAI",
    "llama_index_modelslab:ModelsLabLLM": "llama_index.llms.openai_like:OpenAILike",
    "modelslab_transport:ModelsLabClient": "openai:OpenAI",
}
SCENARIOS = {
    "1": "1. stream 2,000 chunks",
    "2": "2. sequential invokes",
    "3": "3. concurrent burst (warm)",
    "4": "4. tool-call stream",
    "5": "5. cold import",
    "5b": "5. cold start to a first reply",
}


def _load(path: str) -> dict[str, dict[str, dict[str, Any]]]:
    raw = json.loads(Path(path).read_text())["results"]
    return {scenario: {t["key"]: t for t in timings} for scenario, timings in raw.items()}


def _median(t: dict[str, Any], field: str = "seconds") -> float:
    return statistics.median(t[field]) if t.get(field) else float("nan")


def _ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def main() -> None:
    """Print the comparison table."""
    before, after = _load(sys.argv[1]), _load(sys.argv[2])
    print(
        "| scenario | ours | wall ms before -> after | CPU ms before -> after "
        "| ours/peer before -> after | conns per warm burst before -> after |"
    )
    print("|---|---|---|---|---|---|")
    for scenario, title in SCENARIOS.items():
        if scenario not in before or scenario not in after:
            continue
        pairs = IMPORT_PAIRS if scenario == "5" else OURS_TO_PEER
        for ours, peer in pairs.items():
            b, a = before[scenario][ours], after[scenario][ours]
            ratio_b = _median(b) / _median(before[scenario][peer])
            ratio_a = _median(a) / _median(after[scenario][peer])
            conns = ""
            if scenario == "3":
                conns = f"{max(b['connections'])} -> {max(a['connections'])}"
            print(
                f"| {title} | {ours} | {_ms(_median(b))} -> {_ms(_median(a))} "
                f"| {_ms(_median(b, 'cpu'))} -> {_ms(_median(a, 'cpu'))} "
                f"| {ratio_b:.2f} -> {ratio_a:.2f} | {conns} |"
            )
        if scenario in ("1", "4"):
            b, a = before[scenario]["tr-ours"], after[scenario]["tr-ours"]
            fb, fa = before[scenario]["floor"], after[scenario]["floor"]
            print(
                f"| {title} | tr-ours / floor (CPU) | | "
                f"| {_median(b, 'cpu') / _median(fb, 'cpu'):.2f} -> "
                f"{_median(a, 'cpu') / _median(fa, 'cpu'):.2f} | |"
            )
    if "6" in before and "6" in after:
        for ours in OURS_TO_PEER:
            b, a = before["6"][ours]["extra"], after["6"][ours]["extra"]
            print(
                f"| 6. RSS growth | {ours} | | | "
                f"{(b['rss_large'] - b['rss_small']) / 2**20:+.1f} MB -> "
                f"{(a['rss_large'] - a['rss_small']) / 2**20:+.1f} MB | |"
            )


if __name__ == "__main__":
    main()
