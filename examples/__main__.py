"""Run every example in turn: ``python -m examples``."""

from __future__ import annotations

import importlib

EXAMPLES = [
    "transport_chat",
    "langchain_chain",
    "langchain_agent",
    "langchain_structured",
    "llama_index_rag",
    "llama_index_agent",
]


def main() -> None:
    for name in EXAMPLES:
        print(f"\n=== examples/{name}.py ===")
        importlib.import_module(f"examples.{name}").main()


if __name__ == "__main__":
    main()
