"""httpx2 exceptions as the transport's errors: each phase's timeout names its limit and the
setting that changes it; connection errors and the rest."""

from __future__ import annotations

import httpx2
import pytest

from modelslab_transport import ClientSettings
from modelslab_transport.errors import APITimeoutError
from modelslab_transport.http.exceptions import transport_error

URL = "https://modelslab.com/api/v7/llm/chat/completions"


def _timeout(kind: type[httpx2.TimeoutException], text: str) -> httpx2.TimeoutException:
    limits = {"connect": 2.0, "read": 30.0, "write": 4.0, "pool": 5.0}
    request = httpx2.Request("POST", URL, extensions={"timeout": limits})
    return kind(text, request=request)


@pytest.mark.parametrize("said", ["timed out", ""], ids=["sync's text", "async's (none)"])
@pytest.mark.parametrize(
    ("kind", "text", "retryable"),
    [
        (
            httpx2.ConnectTimeout,
            f"could not connect to {URL} within 2 s (connect_timeout=2; raise connect_timeout=)"
            ": timed out",
            True,
        ),
        (
            httpx2.PoolTimeout,
            f"no free connection to {URL} within 5 s (timeout=5; fewer calls at once, or "
            "raise timeout=): timed out",
            True,
        ),
        (
            httpx2.WriteTimeout,
            f"could not send the request to {URL} within 4 s (timeout=4; raise timeout=)"
            ": timed out",
            False,
        ),
        (
            httpx2.ReadTimeout,
            f"no reply from {URL} within 30 s (timeout=30; raise timeout=): timed out",
            False,
        ),
    ],
)
def test_each_phase_timeout_names_its_limit_and_setting(
    kind: type[httpx2.TimeoutException], text: str, retryable: bool, said: str
) -> None:
    # The same words whether httpx2 raised it with the socket's text (sync) or none.
    error = transport_error(_timeout(kind, said), ClientSettings(api_key="sk-test-shared"))
    assert isinstance(error, APITimeoutError)
    assert str(error) == text
    assert error.retryable is retryable
