"""Tests mirror the code: each source module that defines a function or class has a unit test
module named after it, and that test module imports it.

``modelslab_transport/<sub>/<module>.py`` is tested in
``tests/unit/transport/<sub>/test_<module>.py``, a top-level transport module in
``tests/unit/transport/test_<module>.py``, and the framework packages' modules in
``tests/unit/langchain/`` and ``tests/unit/llama_index/``. A module's tests may be split by
aspect into ``test_<module>_<aspect>.py``; a leading underscore is dropped from the name.
Modules without a function or class (``_version``, ``config/defaults``, the ``__init__``
faces) need none. No test file is named or described by its history (a ticket number).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "tests" / "unit"
PACKAGES = {
    "modelslab_transport": UNIT / "transport",
    "langchain_modelslab": UNIT / "langchain",
    "llama_index_modelslab": UNIT / "llama_index",
}
EXEMPT: dict[str, str] = {
    "modelslab_transport.wire.catalog": "pydantic field declarations only, no logic",
}
"""Modules with a function or class but no unit test module of their own, and why."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _defines_logic(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(isinstance(node, kinds) for node in tree.body)


def _source_modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if _defines_logic(path):
                found[_module_name(path)] = path
    return found


def _test_modules(name: str, path: Path) -> list[Path]:
    """The test modules that mirror source module ``name``: exact name, or split by aspect."""
    package = name.split(".")[0]
    base = PACKAGES[package].joinpath(*path.relative_to(ROOT / package).parent.parts)
    stem = path.stem.lstrip("_") if path.stem != "__init__" else "init"
    return sorted({*base.glob(f"test_{stem}.py"), *base.glob(f"test_{stem}_*.py")})


def _defined_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def _imports(test_module: Path, name: str, path: Path) -> bool:
    """Whether ``test_module`` imports module ``name``, or a name it defines via a face."""
    parent, _, last = name.rpartition(".")
    defined = _defined_names(path)
    tree = ast.parse(test_module.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(alias.name == name for alias in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and not node.level and node.module:
            if node.module == name:
                return True
            imported = {alias.name for alias in node.names}
            if node.module == parent and last in imported:
                return True
            if name.startswith(f"{node.module}.") and imported & defined:
                return True
    return False


SOURCES = _source_modules()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_each_module_has_its_test_module(name: str) -> None:
    if name in EXEMPT:
        pytest.skip(EXEMPT[name])
    tests = _test_modules(name, SOURCES[name])
    assert tests, f"{name} has logic but no unit test module (expected test_<module>.py)"
    assert any(_imports(test, name, SOURCES[name]) for test in tests), (
        f"{name}: none of {[str(t.relative_to(ROOT)) for t in tests]} imports it"
    )


def test_exemptions_name_modules_with_logic() -> None:
    assert set(EXEMPT) <= set(SOURCES), set(EXEMPT) - set(SOURCES)


def test_exempt_modules_have_no_test_module() -> None:
    """An exemption ends when the module gets its test module."""
    tested = [name for name in EXEMPT if _test_modules(name, SOURCES[name])]
    assert not tested, f"remove from EXEMPT: {tested}"


def test_every_unit_test_module_mirrors_a_source_module() -> None:
    """No test module under ``tests/unit`` is named after something that is not a module."""
    stems: dict[Path, set[str]] = {}
    for name, path in _all_modules().items():
        package = name.split(".")[0]
        folder = PACKAGES[package].joinpath(*path.relative_to(ROOT / package).parent.parts)
        stems.setdefault(folder, set()).add(path.stem.lstrip("_"))
    strays = []
    for test in sorted(UNIT.rglob("test_*.py")):
        stem = test.stem.removeprefix("test_")
        known = stems.get(test.parent, set())
        if not any(stem == s or stem.startswith(f"{s}_") for s in known):
            strays.append(str(test.relative_to(ROOT)))
    assert not strays, f"unit test modules not named after a source module: {strays}"


def _all_modules() -> dict[str, Path]:
    return {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.name != "__init__.py"
    }


_HISTORY = re.compile(r"\bissues?\b|\bregressions?\b|#\d+|\bused to\b|\bonce did\b", re.IGNORECASE)
"""What names or describes a test by its history rather than by what it exercises."""


def test_test_modules_are_named_and_described_by_what_they_exercise() -> None:
    found = []
    for test in sorted((ROOT / "tests").rglob("*.py")):
        if re.search(r"issue|regression|\d{2,}", test.name, re.IGNORECASE):
            found.append(f"{test.relative_to(ROOT)}: its name")
        docstring = ast.get_docstring(ast.parse(test.read_text(encoding="utf-8"))) or ""
        if _HISTORY.search(docstring):
            found.append(f"{test.relative_to(ROOT)}: its docstring")
    assert not found, found
