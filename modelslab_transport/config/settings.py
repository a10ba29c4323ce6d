"""Connection settings shared by the sync and async ModelsLab clients."""

from __future__ import annotations

import httpx2

from modelslab_transport.config.connection import (
    CONNECTION_FIELDS,
    ConnectionOptions,
    InsecureBaseURLWarning,
)
from modelslab_transport.config.redaction import redact_secret
from modelslab_transport.config.urls import is_modelslab

__all__ = ["ClientSettings", "InsecureBaseURLWarning"]


class ClientSettings(ConnectionOptions):
    """:class:`ConnectionOptions` (its fields documented there) and what a client derives."""

    @classmethod
    def of(cls, options: ConnectionOptions) -> ClientSettings:
        """The connection part of ``options`` (already validated)."""
        return cls.model_construct(**{name: getattr(options, name) for name in CONNECTION_FIELDS})

    @property
    def requires_api_key(self) -> bool:
        """True when the base URL is ModelsLab's own API, which rejects keyless calls."""
        return is_modelslab(self.base_url)

    def request_timeout(self) -> httpx2.Timeout:
        """httpx2's per-phase limits for a reply read whole (the whole call has a deadline too)."""
        if isinstance(self.timeout, httpx2.Timeout):
            return self.timeout
        return httpx2.Timeout(self.timeout, connect=self.connect_timeout)

    def stream_request_timeout(self) -> httpx2.Timeout:
        """httpx2's per-phase limits for a streamed request: each read ``stream_chunk_timeout``."""
        base = self.request_timeout()
        return httpx2.Timeout(
            connect=base.connect, read=self.stream_chunk_timeout, write=base.write, pool=base.pool
        )

    def redact(self, text: str) -> str:
        """``text`` with the API key redacted (:func:`~.redaction.redact_secret`)."""
        if self.api_key is None:
            return text
        return redact_secret(text, self.api_key.get_secret_value())
