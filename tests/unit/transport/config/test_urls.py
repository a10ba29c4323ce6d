"""Base URLs: the accepted shapes, the refused ones with what to change, endpoint URLs."""

from __future__ import annotations

import pytest

from modelslab_transport.config.urls import check_base_url, endpoint_url


@pytest.mark.parametrize(
    ("given", "root"),
    [
        ("https://h.example/llm", "https://h.example/llm"),
        ("  https://h.example/llm//  ", "https://h.example/llm"),
        ("https://h.example/llm/v1/", "https://h.example/llm/v1"),
        ("HTTPS://h.example/llm", "HTTPS://h.example/llm"),
        ("https://h.example/models", "https://h.example/models"),  # Azure AI's root shape
    ],
)
def test_accepted_base_urls(given: str, root: str) -> None:
    assert check_base_url(given) == root


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("https://h.example/llm?key=sk-123", "query string"),
        ("https://h.example/llm?", "query string"),
        ("https://h.example/llm#top", "fragment"),
        ("https://user:sk-123@h.example/llm", "user name or password"),
        ("https://h.example/l lm", "whitespace"),
        ("https://h.example:99999/llm", "port"),
        ("https://h.example:abc/llm", "port"),
        ("ftp://h.example/llm", "scheme 'ftp'"),
        ("h.example/llm", "without a scheme"),
        ("https://h.example/llm/chat/completions", "use 'https://h.example/llm'"),
        ("https://h.example/llm/v1/chat/completions", "use 'https://h.example/llm/v1'"),
        ("https://h.example/llm/v1/messages", "use 'https://h.example/llm'"),
        ("https://h.example/llm/v1/messages/count_tokens", "use 'https://h.example/llm'"),
        ("https://h.example/llm/v1/models/", "use 'https://h.example/llm'"),
        ("https://h.example/v1/completions", "use 'https://h.example/v1'"),
    ],
)
def test_refused_base_urls_say_what_to_change(given: str, message: str) -> None:
    with pytest.raises(ValueError, match="base_url") as caught:
        check_base_url(given)
    assert message in str(caught.value)
    assert "sk-123" not in str(caught.value)


@pytest.mark.parametrize(
    ("base", "path", "url"),
    [
        ("https://h/llm", "/chat/completions", "https://h/llm/chat/completions"),
        ("https://h/llm", "/v1/messages", "https://h/llm/v1/messages"),
        ("https://h/v1", "/chat/completions", "https://h/v1/chat/completions"),
        ("https://h/v1", "/v1/messages", "https://h/v1/messages"),
        ("https://h/v1", "/v1/messages/count_tokens", "https://h/v1/messages/count_tokens"),
        ("https://h/v1", "/v1/models", "https://h/v1/models"),
        ("https://h/api/v10", "/v1/models", "https://h/api/v10/v1/models"),
    ],
)
def test_endpoint_urls_never_double_v1(base: str, path: str, url: str) -> None:
    assert endpoint_url(base, path) == url
