"""Every example runs to completion, replaying its recorded cassette."""

from __future__ import annotations

import importlib

import pytest

from examples.__main__ import EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_runs(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    importlib.import_module(f"examples.{name}").main()
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].startswith("mode: ")
    assert len(lines) >= 3
