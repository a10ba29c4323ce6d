"""``ModelsLabLLM.count_tokens`` and ``list_models``, replayed from cassettes.

The count is the server's (the ``input_tokens`` of the recorded
``/v1/messages/count_tokens`` reply), with tools when given; the catalog is the
recorded ``/v1/models`` reply as typed entries.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool

from llama_index_modelslab import ModelsLabLLM
from modelslab_transport.wire.catalog import ModelInfo

pytestmark = pytest.mark.vcr

CONVERSATION = [
    ChatMessage(role="system", content="You are brief."),
    ChatMessage(role="user", content="What is the capital of France?"),
    ChatMessage(role="assistant", content="Paris."),
    ChatMessage(role="user", content="And of Italy?"),
]


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"It is sunny in {city}."


WEATHER = FunctionTool.from_defaults(get_weather)


def recorded_counts(vcr: Any) -> list[int]:
    """The ``input_tokens`` of every recorded count_tokens reply, in order."""
    return [json.loads(response["body"]["string"])["input_tokens"] for response in vcr.responses]


def test_count_tokens_is_the_servers_count(llm: ModelsLabLLM, vcr: Any) -> None:
    without_tools = llm.count_tokens(CONVERSATION)
    with_tools = llm.count_tokens(CONVERSATION, tools=[WEATHER])
    assert [without_tools, with_tools] == recorded_counts(vcr)
    assert with_tools > without_tools
    first, second = (json.loads(request.body) for request in vcr.requests)
    assert all(request.path.endswith("/v1/messages/count_tokens") for request in vcr.requests)
    assert first["system"] == "You are brief."
    assert "tools" not in first
    assert second["tools"][0]["name"] == "get_weather"


async def test_acount_tokens_of_a_prompt(llm: ModelsLabLLM, vcr: Any) -> None:
    counted = await llm.acount_tokens("Count the tokens of this prompt.")
    assert counted == recorded_counts(vcr)[0]
    assert json.loads(vcr.requests[0].body)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Count the tokens of this prompt."}]}
    ]


def test_list_models(llm: ModelsLabLLM, vcr: Any) -> None:
    models = llm.list_models()
    assert vcr.requests[0].method == "GET"
    assert vcr.requests[0].path.endswith("/v1/models")
    recorded = json.loads(vcr.responses[0]["body"]["string"])["data"]
    assert [model.id for model in models] == [entry["id"] for entry in recorded]
    assert all(isinstance(model, ModelInfo) for model in models)


async def test_alist_models(llm: ModelsLabLLM) -> None:
    models = await llm.alist_models()
    assert models
    assert all(isinstance(model, ModelInfo) and model.id for model in models)
