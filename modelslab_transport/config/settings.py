"""Connection settings shared by the sync and async ModelsLab clients."""

from __future__ import annotations

import httpx2

from modelslab_transport.config.options import (
    CONNECTION_FIELDS,
    ConnectionOptions,
    InsecureBaseURLWarning,
)
from modelslab_transport.config.redaction import redact_secret
from modelslab_transport.config.urls import is_modelslab

__all__ = ["ClientSettings", "InsecureBaseURLWarning"]


class ClientSettings(ConnectionOptions):
    """Everything a ModelsLab client needs to know to send a request.

    The fields, their defaults, ranges and checks are :class:`ConnectionOptions`'s
    (documented there, shared with :class:`~modelslab_transport.config.options.ModelsLabOptions`);
    this class adds what the transport derives from them: httpx2's per-phase timeouts,
    whether the base URL needs a key, and the redaction of the key from any text.
    """

    @classmethod
    def of(cls, options: ConnectionOptions) -> ClientSettings:
        """The connection part of ``options`` (already validated, so not checked again)."""
        return cls.model_construct(**{name: getattr(options, name) for name in CONNECTION_FIELDS})

    @property
    def requires_api_key(self) -> bool:
        """True when the base URL is ModelsLab's own API, which rejects keyless calls."""
        return is_modelslab(self.base_url)

    def request_timeout(self) -> httpx2.Timeout:
        """httpx2's per-phase limits for a request whose reply is read whole.

        The client also enforces ``timeout`` as a deadline for the whole call
        (:mod:`modelslab_transport.limits.deadlines`); these are each phase's upper bounds.
        """
        if isinstance(self.timeout, httpx2.Timeout):
            return self.timeout
        return httpx2.Timeout(self.timeout, connect=self.connect_timeout)

    def stream_request_timeout(self) -> httpx2.Timeout:
        """httpx2's per-phase limits for a streamed request: each read ``stream_chunk_timeout``.

        The stream also times the gaps between complete events and, with
        ``stream_timeout``, its whole life (:mod:`modelslab_transport.limits.deadlines`).
        """
        base = self.request_timeout()
        return httpx2.Timeout(
            connect=base.connect, read=self.stream_chunk_timeout, write=base.write, pool=base.pool
        )

    def redact(self, text: str) -> str:
        """Return ``text`` with every occurrence of the API key replaced by ``***``.

        A placeholder key for a local server (shorter than 8 characters, such as
        ``"EMPTY"`` or ``"1"``) is not a secret and is left alone (see
        :mod:`modelslab_transport.config.redaction`).
        """
        if self.api_key is None:
            return text
        return redact_secret(text, self.api_key.get_secret_value())
