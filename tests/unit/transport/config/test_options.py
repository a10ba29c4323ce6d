"""Pieces written once and used in several places: the connection options record, the
per-phase timeout errors and the stored provider fields of tool calls."""

from __future__ import annotations

import httpx2
import pytest
from pydantic import SecretStr

from modelslab_transport import ClientSettings, ModelsLabOptions
from modelslab_transport.chat.tool_calls import TOOL_CALL_FIELDS_KEY, stored_provider_fields
from modelslab_transport.config.connection import CONNECTION_FIELDS, ConnectionOptions
from modelslab_transport.errors import APITimeoutError
from modelslab_transport.http.exceptions import transport_error

URL = "https://modelslab.com/api/v7/llm/chat/completions"


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


def test_stored_provider_fields() -> None:
    stored = {TOOL_CALL_FIELDS_KEY: {"call_1": {"extra_content": {"sig": "abc"}}, "bad": 3}}
    found = stored_provider_fields(stored, "call_1")
    assert found == {"extra_content": {"sig": "abc"}}
    found["x"] = 1  # a copy: the message's own fields are left alone
    assert stored[TOOL_CALL_FIELDS_KEY]["call_1"] == {"extra_content": {"sig": "abc"}}
    assert stored_provider_fields(stored, "bad") == {}
    assert stored_provider_fields(stored, "other") == {}
    assert stored_provider_fields(stored, None) == {}
    assert stored_provider_fields({TOOL_CALL_FIELDS_KEY: "junk"}, "call_1") == {}
    assert stored_provider_fields({}, "call_1") == {}


@pytest.mark.parametrize("model", ["", "   ", "gemma 3", "\tmeta-llama\n-3"])
def test_a_model_id_that_is_empty_or_has_spaces_inside_is_refused_by_both_classes(
    model: str,
) -> None:
    from langchain_modelslab import ChatModelsLab
    from llama_index_modelslab import ModelsLabLLM

    for build in (ModelsLabOptions, ChatModelsLab, ModelsLabLLM):
        with pytest.raises(ValueError, match="model must be a model id such as") as caught:
            build(model=model)
        assert "list_models()" in str(caught.value)


def test_a_model_id_is_sent_without_surrounding_whitespace() -> None:
    assert ModelsLabOptions(model="  meta-llama-3.1-8b \n").request_params()["model"] == (
        "meta-llama-3.1-8b"
    )
