"""Which pip extra each framework package needs, and the error that names it.

``langchain_modelslab`` needs ``langchain-core`` (extra ``[langchain]``) and
``llama_index_modelslab`` needs ``llama-index-core`` (extra ``[llama-index]``). Without
them Python's own error is a bare ``No module named 'langchain_core'``; these packages
raise :class:`MissingExtraError` instead, which says what to install.
"""

from __future__ import annotations

import importlib

__all__ = ["DISTRIBUTION", "MissingExtraError", "require_extra"]

DISTRIBUTION = "modelslab-llm"
"""The name this project is installed under (``pip install modelslab-llm``)."""


class MissingExtraError(ModuleNotFoundError):
    """A framework package was imported without the framework it converts to.

    A ``ModuleNotFoundError`` (so ``except ImportError`` still catches it) whose message
    names the pip command that installs the missing extra.
    """


def require_extra(module: str, *, extra: str, needed_by: str) -> None:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``extra``.

    Args:
        module: The framework module ``needed_by`` imports, e.g. ``"langchain_core"``.
        extra: The pip extra of ``modelslab-llm`` that installs it, e.g. ``"langchain"``.
        needed_by: The package asking, for the message, e.g. ``"langchain_modelslab"``.

    Raises:
        MissingExtraError: ``module`` (or a package it lives in) is not installed. An
            import error from inside an installed ``module`` is re-raised unchanged.
    """
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if missing != module and not module.startswith(missing + "."):
            raise
        raise MissingExtraError(
            f"{needed_by} needs the {module!r} module, which is not installed; install "
            f'the extra with: pip install "{DISTRIBUTION}[{extra}]"',
            name=module,
        ) from error
