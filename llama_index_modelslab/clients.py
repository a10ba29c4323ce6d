"""The transport clients behind one ``ModelsLabLLM``.

Built lazily, and kept in step with the LLM's (mutable) connection fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    # httpx2 and the HTTP client are imported when the first client is built.
    from modelslab_transport.client import AsyncModelsLabClient, ModelsLabClient
    from modelslab_transport.settings import ClientSettings

__all__ = ["TransportClients"]


class TransportClients:
    """The sync and async ModelsLab clients of one LLM, built on first use.

    They are rebuilt when the connection fields they were built from change (the LLM's
    fields are mutable), and never travel with a pickled or deep-copied LLM: a copy
    builds its own.
    """

    def __init__(self) -> None:
        self._state: tuple[dict[str, Any], int, int] | None = None
        self._settings: ClientSettings | None = None
        self._sync: ModelsLabClient | None = None
        self._async: AsyncModelsLabClient | None = None

    def __reduce__(self) -> tuple[type[TransportClients], tuple[()]]:
        return (TransportClients, ())

    def __deepcopy__(self, memo: dict[int, Any]) -> TransportClients:
        return TransportClients()

    def configure(
        self, settings: dict[str, Any], http_client: Any, async_http_client: Any
    ) -> ClientSettings:
        """Return the :class:`ClientSettings` for ``settings``, rebuilding on any change.

        Raises:
            ValueError: when the settings are invalid (a malformed base URL, ...).
        """
        state = (settings, id(http_client), id(async_http_client))
        if self._settings is None or state != self._state:
            from modelslab_transport.settings import ClientSettings

            try:
                built = ClientSettings(**settings)
            except ValidationError as exc:
                raise ValueError(str(exc)) from None
            self.close()
            self._state, self._settings = state, built
            self._sync = self._async = None
        return self._settings

    def sync(self, settings: ClientSettings, http_client: Any) -> ModelsLabClient:
        """The sync client (``http_client``: an ``httpx2.Client`` to send through, or None)."""
        if self._sync is None:
            from modelslab_transport.client import ModelsLabClient

            self._sync = ModelsLabClient(settings, http_client=http_client)
        return self._sync

    def async_(self, settings: ClientSettings, http_client: Any) -> AsyncModelsLabClient:
        """The async client (``http_client``: an ``httpx2.AsyncClient``, or None)."""
        if self._async is None:
            from modelslab_transport.client import AsyncModelsLabClient

            self._async = AsyncModelsLabClient(settings, http_client=http_client)
        return self._async

    def close(self) -> None:
        """Close the sync connection pool (an injected client stays open)."""
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Close the async connection pool (an injected client stays open)."""
        if self._async is not None:
            await self._async.aclose()
