"""The README's snippets run as written, and its model table matches the profile table.

Each ``<!-- readme-snippet: NAME -->`` code block runs in a fresh interpreter from the
repository root, with ``MODELSLAB_BASE_URL`` pointing at :class:`OpenAIFake` on
127.0.0.1 (no key, no network), and must exit 0 having printed what it says it prints.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from modelslab_transport.config.model_profiles import MODEL_PROFILES, ModelProfile
from tests.conftest import REPO_ROOT
from tests.support.openai_fake import MODEL_IDS, OpenAIFake

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")

_SNIPPET = re.compile(r"<!-- readme-snippet: ([\w-]+) -->\n```python\n(.*?)```", re.DOTALL)
SNIPPETS = dict(_SNIPPET.findall(README))

# What each snippet must print (every string, in order), and the paths it must request.
EXPECTED: dict[str, tuple[list[str], list[str]]] = {
    "list-models": ([repr(list(MODEL_IDS))], ["/v1/models"]),
    "langchain-quickstart": (
        ["Hello from the fake server.", "Hello from the fake server."],
        ["/chat/completions", "/chat/completions"],
    ),
    "langchain-agent": (["The answer is 42."], ["/chat/completions", "/chat/completions"]),
    "llama-index-quickstart": (
        ["Hello from the fake server.", "Hello from the fake server.", "The answer is 42."],
        ["/chat/completions"] * 4,
    ),
    "llama-index-rag": (["Hello from the fake server."], ["/chat/completions"]),
}


def test_every_snippet_is_checked() -> None:
    assert sorted(SNIPPETS) == sorted(EXPECTED)


def _run(code: str, base_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELSLAB_")}
    env["MODELSLAB_BASE_URL"] = base_url
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_readme_snippet_runs_as_written(name: str) -> None:
    printed, paths = EXPECTED[name]
    with OpenAIFake() as server:
        result = _run(SNIPPETS[name], server.base_url)
    assert result.returncode == 0, result.stderr[-3000:]
    position = 0
    for text in printed:
        found = result.stdout.find(text, position)
        assert found >= 0, f"{name} did not print {text!r} (after {position}):\n{result.stdout}"
        position = found + len(text)
    assert [r.path for r in server.requests] == paths
    for request in server.requests:
        if request.method == "POST":
            body = json.loads(request.body)
            assert body["max_tokens"] in (256, 512), body  # the snippets show max_tokens


def test_agent_snippets_ran_the_tool() -> None:
    """The fake called ``multiply(6, 7)``; the agent sent back its result, 42."""
    with OpenAIFake() as server:
        result = _run(SNIPPETS["langchain-agent"], server.base_url)
    assert result.returncode == 0, result.stderr[-3000:]
    second = json.loads(server.requests[1].body)
    assert [m["content"] for m in second["messages"] if m["role"] == "tool"] == ["42"]


def test_init_chat_model_cannot_name_modelslab_as_the_readme_says() -> None:
    """LangChain's provider list is closed; if that changes, the README's note must too."""
    from langchain.chat_models import init_chat_model

    with pytest.raises(ValueError, match="model_provider"):
        init_chat_model("modelslab:google-gemma-3-1b-it")


# ------------------------------------------------------------------ model table

_TABLE = re.compile(
    r"(<!-- model-table:start[^\n]*-->\n)(.*?)(<!-- model-table:end -->)", re.DOTALL
)


def _flag(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "?"}[value]


def _row(model: str, profile: ModelProfile) -> str:
    window = f"{profile.context_window:,}" if profile.context_window else "?"
    cells = [
        f"`{model}`",
        window,
        _flag(profile.tool_calling),
        _flag(profile.json_mode),
        _flag(profile.vision),
        _flag(profile.reasoning),
    ]
    return "| " + " | ".join(cells) + " |"


def render_model_table() -> str:
    """The README's model table, from ``MODEL_PROFILES``."""
    lines = [
        "| model id | context (tokens) | tools | JSON mode | images | reasoning |",
        "|---|---|---|---|---|---|",
    ]
    lines += [_row(model, profile) for model, profile in MODEL_PROFILES.items()]
    return "\n".join(lines) + "\n"


def test_readme_model_table_matches_the_profiles() -> None:
    match = _TABLE.search(README)
    assert match, "README lost its model-table markers"
    expected = render_model_table()
    assert match.group(2) == expected, "README model table is stale; replace it with:\n" + expected


if __name__ == "__main__":  # python -m tests.test_readme rewrites the README's model table
    path = REPO_ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        _TABLE.sub(lambda m: m.group(1) + render_model_table() + m.group(3), text),
        encoding="utf-8",
    )
