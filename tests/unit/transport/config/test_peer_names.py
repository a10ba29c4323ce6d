"""Other integrations' setting names: aliases resolved, parameters renamed, the rest refused
naming what to use instead. Both framework classes' behaviour with these names is in
``tests/faults/test_peer_setting_names.py``."""

from __future__ import annotations

import pytest

from modelslab_transport.config.peer_names import (
    PEER_NAMES,
    UnsupportedSettingError,
    canonical_request_params,
    peer_name,
    peer_name_refusal,
    resolve_peer_names,
)

FIELDS = frozenset({"base_url", "api_key", "timeout", "model", "max_tokens", "model_kwargs"})


def resolve(**values: object) -> dict[str, object]:
    return resolve_peer_names(values, owner="Chat", fields=FIELDS, params_field="model_kwargs")


@pytest.mark.parametrize(
    "name", ["groq_api_base", "http_proxy", "endpoint_url", "inference_server_url", "host"]
)
def test_any_destination_name_is_refused_pointing_to_base_url(name: str) -> None:
    entry = peer_name(name)
    assert entry is not None
    assert (entry.kind, entry.used_by) == ("refused", "another integration")
    assert "requests go to base_url only" in entry.advice


@pytest.mark.parametrize("name", ["base_url", "temperature", "hostname_x"])
def test_our_names_and_unknown_names_have_no_entry(name: str) -> None:
    assert peer_name(name) is None


def test_peer_name_returns_the_table_entry() -> None:
    assert peer_name("openai_api_key") is PEER_NAMES["openai_api_key"]
    assert PEER_NAMES["max_tokens_to_sample"].field == "max_tokens"


def test_refusal_of_a_setting_among_request_parameters_names_the_setting() -> None:
    assert peer_name_refusal("request_timeout", "invoke()'s arguments") == (
        "'request_timeout' in invoke()'s arguments is ChatOpenAI's name for timeout, a setting "
        "of the model, not a request parameter: set timeout=... (seconds) on the model "
        "(ChatModelsLab(timeout=...) / ModelsLabLLM(timeout=...))"
    )
    refused = peer_name_refusal("openai_proxy", "kwargs")
    assert refused is not None
    assert refused.startswith("'openai_proxy' in kwargs is ChatOpenAI's setting")
    assert peer_name_refusal("max_completion_tokens", "kwargs") is None  # a parameter alias
    assert peer_name_refusal("temperature", "kwargs") is None


def test_canonical_request_params_renames_parameter_aliases_only() -> None:
    params = {"max_completion_tokens": 5, "stop_sequences": ["x"], "temperature": 0.1}
    assert canonical_request_params(params, "kwargs") == {
        "max_tokens": 5,
        "stop": ["x"],
        "temperature": 0.1,
    }
    assert canonical_request_params({"openai_api_key": "k"}, "kwargs") == {"openai_api_key": "k"}


def test_canonical_request_params_refuses_an_alias_with_its_target() -> None:
    with pytest.raises(UnsupportedSettingError) as caught:
        canonical_request_params({"max_tokens": 1, "max_tokens_to_sample": 2}, "kwargs")
    assert str(caught.value) == (
        "max_tokens_to_sample= and max_tokens= both given in kwargs (max_tokens_to_sample is "
        "ChatAnthropic's name for max_tokens); pass max_tokens= only"
    )
    assert (caught.value.name, caught.value.use_instead) == ("max_tokens_to_sample", "max_tokens")


def test_resolve_maps_setting_aliases_to_fields() -> None:
    assert resolve(openai_api_base="http://h/v1", request_timeout=3) == {
        "base_url": "http://h/v1",
        "timeout": 3,
    }
    assert resolve(model_name="m") == {"model": "m"}


def test_resolve_puts_an_alias_without_a_field_into_the_params_field() -> None:
    values = resolve_peer_names(
        {"stop_sequences": ["x"], "model_kwargs": {"seed": 1}},
        owner="Chat",
        fields=FIELDS,
        params_field="model_kwargs",
    )
    assert values == {"model_kwargs": {"seed": 1, "stop": ["x"]}}
    with pytest.raises(UnsupportedSettingError, match="in Chat's arguments and model_kwargs"):
        resolve(stop_sequences=["x"], model_kwargs={"stop": ["y"]})


def test_resolve_refuses_an_alias_given_with_its_field() -> None:
    with pytest.raises(UnsupportedSettingError, match="openai_api_key= and api_key= both given"):
        resolve(api_key="a", openai_api_key="b")
    assert resolve(api_key=None, openai_api_key="b") == {"api_key": "b"}


def test_resolve_refuses_names_without_counterpart() -> None:
    with pytest.raises(UnsupportedSettingError) as caught:
        resolve(openai_organization="org")
    assert str(caught.value).startswith(
        "'openai_organization' (ChatOpenAI's setting) is not a Chat argument: ModelsLab has no"
    )
    assert caught.value.name == "openai_organization"
    assert caught.value.use_instead is None


def test_resolve_drops_a_fixed_name_given_its_value_and_refuses_another() -> None:
    assert resolve(is_chat_model=True, model="m") == {"model": "m"}
    with pytest.raises(UnsupportedSettingError, match=r"is_chat_model=False .* cannot be so"):
        resolve(is_chat_model=False)


def test_resolve_leaves_a_name_the_owner_declares() -> None:
    values = resolve_peer_names(
        {"tokenizer": "t"}, owner="LLM", fields={"tokenizer"}, params_field="additional_kwargs"
    )
    assert values == {"tokenizer": "t"}


def test_base_url_itself_is_still_the_setting() -> None:
    assert peer_name("base_url") is None
