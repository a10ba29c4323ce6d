"""The error naming the pip extra (``[langchain]``, ``[llama-index]``) a framework package needs."""

from __future__ import annotations

import importlib

__all__ = ["DISTRIBUTION", "MissingExtraError", "require_extra"]

DISTRIBUTION = "modelslab-llm"
"""The name this project is installed under (``pip install modelslab-llm``)."""


class MissingExtraError(ModuleNotFoundError):
    """A framework package was imported without its framework; the message names the pip command."""


def require_extra(module: str, *, extra: str, needed_by: str) -> None:
    """Import ``module``, or raise :class:`MissingExtraError` naming ``extra`` if it is absent."""
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
