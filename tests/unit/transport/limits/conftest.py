"""Each queue-limit test starts with no account limit learnt and the in-process backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelslab_transport.limits.queue import reset_account_limits, set_limit_backend


@pytest.fixture(autouse=True)
def _fresh_limits() -> Iterator[None]:
    """Each test starts with no account limit learnt (a port may be reused)."""
    set_limit_backend(None)
    yield
    set_limit_backend(None)
    reset_account_limits()
