"""The ModelsLab LLM API as a LangChain chat model.

>>> from langchain_modelslab import ChatModelsLab
>>> llm = ChatModelsLab(model="google-gemma-3-1b-it")  # key from MODELSLAB_API_KEY

``ModelsLabQueueTimeoutError`` is imported on first access (PEP 562): its module imports
the concurrency limit's own dependencies, which ``import langchain_modelslab`` does not
need (see :mod:`langchain_modelslab.queue_errors`).
"""

from typing import TYPE_CHECKING

from modelslab_transport._lazy import lazy_exports
from modelslab_transport._version import __version__
from modelslab_transport.extras import require_extra

require_extra("langchain_core", extra="langchain", needed_by="langchain_modelslab")

from langchain_modelslab import errors  # noqa: E402
from langchain_modelslab.chat_models import DEFAULT_MODEL, ChatModelsLab  # noqa: E402
from langchain_modelslab.errors import *  # noqa: E402, F403 - the error classes, errors.__all__

if TYPE_CHECKING:
    from langchain_modelslab.queue_errors import ModelsLabQueueTimeoutError

_LAZY_EXPORTS = {"ModelsLabQueueTimeoutError": "queue_errors"}

__all__ = [
    "DEFAULT_MODEL",
    "ChatModelsLab",
    "ModelsLabQueueTimeoutError",
    "__version__",
    *errors.__all__,
]

if not TYPE_CHECKING:  # type checkers see the import above, and no catch-all __getattr__
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _LAZY_EXPORTS)
