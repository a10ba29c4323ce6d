"""Module ``__getattr__``/``__dir__`` (PEP 562) importing a package's exports on first access."""

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
    """``package``'s ``__getattr__``/``__dir__`` for ``exports`` (``{name: submodule}``)."""

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
