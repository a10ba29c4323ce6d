"""ClientSettings: defaults, environment, validation, timeouts."""

from __future__ import annotations

import warnings

import httpx2
import pytest
from pydantic import SecretStr, ValidationError

from modelslab_transport import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    ClientSettings,
    InsecureBaseURLWarning,
)
from modelslab_transport.config.defaults import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_RETRIES,
    DEFAULT_STREAM_CHUNK_TIMEOUT,
    DEFAULT_TIMEOUT,
)


def test_defaults_need_no_key_and_no_network() -> None:
    settings = ClientSettings()
    assert settings.api_key is None
    assert settings.base_url == DEFAULT_BASE_URL == "https://modelslab.com/api/v7/llm"
    assert settings.max_retries == DEFAULT_MAX_RETRIES == 2
    assert settings.stream_chunk_timeout == DEFAULT_STREAM_CHUNK_TIMEOUT
    assert settings.default_headers == {}
    assert settings.legacy_auth is False
    assert settings.anthropic_version == "2023-06-01"
    assert settings.requires_api_key is True


def test_key_and_base_url_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, "env-key")
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:9999/v1/")
    settings = ClientSettings()
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "env-key"
    assert settings.base_url == "http://127.0.0.1:9999/v1"
    assert settings.requires_api_key is False


def test_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, "env-key")
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:9999")
    settings = ClientSettings(api_key="arg-key", base_url="https://example.org/llm")
    assert settings.api_key is not None
    assert settings.api_key.get_secret_value() == "arg-key"
    assert settings.base_url == "https://example.org/llm"


def test_base_url_from_the_environment_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "modelslab.com/api/v7/llm")
    with pytest.raises(ValidationError) as caught:
        ClientSettings()
    assert caught.value.errors()[0]["loc"] == ("base_url",)


def test_insecure_base_url_from_the_environment_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BASE_URL_ENV, "http://api.example.com/v1")
    with pytest.warns(InsecureBaseURLWarning):
        ClientSettings()


@pytest.mark.parametrize("blank", ["", "   ", "\n"])
def test_blank_keys_mean_no_key(blank: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert ClientSettings(api_key=blank).api_key is None
    assert ClientSettings(api_key=SecretStr(blank)).api_key is None
    monkeypatch.setenv(API_KEY_ENV, blank)
    assert ClientSettings().api_key is None


@pytest.mark.parametrize(
    "url",
    ["modelslab.com/api/v7/llm", "ftp://modelslab.com/api", "https://", "/api/v7/llm", ""],
)
def test_base_url_must_be_absolute_http(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ClientSettings(base_url=url)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.errors()[0]["loc"] == ("base_url",)
    assert "base_url must be an absolute http(s) URL" in str(error)


def test_base_url_is_trimmed() -> None:
    assert ClientSettings(base_url="  https://x.example/api/  ").base_url == "https://x.example/api"


@pytest.mark.parametrize(
    "url", ["http://api.example.com/v1", "http://10.0.0.5:8080", "http://modelslab.com/api"]
)
def test_plain_http_to_another_host_warns(url: str) -> None:
    with pytest.warns(InsecureBaseURLWarning, match="unencrypted"):
        ClientSettings(base_url=url)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8080/v1",
        "http://127.0.0.1:8080",
        "http://127.3.4.5",
        "http://[::1]:8080/v1",
        "https://api.example.com/v1",
    ],
)
def test_loopback_or_https_does_not_warn(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ClientSettings(base_url=url).base_url == url


@pytest.mark.parametrize(
    ("url", "required"),
    [
        ("https://modelslab.com/api/v7/llm", True),
        ("https://eu.modelslab.com/api/v7/llm", True),
        ("https://notmodelslab.com/api", False),
        ("https://modelslab.com.evil.example/api", False),
        ("http://127.0.0.1:8080", False),
        ("https://ModelsLab.COM/api/v7/llm", True),  # host names ignore letter case
        ("https://modelslab.com./api/v7/llm", True),  # the fully qualified form
        ("https://eu.modelslab.com.:443/api/v7/llm", True),
        ("https://modelslab.com../api", False),  # not a host name
    ],
)
def test_requires_api_key_only_for_modelslab_hosts(url: str, required: bool) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert ClientSettings(base_url=url).requires_api_key is required


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timeout", 0),
        ("timeout", -1.0),
        ("connect_timeout", 0),
        ("stream_chunk_timeout", -0.5),
        ("max_retries", -1),
    ],
)
def test_nonsense_numbers_are_rejected(field: str, value: float) -> None:
    with pytest.raises(ValidationError) as caught:
        ClientSettings(**{field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


def test_unknown_settings_are_rejected() -> None:
    with pytest.raises(ValidationError) as caught:
        ClientSettings(api_keys="typo")  # type: ignore[call-arg]
    assert caught.value.errors()[0]["loc"] == ("api_keys",)


def test_settings_are_frozen() -> None:
    settings = ClientSettings()
    with pytest.raises(ValidationError):
        settings.max_retries = 5  # type: ignore[misc]


def test_request_timeout_from_numbers() -> None:
    timeout = ClientSettings(timeout=30.0, connect_timeout=2.0).request_timeout()
    assert timeout == httpx2.Timeout(30.0, connect=2.0)
    default = ClientSettings().request_timeout()
    assert default.read == DEFAULT_TIMEOUT
    assert default.connect == DEFAULT_CONNECT_TIMEOUT


def test_stream_timeout_reads_time_out_per_chunk() -> None:
    settings = ClientSettings(timeout=30.0, connect_timeout=2.0, stream_chunk_timeout=0.3)
    timeout = settings.stream_request_timeout()
    assert timeout.read == 0.3
    assert timeout.connect == 2.0
    assert timeout.write == 30.0
    assert timeout.pool == 30.0


def test_stream_chunk_timeout_none_waits_forever() -> None:
    assert ClientSettings(stream_chunk_timeout=None).stream_request_timeout().read is None


def test_httpx_timeout_object_is_used_as_given() -> None:
    given = httpx2.Timeout(connect=1.0, read=2.0, write=3.0, pool=4.0)
    settings = ClientSettings(timeout=given, stream_chunk_timeout=9.0)
    assert settings.request_timeout() is given
    stream = settings.stream_request_timeout()
    assert (stream.connect, stream.read, stream.write, stream.pool) == (1.0, 9.0, 3.0, 4.0)


def test_no_timeout_at_all() -> None:
    timeout = ClientSettings(timeout=None, connect_timeout=None).request_timeout()
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (None,) * 4


def test_redact() -> None:
    settings = ClientSettings(api_key="abc-12345")
    assert settings.redact("key abc-12345 and abc-12345") == "key *** and ***"
    assert settings.redact("nothing here") == "nothing here"
    assert ClientSettings().redact("abc-12345") == "abc-12345"


@pytest.mark.parametrize("placeholder", ["1", "x", "EMPTY", "dummy", "sk-1234"])
def test_placeholder_keys_are_not_redacted(placeholder: str) -> None:
    """Keys shorter than 8 characters are placeholders for local servers, not secrets."""
    text = f"model mixtral-8x7b-{placeholder} rejected: code 1, EMPTY input x"
    assert ClientSettings(api_key=placeholder).redact(text) == text
