"""The transport's defaults (constants only, so the frameworks read them without httpx2)."""

__all__ = [
    "API_KEY_ENV",
    "BASE_URL_ENV",
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_RESPONSE_SIZE",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_SSE_EVENT_SIZE",
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MODEL",
    "DEFAULT_QUEUE_TIMEOUT",
    "DEFAULT_STREAM_CHUNK_TIMEOUT",
    "DEFAULT_STREAM_TIMEOUT",
    "DEFAULT_TIMEOUT",
    "MAX_RETRY_AFTER",
    "REDIS_URL_ENV",
]

DEFAULT_MODEL = "google-gemma-3-1b-it"
"""The model used when none is named (``list_models()`` shows what your account serves)."""
DEFAULT_BASE_URL = "https://modelslab.com/api/v7/llm"
"""The documented base URL of the ModelsLab LLM API (modelslab-api.md §1)."""
API_KEY_ENV = "MODELSLAB_API_KEY"
BASE_URL_ENV = "MODELSLAB_BASE_URL"
REDIS_URL_ENV = "MODELSLAB_REDIS_URL"
"""A Redis server for limits shared by processes (``[redis]``)."""
DEFAULT_TIMEOUT = 300.0
"""Seconds a non-streamed call may take in all, retries included; a stream's time to begin."""
DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a connection."""
DEFAULT_STREAM_CHUNK_TIMEOUT = 120.0
"""Seconds a stream may go without a complete event (``: ping`` comments do not count)."""
DEFAULT_STREAM_TIMEOUT: float | None = None
"""Seconds a streamed call may take in all; None: no limit while events keep coming."""
DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024
"""The largest reply body read whole, in bytes once decompressed."""
DEFAULT_MAX_SSE_EVENT_SIZE = 16 * 1024 * 1024
"""The largest server-sent event a stream accepts, in bytes."""
DEFAULT_MAX_TOKENS = 4096
"""``max_tokens`` sent when unset; ModelsLab's default, 1000, truncates (modelslab-api.md §8)."""
DEFAULT_MAX_RETRIES = 2
"""Retries after the first attempt, for connect errors, 429 and 5xx."""
DEFAULT_QUEUE_TIMEOUT = 600.0
"""Seconds a call may spend waiting for its account's queue limit (slots and 429s) in all."""
MAX_TIMEOUT = 31_536_000.0
"""The longest timeout any setting accepts (seconds, 365 days); None means no limit."""

MAX_RETRY_AFTER = 86_400.0
"""The longest ``Retry-After`` taken (seconds), longer is capped; ``nan``/``inf`` are ignored."""
