"""An httpx2 transport for the ModelsLab LLM API, shared by the framework integrations.

It knows ModelsLab's wire format and its quirks (errors inside HTTP 200 bodies,
several error shapes, SSE comment lines, ``retry_after`` in 429 bodies, the
1000-token default ``max_tokens``) and nothing of LangChain or LlamaIndex.

The names below are imported from their modules on first access (PEP 562), so that
``import langchain_modelslab`` does not pay for httpx2 and the HTTP client until a
request is about to be sent. ``from modelslab_transport import ModelsLabClient``
works as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelslab_transport._lazy import lazy_exports, names_by_module
from modelslab_transport._version import __version__

if TYPE_CHECKING:
    from modelslab_transport.chat.accumulate import ChatStreamAccumulator
    from modelslab_transport.chat.completeness import (
        Incompleteness,
        IncompleteReplyError,
        incompleteness,
    )
    from modelslab_transport.chat.token_estimate import TokenCountEstimateWarning
    from modelslab_transport.client import (
        CHAT_COMPLETIONS_PATH,
        COUNT_TOKENS_PATH,
        MESSAGES_PATH,
        MODELS_PATH,
        AsyncModelsLabClient,
        ModelsLabClient,
    )
    from modelslab_transport.config.connection import InsecureBaseURLWarning
    from modelslab_transport.config.defaults import (
        API_KEY_ENV,
        BASE_URL_ENV,
        DEFAULT_BASE_URL,
        DEFAULT_MAX_TOKENS,
        DEFAULT_MODEL,
    )
    from modelslab_transport.config.model_profiles import (
        DEFAULT_CONTEXT_WINDOW,
        ModelProfile,
        lookup_model_profile,
        model_profile,
    )
    from modelslab_transport.config.options import ModelsLabOptions
    from modelslab_transport.config.peer_names import UnsupportedSettingError
    from modelslab_transport.config.settings import ClientSettings
    from modelslab_transport.config.tool_support import (
        ToolCallingUnsupportedError,
        ToolCallingUnsupportedWarning,
    )
    from modelslab_transport.errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        AuthenticationError,
        BadRequestError,
        IncompleteStreamError,
        InsufficientCreditsError,
        InvalidResponseError,
        LocalRequestError,
        ModelsLabError,
        NotFoundError,
        PermissionDeniedError,
        QueueTimeoutError,
        RateLimitError,
        RedirectError,
        ServerError,
        ToolPairingError,
        UnsupportedContentError,
    )
    from modelslab_transport.http.streams import AsyncEventStream, EventStream
    from modelslab_transport.limits.retry import RetryPolicy
    from modelslab_transport.modelslab import ModelsLab
    from modelslab_transport.protocols.table import CHAT_PROTOCOLS, ChatProtocol
    from modelslab_transport.wire.catalog import ModelInfo
    from modelslab_transport.wire.protocols import ChatAPI

_MODULE_EXPORTS: dict[str, list[str]] = {
    "chat.accumulate": ["ChatStreamAccumulator"],
    "chat.completeness": ["IncompleteReplyError", "Incompleteness", "incompleteness"],
    "client": [
        "CHAT_COMPLETIONS_PATH",
        "COUNT_TOKENS_PATH",
        "MESSAGES_PATH",
        "MODELS_PATH",
        "AsyncModelsLabClient",
        "ModelsLabClient",
    ],
    "config.defaults": [
        "API_KEY_ENV",
        "BASE_URL_ENV",
        "DEFAULT_BASE_URL",
        "DEFAULT_MAX_TOKENS",
        "DEFAULT_MODEL",
    ],
    "errors": [
        "APIConnectionError",
        "APIStatusError",
        "APITimeoutError",
        "AuthenticationError",
        "BadRequestError",
        "IncompleteStreamError",
        "InsufficientCreditsError",
        "InvalidResponseError",
        "LocalRequestError",
        "ModelsLabError",
        "NotFoundError",
        "PermissionDeniedError",
        "QueueTimeoutError",
        "RateLimitError",
        "RedirectError",
        "ServerError",
        "ToolPairingError",
        "UnsupportedContentError",
    ],
    "config.model_profiles": [
        "DEFAULT_CONTEXT_WINDOW",
        "ModelProfile",
        "lookup_model_profile",
        "model_profile",
    ],
    "modelslab": ["ModelsLab"],
    "config.options": ["ModelsLabOptions"],
    "config.connection": ["InsecureBaseURLWarning"],
    "config.peer_names": ["UnsupportedSettingError"],
    "protocols.table": ["CHAT_PROTOCOLS", "ChatProtocol"],
    "wire.protocols": ["ChatAPI"],
    "limits.retry": ["RetryPolicy"],
    "config.settings": ["ClientSettings"],
    "http.streams": ["AsyncEventStream", "EventStream"],
    "chat.token_estimate": ["TokenCountEstimateWarning"],
    "config.tool_support": ["ToolCallingUnsupportedError", "ToolCallingUnsupportedWarning"],
    "wire.catalog": ["ModelInfo"],
}
"""Each submodule's exported names: the one list of them (``client`` and ``errors``,
exported whole, take their ``__all__`` from here)."""
_EXPORTS = names_by_module(_MODULE_EXPORTS)

__all__ = [*_EXPORTS, "__version__"]


if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all __getattr__
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
