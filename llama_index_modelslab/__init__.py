"""The ModelsLab LLM API as a LlamaIndex LLM.

Example:
    >>> from llama_index.core import Settings
    >>> from llama_index_modelslab import ModelsLabLLM
    >>> Settings.llm = ModelsLabLLM(model="google-gemma-3-1b-it")  # key: $MODELSLAB_API_KEY
"""

from modelslab_transport._version import __version__
from modelslab_transport.config import require_extra

require_extra("llama_index.core", extra="llama-index", needed_by="llama_index_modelslab")

from llama_index_modelslab.base import DEFAULT_MODEL, ModelsLabLLM  # noqa: E402
from llama_index_modelslab.structured import JsonSchemaProgram  # noqa: E402
from modelslab_transport import ToolPairingError  # noqa: E402
from modelslab_transport.chat import IncompleteReplyError  # noqa: E402

__all__ = [
    "DEFAULT_MODEL",
    "IncompleteReplyError",
    "JsonSchemaProgram",
    "ModelsLabLLM",
    "ToolPairingError",
    "__version__",
]
