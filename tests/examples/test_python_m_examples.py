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
