"""The two forms of forcing one tool, each negotiated when a server refuses it.

Structured output sends ``"required"`` (``{"type": "any"}`` on Messages) first; a server
that refuses it gets the tool named. A caller who names the one tool sends the named form;
a server that refuses that form gets ``"required"``, which forces the same call.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from tests.faults.drivers import make_model
from tests.faults.test_refused_fields import (
    MESSAGES_TOOL_CHOICE,
    bodies,
    refusing,
    tool_completion,
)
from tests.support.fault_server import FaultServer, json_reply

# vLLM's wording with the field quoted, as the server in the report sent it.
VLLM_QUOTED = {
    "object": "error",
    "message": "`tool_choice` must either be a named tool, 'auto', or 'none'.",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}
# A FastAPI server that types tool_choice as a string literal refuses the object form.
NAMED_REFUSED = {
    "detail": [
        {
            "type": "literal_error",
            "loc": ["body", "tool_choice"],
            "msg": "Input should be 'auto', 'none' or 'required'",
            "input": {"type": "function", "function": {"name": "Weather"}},
        }
    ]
}
NAMED = {"type": "function", "function": {"name": "Weather"}}


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    celsius: int


WEATHER = Weather(city="Paris", celsius=21)


def _is_required(body: dict[str, Any]) -> bool:
    return body.get("tool_choice") == "required"


def _is_named(body: dict[str, Any]) -> bool:
    return isinstance(body.get("tool_choice"), dict)


def _messages_tool_use() -> Any:
    return json_reply(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "Weather",
                    "input": WEATHER.model_dump(),
                }
            ],
            "model": "fault-model",
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 5, "output_tokens": 5},
        }
    )


@pytest.mark.parametrize("run", ["sync", "async"])
def test_quoted_vllm_refusal_of_required_gets_the_named_tool_langchain(run: str) -> None:
    server = refusing(_is_required, 400, VLLM_QUOTED, json_reply(tool_completion()))
    with FaultServer(server) as srv:
        structured = make_model("langchain", srv.base_url).with_structured_output(Weather)
        for _ in range(2):
            if run == "sync":
                assert structured.invoke("Weather in Paris?") == WEATHER
            else:
                assert asyncio.run(structured.ainvoke("Weather in Paris?")) == WEATHER
    assert [b["tool_choice"] for b in bodies(srv)] == ["required", NAMED, NAMED]


@pytest.mark.parametrize("run", ["sync", "async"])
def test_quoted_vllm_refusal_of_required_gets_the_named_tool_llama_index(run: str) -> None:
    server = refusing(_is_required, 400, VLLM_QUOTED, json_reply(tool_completion()))
    prompt = PromptTemplate("Weather in {city}?")
    with FaultServer(server) as srv:
        llm = make_model("llama_index", srv.base_url)
        for _ in range(2):
            if run == "sync":
                result = llm.structured_predict(Weather, prompt, city="Paris")
            else:
                result = asyncio.run(llm.astructured_predict(Weather, prompt, city="Paris"))
            assert result == WEATHER
    assert [b["tool_choice"] for b in bodies(srv)] == ["required", NAMED, NAMED]


@pytest.mark.parametrize("run", ["sync", "async"])
def test_a_refused_named_tool_becomes_required_langchain(run: str) -> None:
    server = refusing(_is_named, 422, NAMED_REFUSED, json_reply(tool_completion()))
    with FaultServer(server) as srv:
        bound = make_model("langchain", srv.base_url).bind_tools([Weather], tool_choice="Weather")
        for _ in range(2):
            message = bound.invoke("Hi") if run == "sync" else asyncio.run(bound.ainvoke("Hi"))
            assert message.tool_calls[0]["args"] == WEATHER.model_dump()
    assert [b["tool_choice"] for b in bodies(srv)] == [NAMED, "required", "required"]


@pytest.mark.parametrize("run", ["sync", "async"])
def test_a_refused_named_tool_becomes_required_llama_index(run: str) -> None:
    tool = FunctionTool.from_defaults(fn=lambda city, celsius: city, name="Weather")
    messages = [ChatMessage(role=MessageRole.USER, content="Hi")]
    server = refusing(_is_named, 422, NAMED_REFUSED, json_reply(tool_completion()))
    with FaultServer(server) as srv:
        llm = make_model("llama_index", srv.base_url)
        for _ in range(2):
            if run == "sync":
                response = llm.chat_with_tools([tool], chat_history=messages, tool_choice="Weather")
            else:
                response = asyncio.run(
                    llm.achat_with_tools([tool], chat_history=messages, tool_choice="Weather")
                )
            calls = llm.get_tool_calls_from_response(response)
            assert calls[0].tool_kwargs == WEATHER.model_dump()
    assert [b["tool_choice"] for b in bodies(srv)] == [NAMED, "required", "required"]


def test_a_refused_named_tool_on_messages_becomes_any() -> None:
    def named(body: dict[str, Any]) -> bool:
        return (body.get("tool_choice") or {}).get("type") == "tool"

    refusal = {**MESSAGES_TOOL_CHOICE}
    refusal["detail"] = [
        {
            **MESSAGES_TOOL_CHOICE["detail"][0],
            "msg": "Input should be 'auto', 'any' or 'none'",
            "input": "tool",
        }
    ]
    with FaultServer(refusing(named, 422, refusal, _messages_tool_use())) as srv:
        model = make_model("langchain", srv.base_url, api="messages")
        bound = model.bind_tools([Weather], tool_choice="Weather")
        for _ in range(2):
            assert bound.invoke("Hi").tool_calls[0]["args"] == WEATHER.model_dump()
    choices = [b["tool_choice"] for b in bodies(srv)]
    assert choices == [{"type": "tool", "name": "Weather"}, {"type": "any"}, {"type": "any"}]


def test_a_named_tool_among_several_is_not_reworded() -> None:
    def other(city: str) -> str:
        """Another tool."""
        return city

    server = refusing(_is_named, 422, NAMED_REFUSED, json_reply(tool_completion()))
    with FaultServer(server) as srv:
        bound = make_model("langchain", srv.base_url).bind_tools(
            [Weather, other], tool_choice="Weather"
        )
        with pytest.raises(Exception, match="Input should be"):
            bound.invoke("Hi")
    assert srv.request_count == 1
    assert json.dumps(bodies(srv)[0]["tool_choice"]) == json.dumps(NAMED)
