"""How the proxy variables of the environment are read and shown (http.proxies)."""

from __future__ import annotations

import pytest

from modelslab_transport.http.proxies import environment_may_proxy, environment_proxies, shown_proxy

NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("environment", "url", "may"),
    [
        ({}, "https://modelslab.com/api/v7/llm", False),
        ({"HTTPS_PROXY": "http://p:3128"}, "https://modelslab.com/api/v7/llm", True),
        ({"HTTPS_PROXY": "http://p:3128"}, "http://127.0.0.1:8080", False),  # other scheme
        ({"HTTP_PROXY": "http://p:3128"}, "http://127.0.0.1:8080", True),
        ({"ALL_PROXY": "socks5://p:1080"}, "http://127.0.0.1:8080", True),
        ({"ALL_PROXY": "http://p:3128", "NO_PROXY": "127.0.0.1"}, "http://127.0.0.1:8080", False),
        ({"ALL_PROXY": "http://p:3128", "NO_PROXY": " LocalHost , x"}, "http://localhost:1", False),
        ({"ALL_PROXY": "http://p:3128", "NO_PROXY": "*"}, "https://modelslab.com/api", False),
        # Suffix patterns are read a little differently by urllib and httpx2: not certain.
        (
            {"ALL_PROXY": "http://p:3128", "NO_PROXY": ".modelslab.com"},
            "https://modelslab.com",
            True,
        ),
        ({"ALL_PROXY": "http://p:3128"}, None, True),
        ({}, None, False),
    ],
)
def test_environment_may_proxy_is_false_only_when_certain(
    clean_environment: pytest.MonkeyPatch, environment: dict[str, str], url: str | None, may: bool
) -> None:
    for name, value in environment.items():
        clean_environment.setenv(name, value)
    assert environment_may_proxy(url) is may


def test_proxies_are_shown_without_credentials(clean_environment: pytest.MonkeyPatch) -> None:
    clean_environment.setenv("HTTPS_PROXY", "http://user:pa:ss@proxy.example:3128")
    clean_environment.setenv("ALL_PROXY", "proxy.example:1080")
    assert environment_proxies() == {
        "HTTPS_PROXY": "http://***@proxy.example:3128",
        "ALL_PROXY": "proxy.example:1080",  # as written
    }
    assert shown_proxy("socks5://a@b:1") == "socks5://***@b:1"
