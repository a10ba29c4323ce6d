"""The transport's defaults: model, base URL, environment variable names, timeouts, limits.

A module of constants only (it imports nothing), so that the framework integrations can
name their defaults without importing httpx2.
"""

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
"""The model used when none is named (check ``list_models()`` for what your account serves)."""
DEFAULT_BASE_URL = "https://modelslab.com/api/v7/llm"
"""The documented base URL of the ModelsLab LLM API."""
API_KEY_ENV = "MODELSLAB_API_KEY"
"""Environment variable the API key is read from."""
BASE_URL_ENV = "MODELSLAB_BASE_URL"
"""Environment variable that overrides the base URL."""
REDIS_URL_ENV = "MODELSLAB_REDIS_URL"
"""Environment variable naming a Redis server (``redis://host:port/db``) whose account
limits every process shares (:mod:`modelslab_transport.limits.redis`, the ``[redis]`` extra)."""
DEFAULT_TIMEOUT = 300.0
"""Seconds a non-streamed call may take in all, from its first request to the last byte of
its reply, retries and the waits between them included (a long generation sends nothing
until done). A streamed call gets as long to begin (its retries included)."""
DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a connection."""
DEFAULT_STREAM_CHUNK_TIMEOUT = 120.0
"""Seconds a stream may go without a complete server-sent event before it is abandoned
(comments such as ``: ping`` and partial events do not count)."""
DEFAULT_STREAM_TIMEOUT: float | None = None
"""Seconds a streamed call may take in all, from its first request to its last event;
None (the default): no limit, a stream may last as long as it keeps sending events."""
DEFAULT_MAX_RESPONSE_SIZE = 64 * 1024 * 1024
"""The largest reply body read whole, in bytes once decompressed (64 MiB): far above any
real reply, far below what a compression bomb would inflate to."""
DEFAULT_MAX_SSE_EVENT_SIZE = 16 * 1024 * 1024
"""The largest server-sent event a stream accepts, in bytes (16 MiB): far above any real
chunk, far below what an endless line or one huge event would use."""
DEFAULT_MAX_TOKENS = 4096
"""``max_tokens`` sent when the caller sets none: ModelsLab's own default of 1000 silently
truncates longer answers (``finish_reason == "length"``)."""
DEFAULT_MAX_RETRIES = 2
"""Retries after the first attempt, for connect errors, 429 and 5xx."""
DEFAULT_QUEUE_TIMEOUT = 600.0
"""Seconds one call may spend waiting for a free slot of its account's queue limit and
resending after ModelsLab's queue-limit 429s, in all, before it fails."""
MAX_TIMEOUT = 31_536_000.0
"""The longest timeout (seconds, 365 days) any timeout setting accepts. A larger one is
refused when the settings are built: ``None`` is how to ask for no limit, and the
operating system cannot wait for a much larger value (10^10 s overflows ``time_t``)."""

MAX_RETRY_AFTER = 86_400.0
"""The longest wait (seconds, one day) a server's ``Retry-After`` / ``retry_after`` is taken
to ask for; longer values are capped to it, and ``nan``/``inf`` are ignored. Any wait over
``RetryPolicy.max_wait`` is not slept: the error, with its ``retry_after``, goes to the
caller."""
