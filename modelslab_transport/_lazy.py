"""Module-level ``__getattr__``/``__dir__`` (PEP 562) that import a name on first access.

The package roots use it so that importing them costs nothing until a name is used:
``import langchain_modelslab`` then pays only for the modules it needs at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports", "names_by_module"]


def names_by_module(modules: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Turn ``{submodule: [names]}`` into ``{name: submodule}``."""
    return {name: module for module, names in modules.items() for name in names}


def lazy_exports(
    package: str, namespace: dict[str, Any], exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Build the ``__getattr__`` and ``__dir__`` of ``package``.

    ``exports`` maps each exported name to the submodule (relative to ``package``)
    that defines it. A name is imported on first access and then stored in
    ``namespace`` (the package's globals), so later lookups are plain attribute reads.
    """

    def module_getattr(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def module_dir() -> list[str]:
        return sorted({*namespace, *exports})

    return module_getattr, module_dir
