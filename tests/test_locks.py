"""The committed locks agree with each other, with ``pyproject.toml``, the README and CI.

``requirements/examples.lock`` is what the README's first command installs to run the
examples; ``requirements/dev.lock`` is what its test command adds. The examples lock must
pin the same versions as the dev lock (so the second install changes nothing), carry
``pyproject.toml``'s bounds for the runtime and the frameworks, hash every pin, and hold
every distribution the examples import.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements"
EXAMPLES_IN = REQUIREMENTS / "examples.in"
EXAMPLES_LOCK = REQUIREMENTS / "examples.lock"
DEV_LOCK = REQUIREMENTS / "dev.lock"
MINILM_LOCK = REQUIREMENTS / "minilm.lock"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)==([^\s;\\]+)", re.MULTILINE)

FIRST_PARTY = {"modelslab_transport", "langchain_modelslab", "llama_index_modelslab"}
REPO_PACKAGES = {"examples", "tests"}


def pins(path: Path) -> set[tuple[str, str]]:
    """``(canonical name, version)`` of every pin in a lock (a pin per environment marker)."""
    return {
        (canonicalize_name(name), version)
        for name, version in _PIN.findall(path.read_text(encoding="utf-8"))
    }


def test_the_examples_lock_pins_the_dev_locks_versions() -> None:
    extra = pins(EXAMPLES_LOCK) - pins(DEV_LOCK)
    assert not extra, f"examples.lock pins versions dev.lock does not (run bash .ci/lock): {extra}"


def test_every_pin_of_the_examples_lock_has_a_hash() -> None:
    text = EXAMPLES_LOCK.read_text(encoding="utf-8")
    entries = re.split(r"^(?=[A-Za-z0-9])", text, flags=re.MULTILINE)
    for entry in entries:
        if _PIN.match(entry):
            assert "--hash=sha256:" in entry, entry.splitlines()[0]


def _project_requirements() -> list[Requirement]:
    """The runtime dependencies and the two framework extras the examples use."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    listed = [*project["dependencies"], *extras["agents"], *extras["llama-index"]]
    return [Requirement(line) for line in listed]


def _examples_in() -> dict[str, Requirement]:
    lines = EXAMPLES_IN.read_text(encoding="utf-8").splitlines()
    found = [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
    return {canonicalize_name(r.name): r for r in found}


@pytest.mark.parametrize("requirement", _project_requirements(), ids=str)
def test_examples_in_carries_pyprojects_bounds(requirement: Requirement) -> None:
    listed = _examples_in().get(canonicalize_name(requirement.name))
    assert listed is not None, f"{requirement.name} is missing from requirements/examples.in"
    assert listed.specifier == requirement.specifier, (listed, requirement)


def _imports(path: Path) -> set[str]:
    """Top-level modules ``path`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.partition(".")[0])
    return found


def _example_modules() -> list[Path]:
    """The examples the README runs, and the repository modules they import."""
    from examples.__main__ import EXAMPLES

    files = [REPO_ROOT / "examples" / f"{name}.py" for name in [*EXAMPLES, "batch_progress"]]
    files += [REPO_ROOT / "examples" / name for name in ("__main__.py", "_runtime.py")]
    files += [REPO_ROOT / "examples" / "minilm.py", REPO_ROOT / "tests" / "cassette_rules.py"]
    support = REPO_ROOT / "tests" / "support"  # batch_progress's loopback server and its imports
    helpers = ("__init__", "queue_server", "loopback", "replies", "mock_api")
    files += [support / f"{name}.py" for name in helpers]
    return files


def test_the_examples_import_only_what_their_locks_install() -> None:
    installed = pins(EXAMPLES_LOCK) | pins(MINILM_LOCK)
    names = {name for name, _ in installed}
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for path in _example_modules():
        for module in _imports(path):
            if module in sys.stdlib_module_names or module in FIRST_PARTY | REPO_PACKAGES:
                continue
            owners = {canonicalize_name(d) for d in distributions.get(module, [module])}
            if not owners & names:
                missing.append(f"{path.relative_to(REPO_ROOT)} imports {module} ({owners})")
    assert not missing, "not in requirements/examples.lock or minilm.lock:\n" + "\n".join(missing)


def _readme_commands() -> list[str]:
    """The README's two commands, split at ``&&``."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, re.DOTALL)
    assert block, "the README lost its first bash block"
    lines = block.group(1).strip().splitlines()
    assert len(lines) == 2, lines
    return lines


def test_the_readmes_first_command_installs_the_examples_lock_and_runs_the_examples() -> None:
    first, second = _readme_commands()
    assert "-r requirements/examples.lock -r requirements/minilm.lock" in first
    assert "requirements/dev.lock" not in first
    assert first.endswith(".venv/bin/python -m examples")
    assert "-r requirements/dev.lock" in second
    assert second.endswith(".venv/bin/python -m pytest")


def test_ci_runs_the_readmes_commands() -> None:
    ci = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8").replace(" --quiet", "")
    for line in _readme_commands():
        for command in (part.strip() for part in line.split("&&")):
            if command.startswith("python3 -m venv"):
                continue  # CI makes the venv with the Python it found for 3.11
            assert command in ci, f".ci/run does not run the README's {command!r}"
