"""Exact token counts and the model catalog, replayed from cassettes.

``get_num_tokens_from_messages`` must return what the server counted (the
``input_tokens`` of the recorded ``/v1/messages/count_tokens`` reply), never an
estimate; ``list_models`` must return the recorded ``/v1/models`` catalog as typed
entries. Recorded from llama-server (see ``cassettes/langchain/README.md``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.tools import tool

from langchain_modelslab import ChatModelsLab
from modelslab_transport.wire.catalog import ModelInfo
from tests.langchain.server_routing import routed_model_params

pytestmark = pytest.mark.vcr

CONVERSATION = [
    SystemMessage("You are brief."),
    HumanMessage("What is the capital of France?"),
    AIMessage("Paris."),
    HumanMessage("And of Italy?"),
]


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"It is sunny in {city}."


@pytest.fixture(params=["chat_completions", "messages"])
def llm(
    request: pytest.FixtureRequest, server_base_url: str, tools_base_url: str, server_api_key: str
) -> ChatModelsLab:
    """Counting is the same server call whichever protocol the model chats over."""
    return ChatModelsLab(
        **routed_model_params(server_base_url, tools_base_url, server_api_key),
        api=request.param,
        max_retries=0,
    )


def recorded_counts(vcr: Any) -> list[int]:
    """The ``input_tokens`` of every recorded count_tokens reply, in order."""
    return [json.loads(response["body"]["string"])["input_tokens"] for response in vcr.responses]


def test_token_count_is_the_servers_count(llm: ChatModelsLab, vcr: Any) -> None:
    counted = llm.get_num_tokens_from_messages(CONVERSATION)
    assert len(vcr.requests) == 1
    assert vcr.requests[0].path.endswith("/v1/messages/count_tokens")
    assert counted == recorded_counts(vcr)[0]
    body = json.loads(vcr.requests[0].body)
    assert body["system"] == "You are brief."
    assert [turn["role"] for turn in body["messages"]] == ["user", "assistant", "user"]
    assert "tools" not in body


def test_token_count_counts_tools(llm: ChatModelsLab, vcr: Any) -> None:
    without_tools = llm.get_num_tokens_from_messages(CONVERSATION)
    with_tools = llm.get_num_tokens_from_messages(CONVERSATION, tools=[get_weather])
    assert [without_tools, with_tools] == recorded_counts(vcr)
    sent = json.loads(vcr.requests[1].body)["tools"]
    assert sent[0]["name"] == "get_weather"
    assert sent[0]["input_schema"]["properties"] == {"city": {"type": "string"}}
    assert with_tools > without_tools


async def test_async_token_count_is_the_servers_count(llm: ChatModelsLab, vcr: Any) -> None:
    counted = await llm.aget_num_tokens_from_messages(CONVERSATION, tools=[get_weather])
    assert counted == recorded_counts(vcr)[0]
    assert vcr.requests[0].path.endswith("/v1/messages/count_tokens")


def test_token_count_is_not_an_estimate(llm: ChatModelsLab, vcr: Any) -> None:
    # The server's tokenizer and LangChain's four-characters-a-token guess disagree on
    # this conversation, so the equality above cannot hold by accident.
    counted = llm.get_num_tokens_from_messages(CONVERSATION)
    assert counted == recorded_counts(vcr)[0]
    assert counted != count_tokens_approximately(CONVERSATION)


def test_list_models(llm: ChatModelsLab, vcr: Any) -> None:
    models = llm.list_models()
    assert vcr.requests[0].method == "GET"
    assert vcr.requests[0].path.endswith("/v1/models")
    assert models
    assert all(isinstance(model, ModelInfo) for model in models)
    recorded = json.loads(vcr.responses[0]["body"]["string"])["data"]
    assert [model.id for model in models] == [entry["id"] for entry in recorded]


async def test_alist_models(llm: ChatModelsLab) -> None:
    models = await llm.alist_models()
    assert models
    assert all(isinstance(model, ModelInfo) and model.id for model in models)
