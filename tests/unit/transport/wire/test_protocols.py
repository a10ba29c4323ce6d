"""The wire facts of the two chat protocols and the parameters each refuses."""

from __future__ import annotations

from typing import Any

import pytest

from modelslab_transport.wire.protocols import (
    CHAT_ONLY_PARAMS,
    PROTOCOL_SPECS,
    check_messages_params,
    check_protocol_params,
    protocol_spec,
    supports_response_format,
)


def test_each_protocols_path_and_authentication() -> None:
    chat, messages = protocol_spec("chat_completions"), protocol_spec("messages")
    assert (chat.path, chat.auth, chat.max_temperature) == ("/chat/completions", "bearer", 2.0)
    assert (messages.path, messages.auth, messages.max_temperature) == (
        "/v1/messages",
        "x-api-key",
        1.0,
    )
    assert set(PROTOCOL_SPECS) == {"chat_completions", "messages"}


def test_an_unknown_api_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"api must be one of \['chat_completions', 'messages'\]"):
        protocol_spec("responses")


def test_only_chat_completions_has_response_format() -> None:
    assert supports_response_format("chat_completions")
    assert not supports_response_format("messages")


def test_chat_completions_carries_every_parameter() -> None:
    params: dict[str, Any] = {name: 1 for name in CHAT_ONLY_PARAMS}
    check_protocol_params("chat_completions", {**params, "n": 3, "temperature": 2.0})


def test_messages_refuses_chat_only_parameters_naming_each() -> None:
    with pytest.raises(ValueError, match="cannot be sent") as caught:
        check_messages_params({"seed": 1, "logprobs": True, "top_logprobs": None, "n": 2})
    assert str(caught.value) == (
        "seed, logprobs, n > 1 cannot be sent with api='messages' (that protocol has no such "
        "parameter); use api='chat_completions' or leave it unset"
    )


def test_messages_accepts_unset_parameters_and_one_choice() -> None:
    check_messages_params({"seed": None, "response_format": None, "n": 1, "temperature": 1})


@pytest.mark.parametrize(("api", "temperature"), [("messages", 1.01), ("chat_completions", 2.5)])
def test_a_temperature_above_the_protocols_maximum_is_refused(api: str, temperature: float) -> None:
    with pytest.raises(ValueError, match=f"temperature {temperature} is above") as caught:
        check_protocol_params(api, {"temperature": temperature})
    maximum = "1" if api == "messages" else "2"
    assert f"the maximum of api={api!r}; use a value in [0, {maximum}]" in str(caught.value)
