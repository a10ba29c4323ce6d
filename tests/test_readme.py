"""The code in the README and in ``docs/`` runs as written, and the docs match the code.

Every ``python`` block in ``README.md`` and ``docs/*.md`` is preceded by a marker:
``<!-- snippet: NAME -->`` blocks run in a fresh interpreter from the repository root,
with ``MODELSLAB_BASE_URL`` pointing at :class:`OpenAIFake` on 127.0.0.1 (no key, no
network), and must exit 0 having printed what they say they print; ``<!-- not-run:
REASON -->`` blocks need what no offline test has (a Redis server, a third-party package,
a Messages endpoint) and say so. The model table in ``docs/models.md`` is generated from
the profiles; links between the documents resolve; every ``python -m`` module the
documents name exists.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modelslab_transport.config.model_profiles import MODEL_PROFILES, ModelProfile
from tests.conftest import REPO_ROOT
from tests.support.openai_fake import MODEL_IDS, OpenAIFake

README_PATH = REPO_ROOT / "README.md"
MODELS_DOC = REPO_ROOT / "docs" / "models.md"
DOCUMENTS = [README_PATH, *sorted((REPO_ROOT / "docs").glob("*.md"))]
"""The documents whose code blocks are checked."""
LINKED = [*DOCUMENTS, REPO_ROOT / "CONTRIBUTING.md", REPO_ROOT / "CHANGELOG.md"]
"""The documents whose links and ``python -m`` commands are checked."""

README = README_PATH.read_text(encoding="utf-8")
README_MAX_LINES = 250

_FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
_SNIPPET = re.compile(r"<!-- snippet: ([\w-]+) -->")
_NOT_RUN = re.compile(r"<!-- not-run: (\S.*?) -->")


def _blocks(path: Path) -> list[tuple[str, str]]:
    """``(marker line, code)`` of every python block in ``path``."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        found.append((before, match.group(1)))
    return found


def _snippets() -> dict[str, str]:
    snippets: dict[str, str] = {}
    for path in DOCUMENTS:
        for marker, code in _blocks(path):
            named = _SNIPPET.fullmatch(marker)
            if named:
                assert named.group(1) not in snippets, f"snippet name used twice: {marker}"
                snippets[named.group(1)] = code
    return snippets


SNIPPETS = _snippets()
"""Every runnable snippet of the README and ``docs/``, by name."""

_GREETING = "Hello from the fake server."

# What each snippet must print (every string, in order), and the paths it must request.
EXPECTED: dict[str, tuple[list[str], list[str]]] = {
    "list-models": ([repr(list(MODEL_IDS))], ["/v1/models"]),
    "langchain-quickstart": ([_GREETING, _GREETING], ["/chat/completions", "/chat/completions"]),
    "langchain-agent": (["The answer is 42."], ["/chat/completions", "/chat/completions"]),
    "llama-index-quickstart": (
        [_GREETING, _GREETING, "The answer is 42."],
        ["/chat/completions"] * 4,
    ),
    "llama-index-rag": ([_GREETING], ["/chat/completions"]),
    "configuration-both-classes": ([_GREETING, _GREETING], ["/chat/completions"] * 2),
    "transport-alone": (
        [_GREETING, _GREETING, repr(list(MODEL_IDS))],
        ["/chat/completions", "/chat/completions", "/v1/models"],
    ),
    # The snippet's own base URL (a closed loopback port) wins over the environment's.
    "errors-catch": (["ModelsLabConnectionError True", "APIConnectionError True"], []),
}


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_python_block_is_run_or_says_why_not(path: Path) -> None:
    for marker, code in _blocks(path):
        assert _SNIPPET.fullmatch(marker) or _NOT_RUN.fullmatch(marker), (
            f"{path.name}: a python block has neither <!-- snippet: NAME --> nor "
            f"<!-- not-run: REASON --> on the line before it:\n{code[:300]}"
        )


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
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
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
    """The model table of ``docs/models.md``, from ``MODEL_PROFILES``."""
    lines = [
        "| model id | context (tokens) | tools | JSON mode | images | reasoning |",
        "|---|---|---|---|---|---|",
    ]
    lines += [_row(model, profile) for model, profile in MODEL_PROFILES.items()]
    return "\n".join(lines) + "\n"


def test_model_table_matches_the_profiles() -> None:
    match = _TABLE.search(MODELS_DOC.read_text(encoding="utf-8"))
    assert match, "docs/models.md lost its model-table markers"
    expected = render_model_table()
    assert match.group(2) == expected, (
        "docs/models.md's model table is stale; run python -m tests.test_readme"
    )


# ------------------------------------------------------------------ the documents


def test_readme_is_short_and_has_its_neighbours() -> None:
    lines = README.count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES})"
    for name in ("CHANGELOG.md", "CONTRIBUTING.md", "LICENSE"):
        assert (REPO_ROOT / name).is_file(), name


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)}


_LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.mark.parametrize("path", LINKED, ids=lambda p: p.name)
def test_links_between_the_documents_resolve(path: Path) -> None:
    for target in _LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # https://, mailto:
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        assert linked.exists(), f"{path.name} links to {target}, which does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{path.name} links to {target}: no such heading"


_MODULE = re.compile(r"python3? -m ([A-Za-z_][\w.]*)")


@pytest.mark.parametrize("path", LINKED, ids=lambda p: p.name)
def test_every_python_m_module_named_exists(path: Path) -> None:
    for module in set(_MODULE.findall(path.read_text(encoding="utf-8"))):
        if module in {"venv", "pip", "pytest"}:
            continue
        assert importlib.util.find_spec(module) is not None, f"{path.name}: python -m {module}"


if __name__ == "__main__":  # python -m tests.test_readme rewrites docs/models.md's model table
    path = MODELS_DOC
    text = path.read_text(encoding="utf-8")
    path.write_text(
        _TABLE.sub(lambda m: m.group(1) + render_model_table() + m.group(3), text),
        encoding="utf-8",
    )
