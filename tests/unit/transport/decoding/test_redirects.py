"""Redirects are reported, never followed: the target without secrets and the base URL to use."""

from __future__ import annotations

import httpx2
import pytest

from modelslab_transport.decoding.redirects import redirect_error
from modelslab_transport.errors import RedirectError

URL = "https://old.example/llm/chat/completions"


def _reply(status: int, location: str | None, url: str = URL) -> httpx2.Response:
    headers = {"location": location} if location is not None else {}
    return httpx2.Response(status, headers=headers, request=httpx2.Request("POST", url))


def test_a_redirect_keeping_the_endpoint_path_suggests_the_base_url() -> None:
    error = redirect_error(_reply(301, "https://new.example/v2/chat/completions"))
    assert isinstance(error, RedirectError)
    assert (error.status_code, error.location) == (301, "https://new.example/v2/chat/completions")
    assert str(error) == (
        "the server redirected the request (HTTP 301) to another server, "
        "'https://new.example/v2/chat/completions'; redirects are never followed, since that "
        "would send the API key there: if you trust that server, set "
        "base_url='https://new.example/v2' (HTTP 301)"
    )


@pytest.mark.parametrize(
    ("path", "location", "base_url"),
    [
        ("/v1/messages", "https://o.example/api/v1/messages", "https://o.example/api"),
        ("/v1/messages/count_tokens", "/x/v1/messages/count_tokens", "https://o.example/x"),
        ("/v1/models", "https://o.example/v1/models", "https://o.example"),
    ],
)
def test_every_endpoint_path_is_recognised(path: str, location: str, base_url: str) -> None:
    error = redirect_error(_reply(308, location, f"https://o.example{path}"))
    assert f"set base_url={base_url!r}" in str(error)


def test_a_relative_redirect_is_on_the_same_server() -> None:
    error = redirect_error(_reply(302, "/login"))
    assert error.location == "https://old.example/login"
    assert "to another address on the same server, 'https://old.example/login'" in str(error)
    assert "set base_url to the API root there" in str(error)


def test_the_target_is_shown_without_secrets_and_redacted() -> None:
    error = redirect_error(
        _reply(307, "https://u:p@new.example/chat/completions?token=t#frag"),
        redact=lambda text: text.replace("new.example", "***"),
    )
    assert error.location == "https://***/chat/completions"
    assert "token" not in str(error)
    assert "u:p" not in str(error)


@pytest.mark.parametrize("location", [None, ""])
def test_a_redirect_without_a_usable_location_points_at_base_url(location: str | None) -> None:
    error = redirect_error(_reply(302, location))
    assert error.location is None
    assert str(error).startswith(
        "the server answered with a redirect (HTTP 302) without a usable Location; redirects "
        "are never followed with the API key. Check base_url"
    )
