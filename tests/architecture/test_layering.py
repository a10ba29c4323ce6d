"""The transport's layers: nothing imports upward, no import circles, no hidden imports.

The layers, bottom to top, are the subpackages of ``modelslab_transport`` (see
``CONTRIBUTING.md``, Layout). A module may import its own layer and the layers below it; the
framework packages import only the transport's public faces: the package, its top-level
modules and its subpackages (never a module inside one, but the constants of
``config.defaults``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRANSPORT = "modelslab_transport"
LAYERS = (
    ("_lazy", "_version", "errors", "after_fork"),
    ("wire",),
    ("config",),
    ("chat",),
    ("decoding",),
    ("protocols",),
    ("limits",),
    ("http",),
    ("client_core", "client"),
    ("client_set",),
    ("modelslab", "holder"),
)
"""Bottom to top: the first part of each module's name below ``modelslab_transport``."""
FRAMEWORKS = ("langchain_modelslab", "llama_index_modelslab")
DEFERRED = {
    ("modelslab_transport.holder", "modelslab_transport.modelslab"): (
        "a framework model imports the HTTP stack on its first call, not with its package"
    ),
}
"""The only imports of project modules made inside a function, and why each is deferred."""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules(package: str) -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}


def _imports(name: str, path: Path) -> list[tuple[str, int, bool]]:
    """``(imported module, line, at module level)`` for every import of a project module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, int, bool]] = []
    type_checking_lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in ast.walk(node):
                type_checking_lines.add(getattr(child, "lineno", -1))
    top_level = {id(node) for node in tree.body}
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" for alias in node.names] + [module]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        for target in targets:
            if target.split(".")[0] in (TRANSPORT, *FRAMEWORKS):
                at_top = id(node) in top_level or node.lineno in type_checking_lines
                found.append((target, node.lineno, at_top))
    return found


def _resolve(target: str, modules: dict[str, Path]) -> str | None:
    """The project module ``target`` names (``pkg.mod.Name`` -> ``pkg.mod``), if any."""
    while target and target not in modules:
        target = target.rpartition(".")[0]
    return target or None


def _layer(module: str) -> int:
    if module == TRANSPORT:
        return len(LAYERS)  # the face sits on top
    first = module.split(".")[1]
    for index, names in enumerate(LAYERS):
        if first in names:
            return index
    raise AssertionError(f"{module} is in no layer: add its subpackage to LAYERS")


TRANSPORT_MODULES = _modules(TRANSPORT)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in TRANSPORT_MODULES.items():
        edges = graph.setdefault(name, set())
        for target, _, _ in _imports(name, path):
            module = _resolve(target, TRANSPORT_MODULES)
            if module is not None and module != name and not name.startswith(f"{module}."):
                edges.add(module)
    return graph


def test_every_module_sits_in_a_layer() -> None:
    for name in TRANSPORT_MODULES:
        _layer(name)


def test_nothing_imports_upward() -> None:
    upward = [
        f"{name} -> {target}"
        for name, targets in _graph().items()
        if name != TRANSPORT
        for target in targets
        if target != TRANSPORT and _layer(target) > _layer(name)
    ]
    assert upward == []


def test_no_module_imports_the_package_face() -> None:
    """Only the face's own lazy table reads the face; no module depends on it."""
    users = [name for name, targets in _graph().items() if TRANSPORT in targets]
    assert users == []


def test_no_import_circles() -> None:
    graph = _graph()
    circles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                circles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert circles == []


@pytest.mark.parametrize("name", sorted(TRANSPORT_MODULES))
def test_project_imports_are_at_module_level(name: str) -> None:
    """No import of a project module hides inside a function (where Python cannot see it)."""
    hidden = [
        f"{name}:{line} imports {target}"
        for target, line, at_top in _imports(name, TRANSPORT_MODULES[name])
        if not at_top
        and (module := _resolve(target, TRANSPORT_MODULES)) is not None
        and (name, module) not in DEFERRED
    ]
    assert hidden == []


def _imported_from(path: Path) -> list[tuple[str, int]]:
    """``(module named in the import statement, line)`` for every import of the transport."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
    return [(module, line) for module, line in found if module.split(".")[0] == TRANSPORT]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_frameworks_import_only_public_faces(framework: str) -> None:
    faces = {
        name
        for name, path in TRANSPORT_MODULES.items()
        if path.name == "__init__.py" or name.count(".") == 1
    } | {"modelslab_transport.config.defaults"}
    reached = [
        f"{name}:{line} imports from {module}"
        for name, path in _modules(framework).items()
        for module, line in _imported_from(path)
        if module not in faces
    ]
    assert reached == []


def test_transport_imports_no_framework() -> None:
    reached = [
        f"{name}:{line} imports {target}"
        for name, path in TRANSPORT_MODULES.items()
        for target, line, _ in _imports(name, path)
        if target.split(".")[0] in FRAMEWORKS
    ]
    assert reached == []
