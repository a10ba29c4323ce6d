"""An httpx transport for the ModelsLab LLM API, shared by the framework integrations.

It knows ModelsLab's wire format and its quirks (errors inside HTTP 200 bodies,
several error shapes, SSE comment lines, ``retry_after`` in 429 bodies, the
1000-token default ``max_tokens``) and nothing of LangChain or LlamaIndex.
"""

__version__ = "0.1.0"

from modelslab_transport.accumulate import ChatStreamAccumulator
from modelslab_transport.client import (
    CHAT_COMPLETIONS_PATH,
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    MODELS_PATH,
    AsyncModelsLabClient,
    ModelsLabClient,
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
    ModelsLabError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from modelslab_transport.model_profiles import (
    DEFAULT_CONTEXT_WINDOW,
    ModelProfile,
    lookup_model_profile,
    model_profile,
)
from modelslab_transport.protocol_bridge import ChatAPI
from modelslab_transport.retry import RetryPolicy
from modelslab_transport.settings import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_TOKENS,
    ClientSettings,
    InsecureBaseURLWarning,
)
from modelslab_transport.streams import AsyncEventStream, EventStream
from modelslab_transport.wire.catalog import ModelInfo

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "CHAT_COMPLETIONS_PATH",
    "COUNT_TOKENS_PATH",
    "DEFAULT_BASE_URL",
    "DEFAULT_CONTEXT_WINDOW",
    "DEFAULT_MAX_TOKENS",
    "MESSAGES_PATH",
    "MODELS_PATH",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncEventStream",
    "AsyncModelsLabClient",
    "AuthenticationError",
    "BadRequestError",
    "ChatAPI",
    "ChatStreamAccumulator",
    "ClientSettings",
    "EventStream",
    "IncompleteStreamError",
    "InsecureBaseURLWarning",
    "InsufficientCreditsError",
    "InvalidResponseError",
    "ModelInfo",
    "ModelProfile",
    "ModelsLabClient",
    "ModelsLabError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "__version__",
    "lookup_model_profile",
    "model_profile",
]
