"""Every example runs to completion from its recorded cassette."""

from __future__ import annotations

import importlib

import pytest

from examples.__main__ import EXAMPLES

pytestmark = pytest.mark.vcr

# What each example must print (a line that starts with the key and has more after it).
EXPECTED_LINES = {
    "transport_chat": ["chat:", "stream:", "streamed finish_reason:"],
    "langchain_chain": ["invoke:", "stream:", "usage:"],
    "langchain_agent": ["tool call:", "tool result:", "answer:"],
    "langchain_structured": ["parsed: Person("],
    "llama_index_rag": ["question:", "answer:", "source:", "streamed:"],
    "llama_index_agent": ["tool call: multiply(", "answer:"],
}


def assert_printed(out: str, name: str) -> None:
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].startswith("mode: "), lines[0]
    for prefix in EXPECTED_LINES[name]:
        matching = [line for line in lines if line.startswith(prefix)]
        assert matching, f"{name} printed no line starting with {prefix!r}:\n{out}"
        assert matching[0][len(prefix) :].strip(), f"{name}: {prefix!r} line is empty"


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    importlib.import_module(f"examples.{name}").main()
    assert_printed(capsys.readouterr().out, name)
