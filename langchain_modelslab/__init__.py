"""The ModelsLab LLM API as a LangChain chat model.

>>> from langchain_modelslab import ChatModelsLab
>>> llm = ChatModelsLab(model="google-gemma-3-1b-it")  # key from MODELSLAB_API_KEY
"""

from modelslab_transport._version import __version__
from modelslab_transport.config import require_extra

require_extra("langchain_core", extra="langchain", needed_by="langchain_modelslab")

from langchain_modelslab import errors  # noqa: E402
from langchain_modelslab.chat_models import DEFAULT_MODEL, ChatModelsLab  # noqa: E402
from langchain_modelslab.errors import *  # noqa: E402, F403 - the error classes, errors.__all__
from modelslab_transport import ToolPairingError  # noqa: E402
from modelslab_transport.chat import IncompleteReplyError  # noqa: E402

__all__ = [
    "DEFAULT_MODEL",
    "ChatModelsLab",
    "IncompleteReplyError",
    "ToolPairingError",
    "__version__",
    *errors.__all__,
]
