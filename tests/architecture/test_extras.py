"""Importing a framework package without its extra names the extra to install.

Each case runs in a fresh interpreter with a meta-path finder that makes the framework
look uninstalled (every import of it, and of its submodules, raises
``ModuleNotFoundError``, as when the package is absent).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BLOCKER = """
import importlib.abc, sys

class Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == {blocked!r} or name.startswith({blocked!r} + "."):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Uninstalled())
"""


def _import_without(blocked: str, package: str) -> subprocess.CompletedProcess[str]:
    code = BLOCKER.format(blocked=blocked) + textwrap.dedent(f"""
        try:
            import {package}
        except ImportError as error:
            print(type(error).__name__, isinstance(error, ModuleNotFoundError), error.name)
            print(error)
        else:
            print("imported")
    """)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.mark.parametrize(
    ("blocked", "package", "extra"),
    [
        ("langchain_core", "langchain_modelslab", "langchain"),
        ("llama_index", "llama_index_modelslab", "llama-index"),
        ("llama_index.core", "llama_index_modelslab", "llama-index"),
    ],
)
def test_missing_framework_names_the_extra(blocked: str, package: str, extra: str) -> None:
    kind, message = _import_without(blocked, package).stdout.splitlines()
    module = "langchain_core" if extra == "langchain" else "llama_index.core"
    assert kind == f"MissingExtraError True {module}"
    assert message == (
        f"{package} needs the {module!r} module, which is not installed; install the "
        f'extra with: pip install "modelslab-llm[{extra}]"'
    )


def test_transport_imports_without_either_framework() -> None:
    code = BLOCKER.format(blocked="langchain_core") + BLOCKER.format(blocked="llama_index")
    code += "import modelslab_transport; print(modelslab_transport.__version__)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == _version()


def test_an_import_error_inside_the_framework_is_not_blamed_on_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A framework that is installed but whose own dependency is missing raises as itself."""
    from modelslab_transport.config.extras import MissingExtraError, require_extra

    (tmp_path / "broken_framework.py").write_text("import a_dependency_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError) as caught:
        require_extra("broken_framework", extra="x", needed_by="y")
    assert not isinstance(caught.value, MissingExtraError)
    assert caught.value.name == "a_dependency_that_is_not_installed"
    with pytest.raises(MissingExtraError, match=r'pip install "modelslab-llm\[x\]"'):
        require_extra("not_installed_framework", extra="x", needed_by="y")


def _version() -> str:
    from importlib.metadata import version

    import langchain_modelslab
    import llama_index_modelslab
    import modelslab_transport

    assert langchain_modelslab.__version__ == modelslab_transport.__version__
    assert llama_index_modelslab.__version__ == modelslab_transport.__version__
    assert modelslab_transport.__version__ == version("modelslab-llm")
    return modelslab_transport.__version__


def test_every_package_has_the_installed_version() -> None:
    assert _version().count(".") == 2
