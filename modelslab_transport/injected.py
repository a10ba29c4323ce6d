"""A caller's own httpx2 clients on a model or client: never pickled, shared by copies.

Kept apart from :mod:`modelslab_transport.http_clients` so that the framework classes
can use it without importing httpx2 (they import it only when a request is sent).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["refuse_pickling_injected", "share_injected"]


def refuse_pickling_injected(owner: object, clients: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` if a caller's httpx2 client is among ``clients``.

    Pickling such an owner would fail deep inside (``cannot pickle '_thread.RLock'``)
    or, through LlamaIndex's ``__getstate__``, drop the client from the live object. A
    copy (``copy.deepcopy``) shares the client instead; see :func:`share_injected`.

    Args:
        owner: The object being pickled (its class names it in the message).
        clients: The owner's client parameters by name (``{"http_client": ...}``).

    Raises:
        TypeError: naming the parameters that hold a client and what to do instead.
    """
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
