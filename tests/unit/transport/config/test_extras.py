"""The error naming the pip extra a framework package needs when its framework is missing.

Subprocess checks with the framework really absent are in ``tests/architecture/test_extras.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from modelslab_transport.config.extras import DISTRIBUTION, MissingExtraError, require_extra


def test_an_installed_module_passes() -> None:
    require_extra("json", extra="langchain", needed_by="langchain_modelslab")


def test_a_missing_module_names_the_pip_command() -> None:
    with pytest.raises(MissingExtraError) as caught:
        require_extra(
            "no_such_framework_xyz", extra="llama-index", needed_by="llama_index_modelslab"
        )
    error = caught.value
    assert str(error) == (
        "llama_index_modelslab needs the 'no_such_framework_xyz' module, which is not installed; "
        f'install the extra with: pip install "{DISTRIBUTION}[llama-index]"'
    )
    assert error.name == "no_such_framework_xyz"
    assert isinstance(error, ModuleNotFoundError)
    assert isinstance(error.__cause__, ModuleNotFoundError)


def test_a_missing_parent_package_counts_as_the_module_missing() -> None:
    with pytest.raises(MissingExtraError, match=r"'no_such_pkg_xyz\.core'"):
        require_extra("no_such_pkg_xyz.core", extra="langchain", needed_by="x")


@pytest.fixture
def broken_module() -> Iterator[str]:
    """A module that exists but whose own import fails on another missing module."""
    name = "mirror_broken_framework"
    module = ModuleType(name)
    module.__path__ = []  # a package, so the finder is asked for it
    sys.modules.pop(name, None)

    class Finder:
        def find_spec(self, fullname: str, path: object, target: object = None) -> None:
            if fullname == name:
                raise ModuleNotFoundError("No module named 'its_dependency'", name="its_dependency")

    finder = Finder()
    sys.meta_path.insert(0, finder)  # type: ignore[arg-type]
    yield name
    sys.meta_path.remove(finder)  # type: ignore[arg-type]


def test_a_missing_dependency_inside_the_framework_is_raised_unchanged(broken_module: str) -> None:
    with pytest.raises(ModuleNotFoundError) as caught:
        require_extra(broken_module, extra="langchain", needed_by="x")
    assert not isinstance(caught.value, MissingExtraError)
    assert caught.value.name == "its_dependency"
