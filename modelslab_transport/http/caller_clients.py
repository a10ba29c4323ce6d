"""A caller's own httpx2 clients on a model or client: never pickled, shared by copies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "CallerClients",
    "check_http_client",
    "refuse_pickling_injected",
    "share_injected",
]


def refuse_pickling_injected(owner: object, clients: Mapping[str, Any]) -> None:
    """Raise ``TypeError``, naming the parameters and what to do, if ``clients`` holds one."""
    given = [name for name, client in clients.items() if client is not None]
    if given:
        raise TypeError(
            f"a {type(owner).__name__} with {' and '.join(given)} given cannot be pickled "
            "(httpx2 clients hold locks and sockets): pickle one without "
            f"{'them' if len(given) > 1 else 'it'} and pass the client again after loading"
        )


def share_injected(memo: dict[int, Any], clients: Mapping[str, Any]) -> dict[int, Any]:
    """``memo`` for ``copy.deepcopy`` with each given client mapped to itself (shared)."""
    for client in clients.values():
        if client is not None:
            memo[id(client)] = client
    return memo


def check_http_client(value: Any, *, is_async: bool, name: str) -> None:
    """Raise ``TypeError``, naming ``name``, unless ``value`` is None or the right httpx2 client."""
    if value is None:
        return
    import httpx2  # a client was given, so its library is already imported

    expected: type[Any] = httpx2.AsyncClient if is_async else httpx2.Client
    if isinstance(value, expected):
        return
    kind = type(value)
    hint = ""
    if kind.__module__.split(".")[0] == "httpx":
        hint = (
            f" (this transport sends through httpx2: build an httpx2.{expected.__name__}"
            " with the same options)"
        )
    elif isinstance(value, httpx2.Client | httpx2.AsyncClient):
        hint = " (a sync client where an async one is needed, or the reverse)"
    raise TypeError(
        f"{name} must be an httpx2.{expected.__name__} (or None to let the client build "
        f"its own), got {kind.__module__}.{kind.__qualname__}{hint}"
    )


class CallerClients:
    """Mixin for a framework model whose :attr:`caller_client_fields` may hold httpx2 clients.

    Copies share those clients; pickling refuses them. Put it first among the bases.
    """

    caller_client_fields: ClassVar[tuple[str, ...]] = ()
    """Fields holding the caller's clients: the sync one's, then the async one's."""

    def _caller_clients(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.caller_client_fields}

    def _check_caller_clients(self) -> None:
        """Refuse caller clients that are not httpx2 ones (``TypeError`` naming the field)."""
        given = self._caller_clients()
        if any(client is not None for client in given.values()):
            for index, (name, client) in enumerate(given.items()):
                check_http_client(client, is_async=index > 0, name=name)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Any:
        """A deep copy that shares the caller's httpx2 clients (they are not copyable)."""
        memo = share_injected({} if memo is None else memo, self._caller_clients())
        return super().__deepcopy__(memo)  # type: ignore[misc]

    def __getstate__(self) -> Any:
        """The pickled state; refused (``TypeError``) while a caller's client is set."""
        refuse_pickling_injected(self, self._caller_clients())
        return super().__getstate__()
