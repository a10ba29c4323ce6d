"""The transport clients for one set of connection options, built on first use."""

from __future__ import annotations

import threading
from typing import Any

from modelslab_transport.after_fork import reset_in_forked_child
from modelslab_transport.client import AsyncModelsLabClient, ModelsLabClient
from modelslab_transport.config.options import (
    ModelsLabOptions,
)
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.limits.retry import RetryPolicy
from modelslab_transport.protocols.negotiation import (
    RefusableFeature,
)

__all__ = ["ClientSet"]


class ClientSet:
    """The transport clients for one set of connection options, built on first use."""

    def __init__(
        self,
        options: ModelsLabOptions,
        http_client: Any,
        async_http_client: Any,
        retry_policy: RetryPolicy | None,
    ) -> None:
        self.connection = (options.connection(), id(http_client), id(async_http_client))
        self._options = options
        self._http_client = http_client
        self._async_http_client = async_http_client
        self._retry_policy = retry_policy
        self._lock = threading.Lock()
        self._settings: ClientSettings | None = None
        self.sync: ModelsLabClient | None = None
        self.async_: AsyncModelsLabClient | None = None
        self.refused: set[RefusableFeature] = set()
        """Request fields the server behind these clients refused (left out from now on)."""
        self.counts_tokens = True
        """False once the server answered that it has no count_tokens endpoint."""
        reset_in_forked_child(self)

    def after_fork(self) -> None:
        """A new lock in a forked child (the parent's may be held by one of its threads)."""
        self._lock = threading.Lock()

    def settings(self) -> ClientSettings:
        """The connection settings the clients are built with."""
        if self._settings is None:
            self._settings = ClientSettings.of(self._options)
        return self._settings

    def _client_arguments(self, http_client: Any) -> dict[str, Any]:
        """What both transport clients are built with (``http_client``: the injected one)."""
        return {
            "settings": self.settings(),
            "http_client": http_client,
            "retry_policy": self._retry_policy,
        }

    def get_sync(self) -> ModelsLabClient:
        """The sync client, built by the first caller (one only, whatever the threads)."""
        if self.sync is None:
            with self._lock:
                self.sync = self.sync or ModelsLabClient(
                    **self._client_arguments(self._http_client)
                )
        return self.sync

    def get_async(self) -> AsyncModelsLabClient:
        """The async client, built by the first caller (see :meth:`get_sync`)."""
        if self.async_ is None:
            with self._lock:
                self.async_ = self.async_ or AsyncModelsLabClient(
                    **self._client_arguments(self._async_http_client)
                )
        return self.async_
