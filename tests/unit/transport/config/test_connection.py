"""The connection options record both the client settings and the framework options extend:
its checks of keys, URLs, headers and timeouts, and the environment defaults it reads."""

from __future__ import annotations

import math
import re
import warnings

import httpx2
import pytest
from pydantic import SecretStr

from modelslab_transport import ClientSettings, ModelsLabOptions
from modelslab_transport.config.connection import (
    CONNECTION_FIELDS,
    ConnectionOptions,
    InsecureBaseURLWarning,
    api_key_from_env,
    base_url_from_env,
    caller_stacklevel,
    check_base_url,
    redis_url_from_env,
)
from modelslab_transport.config.defaults import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_BASE_URL,
    MAX_TIMEOUT,
    REDIS_URL_ENV,
)


def test_client_settings_and_options_share_every_connection_field() -> None:
    assert issubclass(ClientSettings, ConnectionOptions)
    assert issubclass(ModelsLabOptions, ConnectionOptions)
    assert tuple(ClientSettings.model_fields) == CONNECTION_FIELDS
    for name in CONNECTION_FIELDS:  # same type, default, range (pydantic copies the info)
        declared = repr(ConnectionOptions.model_fields[name])
        assert repr(ClientSettings.model_fields[name]) == declared
        assert repr(ModelsLabOptions.model_fields[name]) == declared


@pytest.mark.parametrize("record", [ClientSettings, ModelsLabOptions])
def test_both_records_check_alike(record: type[ConnectionOptions]) -> None:
    with pytest.raises(ValueError, match="timeouts must be positive seconds or None, got 0"):
        record(timeout=0)
    with pytest.raises(ValueError, match=r"timeouts must be seconds or None, got True \(a flag"):
        record(timeout=True)
    with pytest.raises(ValueError, match="timeouts must be seconds or None, got the string 'soon'"):
        record(timeout="soon")
    with pytest.raises(ValueError, match=r"or an httpx2\.Timeout, got \[3\]"):
        record(timeout=[3])
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        record(max_retries=-1)
    given = httpx2.Timeout(3.0)
    assert record(timeout=given).timeout is given
    assert record(timeout=5).timeout == 5.0
    assert record(api_key="  sk-x  ").api_key == SecretStr("sk-x")


@pytest.mark.parametrize("record", [ClientSettings, ModelsLabOptions])
def test_both_records_check_the_key_from_the_environment(
    record: type[ConnectionOptions], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", "sk-one\nsk-two")
    with pytest.raises(ValueError, match="api_key"):
        record()


def test_environment_defaults_are_read_stripped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(API_KEY_ENV, "  sk-env-12345 \n")
    monkeypatch.setenv(BASE_URL_ENV, " https://h.example/v1 ")
    monkeypatch.setenv(REDIS_URL_ENV, " redis://localhost:6379/0 ")
    assert api_key_from_env() == SecretStr("sk-env-12345")
    assert base_url_from_env() == "https://h.example/v1"
    assert redis_url_from_env() == "redis://localhost:6379/0"


def test_blank_environment_values_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (API_KEY_ENV, BASE_URL_ENV, REDIS_URL_ENV):
        monkeypatch.setenv(name, "  ")
    assert api_key_from_env() is None
    assert base_url_from_env() == DEFAULT_BASE_URL
    assert redis_url_from_env() is None


@pytest.mark.parametrize(
    "url", ["http://localhost:8000/v1", "http://127.0.0.1/v1", "http://[::1]:80/v1", "https://h/v1"]
)
def test_plain_http_to_this_machine_or_https_gives_no_warning(url: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_base_url(url + "/", has_key=True) == url


@pytest.mark.parametrize(
    ("has_key", "what"),
    [(True, "the API key and every prompt"), (False, "every prompt and answer")],
)
def test_plain_http_to_another_host_warns_at_the_callers_line(has_key: bool, what: str) -> None:
    with pytest.warns(InsecureBaseURLWarning) as caught:
        check_base_url("http://gpu.example/v1", has_key=has_key)
    (warning,) = caught
    assert str(warning.message) == (
        "base_url 'http://gpu.example/v1' uses plain http to a host that is not this machine: "
        f"{what} would travel unencrypted. Use https."
    )
    assert warning.filename == __file__


def test_the_record_warns_naming_the_key_only_when_one_is_set() -> None:
    with pytest.warns(InsecureBaseURLWarning, match="the API key and every prompt"):
        ConnectionOptions(api_key="sk-12345678", base_url="http://gpu.example/v1")


def test_caller_stacklevel_skips_library_frames() -> None:
    assert caller_stacklevel() == 1  # called from this test module, outside the libraries


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "positive, finite seconds or None, got nan"),
        (math.inf, "positive, finite seconds or None, got inf"),
        (-1, "positive seconds or None, got -1"),
        (MAX_TIMEOUT + 1, "at most 31,536,000 s (365 days)"),
    ],
)
def test_out_of_range_timeouts_are_refused_for_every_timeout_setting(
    value: float, message: str
) -> None:
    for name in ("timeout", "connect_timeout", "stream_chunk_timeout", "stream_timeout"):
        with pytest.raises(ValueError, match=re.escape(message)):
            ConnectionOptions(**{name: value})
    assert ConnectionOptions(timeout=MAX_TIMEOUT).timeout == MAX_TIMEOUT


def test_each_phase_of_an_httpx2_timeout_is_checked() -> None:
    assert ConnectionOptions(timeout=httpx2.Timeout(5.0, connect=None)).timeout is not None
    with pytest.raises(ValueError, match="positive seconds or None, got -2"):
        ConnectionOptions(timeout=httpx2.Timeout(5.0, read=-2))


def test_an_httpx_timeout_is_refused_with_the_httpx2_equivalent() -> None:
    httpx = pytest.importorskip("httpx")
    with pytest.raises(ValueError, match="timeout must be seconds") as caught:
        ConnectionOptions(timeout=httpx.Timeout(3.0, connect=1.0))
    assert (
        "(this package sends through httpx2, not httpx: build an httpx2.Timeout with the same "
        "values, httpx2.Timeout(connect=1.0, read=3.0, write=3.0, pool=3.0))"
    ) in str(caught.value)


def test_connection_fields_are_the_records_fields() -> None:
    assert tuple(ConnectionOptions.model_fields) == CONNECTION_FIELDS
    assert {"api_key", "base_url", "timeout", "max_retries"} <= set(CONNECTION_FIELDS)
