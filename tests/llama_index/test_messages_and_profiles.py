"""ModelsLabLLM: ``api="messages"`` parameters, token counting, catalog and profiles.

On a scripted mock transport (no socket). The recorded, end-to-end behaviour of both
protocols is in ``test_conformance.py``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import DEFAULT_MAX_TOKENS, NotFoundError
from modelslab_transport.chat.token_estimate import TokenCountEstimateWarning
from modelslab_transport.config.model_profiles import DEFAULT_CONTEXT_WINDOW
from modelslab_transport.wire.catalog import ModelInfo
from tests.support.clients import API_KEY, scripted_llm


def lookup(word: str) -> str:
    """Look a word up in the dictionary."""
    return word


LOOKUP = FunctionTool.from_defaults(lookup)


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str


def message_reply(*blocks: dict[str, Any], stop_reason: str = "end_turn") -> httpx2.Response:
    """A non-streamed Messages reply."""
    return httpx2.Response(
        200,
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": list(blocks),
            "model": "test-model",
            "stop_reason": stop_reason,
            "usage": {"input_tokens": 11, "output_tokens": 3},
        },
    )


# --------------------------------------------------------- parameters the protocol lacks


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"temperature": 1.2}, r"temperature 1\.2 is above 1"),
        ({"additional_kwargs": {"seed": 3}}, "seed cannot be sent with api='messages'"),
        ({"additional_kwargs": {"frequency_penalty": 1.0}}, "frequency_penalty cannot be sent"),
        ({"additional_kwargs": {"response_format": {"type": "json_object"}}}, "response_format"),
    ],
)
def test_messages_refuses_chat_only_parameters_at_construction(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ModelsLabLLM(api="messages", api_key="k", **fields)


def test_chat_completions_keeps_temperatures_up_to_two() -> None:
    assert ModelsLabLLM(temperature=1.2, api_key="k").temperature == 1.2


def test_per_call_parameter_is_refused_before_sending() -> None:
    llm, server = scripted_llm(api="messages")
    with pytest.raises(ValueError, match="seed cannot be sent"):
        llm.chat([ChatMessage(role="user", content="hi")], seed=4)
    assert server.requests == []


def test_json_schema_structured_output_is_a_forced_tool_call_on_messages() -> None:
    call = {
        "type": "tool_use",
        "id": "t1",
        "name": "City",
        "input": {"name": "Oslo", "country": "NO"},
    }
    llm, server = scripted_llm(message_reply(call, stop_reason="tool_use"), api="messages")
    llm.structured_output_method = "json_schema"
    city = llm.structured_predict(City, PromptTemplate("Where is {x}?"), x="Oslo")
    assert city == City(name="Oslo", country="NO")
    body = server.bodies[0]
    assert server.requests[0].url.path.endswith("/v1/messages")
    assert "response_format" not in body
    assert body["tool_choice"]["type"] == "any"
    assert body["tools"][0]["name"] == "City"


# ---------------------------------------------------------------------- token counts


def test_count_tokens_is_the_servers_count_with_tools() -> None:
    llm, server = scripted_llm(httpx2.Response(200, json={"input_tokens": 31}))
    messages = [
        ChatMessage(role="system", content="Be brief."),
        ChatMessage(role="user", content="Define cat."),
    ]
    assert llm.count_tokens(messages, tools=[LOOKUP]) == 31
    request = server.requests[0]
    assert request.url.path.endswith("/v1/messages/count_tokens")
    assert request.headers["x-api-key"] == API_KEY
    body = server.bodies[0]
    assert body["system"] == "Be brief."
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Define cat."}]}
    ]
    assert body["tools"][0]["name"] == "lookup"
    assert "max_tokens" not in body


async def test_acount_tokens_of_a_string() -> None:
    llm, server = scripted_llm(httpx2.Response(200, json={"input_tokens": 5}))
    assert await llm.acount_tokens("hello") == 5
    assert server.bodies[0]["messages"][0]["role"] == "user"


def test_count_tokens_is_estimated_where_the_server_has_no_endpoint() -> None:
    llm, server = scripted_llm(httpx2.Response(404, json={"error": {"message": "no such route"}}))
    with pytest.warns(TokenCountEstimateWarning, match="has no /v1/messages/count_tokens"):
        assert llm.count_tokens("hello") == 6  # 3 + ceil(len("user" + "hello") / 4)
    assert llm.count_tokens("hello again") == 7  # estimated, without asking again
    assert len(server.requests) == 1


def test_count_tokens_raises_for_a_model_the_server_does_not_serve() -> None:
    reply = httpx2.Response(404, json={"error": {"message": "model 'test-model' not found"}})
    llm, _ = scripted_llm(reply)
    with pytest.raises(NotFoundError) as caught:
        llm.count_tokens("hello")
    assert caught.value.cause == "model"


# ---------------------------------------------------------------------------- catalog


def test_list_models_returns_typed_entries() -> None:
    catalog = {"object": "list", "data": [{"id": "google-gemma-3-1b-it", "owned_by": "google"}]}
    llm, server = scripted_llm(httpx2.Response(200, json=catalog))
    models = llm.list_models()
    assert models == [ModelInfo(id="google-gemma-3-1b-it", owned_by="google")]
    assert server.requests[0].method == "GET"
    assert server.requests[0].url.path.endswith("/v1/models")


async def test_alist_models() -> None:
    llm, _ = scripted_llm(httpx2.Response(200, json={"data": [{"id": "a"}, {"id": "b"}]}))
    assert [m.id for m in await llm.alist_models()] == ["a", "b"]


# --------------------------------------------------------------------------- profiles


@pytest.mark.parametrize(
    ("model", "window"),
    [
        ("google-gemma-3-1b-it", 32768),
        ("meta-llama-Llama-3.2-1B", 131072),
        ("meta-llama/Llama-3.2-1B", 131072),  # the org/Name spelling finds it too
        ("gemini-2.0-flash-001", 1048576),
        ("someone/unknown-model", DEFAULT_CONTEXT_WINDOW),
    ],
)
def test_metadata_reads_the_profile(model: str, window: int) -> None:
    metadata = ModelsLabLLM(model=model, api_key="k").metadata
    assert metadata.context_window == window
    assert metadata.num_output == DEFAULT_MAX_TOKENS


def test_user_fields_override_the_profile() -> None:
    llm = ModelsLabLLM(model="google-gemma-3-1b-it", context_window=8000, max_tokens=300)
    assert llm.metadata.context_window == 8000
    assert llm.metadata.num_output == 300


def test_request_sends_the_profile_capped_default_max_tokens() -> None:
    body: dict[str, Any] = {}

    def reply(request: httpx2.Request) -> httpx2.Response:
        body.update(json.loads(request.content))
        return message_reply({"type": "text", "text": "ok"})

    llm, _ = scripted_llm(reply, api="messages", model="gemini-2.0-flash-001")
    llm.complete("hi")
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS
    assert json.dumps(body).count("temperature") == 0
