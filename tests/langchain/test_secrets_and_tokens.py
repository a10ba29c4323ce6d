"""The API key never leaks; token counting is exact through count_tokens, approximate offline."""

from __future__ import annotations

import json
import pickle

import httpx2
import pytest
from langchain_core.load import dumpd, dumps, load, loads
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

from langchain_modelslab import ChatModelsLab
from langchain_modelslab.conversions import messages_to_wire
from langchain_modelslab.errors import (
    ModelsLabAuthenticationError,
    ModelsLabConnectionError,
    ModelsLabServerError,
)
from modelslab_transport.chat.token_estimate import TokenCountEstimateWarning, estimate_tokens
from tests.support.clients import API_KEY, chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import (
    completion_body,
    json_response,
)


@tool
def lookup(word: str) -> str:
    """Look a word up."""
    return word


def test_key_absent_from_repr_str_and_dumps() -> None:
    llm = ChatModelsLab(api_key=API_KEY, temperature=0.1)
    for text in (repr(llm), str(llm), dumps(llm), json.dumps(dumpd(llm)), str(llm.asdict())):
        assert API_KEY not in text
    assert dumpd(llm)["kwargs"]["api_key"] == {
        "lc": 1,
        "type": "secret",
        "id": ["MODELSLAB_API_KEY"],
    }
    assert llm.lc_secrets == {"api_key": "MODELSLAB_API_KEY"}


def test_key_absent_from_client_reprs() -> None:
    llm = ChatModelsLab(api_key=API_KEY)
    assert API_KEY not in repr(llm.client.sync_client)
    assert API_KEY not in repr(llm.client.async_client)
    assert API_KEY not in repr(llm.client.sync_client.settings)


@pytest.mark.filterwarnings("ignore::langchain_core._api.beta_decorator.LangChainBetaWarning")
def test_serialised_model_loads_back_with_key_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    llm = ChatModelsLab(api_key=API_KEY, model="m-1", temperature=0.5, max_tokens=9)
    monkeypatch.setenv("MODELSLAB_API_KEY", "key-from-env")
    restored = loads(
        dumps(llm),
        valid_namespaces=["langchain_modelslab"],
        secrets_from_env=True,
        allowed_objects=[ChatModelsLab],
    )
    assert isinstance(restored, ChatModelsLab)
    assert (restored.model, restored.temperature, restored.max_tokens) == ("m-1", 0.5, 9)
    assert restored.api_key is not None
    assert restored.api_key.get_secret_value() == "key-from-env"
    again = load(
        dumpd(llm),
        valid_namespaces=["langchain_modelslab"],
        secrets_from_env=True,
        allowed_objects=[ChatModelsLab],
    )
    assert again.asdict() == llm.asdict()


def test_injected_http_clients_are_not_serialised() -> None:
    api = ScriptedServer([json_response(completion_body())])
    assert "http_client" not in dumpd(chat_model(api))["kwargs"]


def test_pickled_model_keeps_its_key_private() -> None:
    llm = ChatModelsLab(api_key=API_KEY)
    restored = pickle.loads(pickle.dumps(llm))
    assert restored.api_key is not None
    assert restored.api_key.get_secret_value() == API_KEY
    assert API_KEY not in repr(restored)


def test_key_absent_from_an_authentication_error() -> None:
    def reject(request: httpx2.Request) -> httpx2.Response:
        sent = request.headers["authorization"]
        return json_response({"status": "error", "message": f"Invalid API key: {sent}"}, 401)

    with pytest.raises(ModelsLabAuthenticationError) as caught:
        chat_model(ScriptedServer([reject])).invoke("hi")
    texts = [str(caught.value), repr(caught.value), json.dumps(caught.value.body)]
    assert all(API_KEY not in text for text in texts)


def test_token_count_is_exact_through_count_tokens() -> None:
    api = ScriptedServer([json_response({"input_tokens": 42})])
    llm = chat_model(api, model="m-1")
    messages = [
        SystemMessage("be brief"),
        HumanMessage("look up cat"),
        AIMessage("", tool_calls=[{"name": "lookup", "args": {"word": "cat"}, "id": "t1"}]),
        ToolMessage("a small feline", tool_call_id="t1"),
    ]
    assert llm.get_num_tokens_from_messages(messages, tools=[lookup]) == 42
    request = api.requests[-1]
    assert request.url.path == "/api/v7/llm/v1/messages/count_tokens"
    assert request.headers["x-api-key"] == API_KEY
    body = api.last_body
    assert body["model"] == "m-1"
    assert body["system"] == "be brief"
    assert [turn["role"] for turn in body["messages"]] == ["user", "assistant", "user"]
    assert body["messages"][1]["content"][0] == {
        "type": "tool_use",
        "id": "t1",
        "name": "lookup",
        "input": {"word": "cat"},
    }
    assert body["messages"][2]["content"][0]["type"] == "tool_result"
    assert body["tools"][0]["name"] == "lookup"


def test_token_count_is_estimated_when_the_server_has_no_endpoint() -> None:
    messages: list[BaseMessage] = [HumanMessage("hello there, how are you today?")]
    reply = json_response({"error": {"message": "no such route"}}, 404)
    with pytest.warns(TokenCountEstimateWarning, match="has no /v1/messages/count_tokens"):
        count = chat_model(ScriptedServer([reply])).get_num_tokens_from_messages(messages)
    assert count == estimate_tokens(messages_to_wire(messages))


def test_token_count_raises_when_the_server_fails() -> None:
    reply = json_response({"error": {"message": "down"}}, 503)
    with pytest.raises(ModelsLabServerError):
        chat_model(ScriptedServer([reply])).get_num_tokens_from_messages([HumanMessage("hi")])


def test_token_count_raises_when_unreachable() -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused", request=request)

    with pytest.raises(ModelsLabConnectionError):
        chat_model(ScriptedServer([refuse])).get_num_tokens_from_messages([HumanMessage("hi")])


def test_token_count_raises_on_a_bad_key() -> None:
    api = ScriptedServer([json_response({"error": {"message": "Invalid API key"}}, 401)])
    with pytest.raises(ModelsLabAuthenticationError):
        chat_model(api).get_num_tokens_from_messages([HumanMessage("hi")])
