"""The LangChain-aware class of the transport's :class:`QueueTimeoutError`.

Apart from :mod:`langchain_modelslab.errors` because its transport base lives in
:mod:`modelslab_transport.concurrency`, which imports aiologic: ``import
langchain_modelslab`` would pay for that import, while a queue timeout can only be
raised once the module is loaded. The package exports the class on first access.
"""

from __future__ import annotations

from langchain_modelslab.errors import ModelsLabTimeoutError
from modelslab_transport.concurrency import QueueTimeoutError

__all__ = ["ModelsLabQueueTimeoutError"]


class ModelsLabQueueTimeoutError(ModelsLabTimeoutError, QueueTimeoutError):
    """No slot of the account's concurrency limit came free within ``queue_timeout``.

    Both :class:`modelslab_transport.QueueTimeoutError` (what ``ModelsLabLLM`` raises, so
    one ``except QueueTimeoutError`` serves both frameworks) and
    :class:`~langchain_modelslab.errors.ModelsLabTimeoutError` (a LangChain
    ``ModelTimeoutError``). Not retryable: raise ``queue_timeout`` (seconds) or
    ``max_concurrency``, or send fewer requests at once.
    """
