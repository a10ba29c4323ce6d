"""``python -m examples`` (the README's first command) replays every example in a fresh
interpreter with no key and no base URL."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from examples.__main__ import EXAMPLES
from tests.conftest import REPO_ROOT
from tests.examples.test_examples import assert_printed


@pytest.mark.skipif(
    bool(os.environ.get("MODELSLAB_BASE_URL") or os.environ.get("MODELSLAB_API_KEY")),
    reason="checks the keyless replay path only",
)
def test_python_m_examples_replays_every_example_in_a_fresh_interpreter() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSLAB_")}
    result = subprocess.run(
        [sys.executable, "-m", "examples"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sections = re.split(r"^=== examples/(\w+)\.py ===$", result.stdout, flags=re.MULTILINE)
    printed = dict(zip(sections[1::2], sections[2::2], strict=True))
    assert list(printed) == EXAMPLES
    for name, out in printed.items():
        assert out.strip().startswith("mode: replay"), out[:200]
        assert_printed(out, name)


EDITED_EXAMPLE = """
from examples._runtime import replaying, target
from langchain_modelslab import ChatModelsLab

where = target()
llm = ChatModelsLab(model="google-gemma-3-1b-it", max_tokens=64, **where.langchain_kwargs())
with replaying("langchain_chain", where):
    llm.invoke("A prompt no cassette has recorded.")
"""


def test_an_edited_example_in_replay_ends_with_one_line_saying_what_to_do() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSLAB_")}
    result = subprocess.run(
        [sys.executable, "-c", EDITED_EXAMPLE],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "replay has only the recorded prompts of examples/langchain_chain.py; to run a "
        "changed example, set MODELSLAB_BASE_URL to an OpenAI-compatible server "
        "(python -m tools.recording serve starts one) or MODELSLAB_API_KEY for the live "
        "ModelsLab API"
    ]
