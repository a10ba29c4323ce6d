"""Tool calls a server sends without an id, over several turns.

Some servers send tool calls without ``id`` (older Ollama and llama.cpp builds), and some
repeat their completion ids (lmdeploy sends ``"1"`` every time). Each call still needs an
id of its own across the whole conversation: the Messages protocol refuses a history whose
``tool_use`` ids repeat, and a tool result must answer one call only.

The transport gives such a call (or one whose id is ``""``) a random ``call_`` id once,
where replies are decoded (plain or streamed, either protocol), so each turn's call has
its own id in both frameworks and the next request sends that id back on the call and
its result.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from llama_index.core.llms import ChatMessage

from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer
from tests.support.replies import chunk, completion_body, json_response, sse_response, tool_call
from tests.support.truncation import APIS


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _id_less_call(city: str, completion_id: str) -> object:
    call = tool_call("get_weather", f'{{"city": "{city}"}}', call_id=None)
    return json_response(
        completion_body(None, tool_calls=[call], finish_reason="tool_calls", id=completion_id)
    )


def test_langchain_gives_each_turns_id_less_call_its_own_id() -> None:
    server = ScriptedServer([_id_less_call("Paris", "c-1"), _id_less_call("Rome", "c-2")])
    model = chat_model(server).bind_tools([get_weather])
    history: list[object] = [HumanMessage("weather in Paris, then Rome?")]
    first = model.invoke(history)
    history += [first, ToolMessage("sunny", tool_call_id=first.tool_calls[0]["id"])]
    second = model.invoke(history)
    assert first.tool_calls[0]["id"] != second.tool_calls[0]["id"]


def test_llama_index_gives_each_turns_id_less_call_its_own_id() -> None:
    llm, _ = scripted_llm(_id_less_call("Paris", "1"), _id_less_call("Rome", "1"))
    history = [ChatMessage(role="user", content="weather in Paris, then Rome?")]
    first = llm.chat(history)
    [first_call] = llm.get_tool_calls_from_response(first)
    history += [
        first.message,
        ChatMessage(
            role="tool", content="sunny", additional_kwargs={"tool_call_id": first_call.tool_id}
        ),
    ]
    [second_call] = llm.get_tool_calls_from_response(llm.chat(history))
    assert first_call.tool_id != second_call.tool_id


# Every protocol and shape: a call with no id, or with an empty one ("").

ID_FORM = re.compile(r"call_[0-9a-f]{24}")
NO_ID = (None, "")


def _call_reply(api: str, stream: bool, call_id: str | None, city: str) -> httpx2.Response:
    """A reply (completion id ``"1"`` every time) that calls get_weather with no usable id."""
    arguments = json.dumps({"city": city})
    given = {} if call_id is None else {"id": call_id}
    if api == "chat_completions":
        if not stream:
            call = {**given, "type": "function", "function": {"name": "get_weather"}}
            call["function"]["arguments"] = arguments
            return json_response(
                completion_body(None, tool_calls=[call], finish_reason="tool_calls", id="1")
            )
        opening = {**given, "index": 0, "type": "function"}
        opening["function"] = {"name": "get_weather", "arguments": ""}
        chunks = [
            chunk(tool_calls=[opening]),
            chunk(tool_calls=[{"index": 0, "function": {"arguments": arguments}}]),
            chunk(finish_reason="tool_calls"),
        ]
        return sse_response(*chunks)
    block = {**given, "type": "tool_use", "name": "get_weather"}
    message = {
        "id": "1",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "usage": {"input_tokens": 3, "output_tokens": 1},
    }
    if not stream:
        return json_response(
            {**message, "content": [{**block, "input": {"city": city}}], "stop_reason": "tool_use"}
        )
    events = [
        {"type": "message_start", "message": {**message, "content": [], "stop_reason": None}},
        {"type": "content_block_start", "index": 0, "content_block": {**block, "input": {}}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": arguments},
        },
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}},
        {"type": "message_stop"},
    ]
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return httpx2.Response(200, text=text, headers={"content-type": "text/event-stream"})


def _sent_ids(api: str, body: dict[str, Any]) -> tuple[str, str]:
    """The ids of the first call and of its result in a request body."""
    if api == "chat_completions":
        call, result = body["messages"][1], body["messages"][2]
        return call["tool_calls"][0]["id"], result["tool_call_id"]
    call, result = body["messages"][1], body["messages"][2]
    return call["content"][0]["id"], result["content"][0]["tool_use_id"]


@pytest.mark.parametrize("call_id", NO_ID)
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("api", APIS)
def test_langchain_names_each_call_once_and_sends_that_name_back(
    api: str, stream: bool, call_id: str | None
) -> None:
    server = ScriptedServer(
        [
            _call_reply(api, stream, call_id, "Paris"),
            _call_reply(api, stream, call_id, "Rome"),
        ]
    )
    model = chat_model(server, model="m", api=api).bind_tools([get_weather])
    history: list[Any] = [HumanMessage("weather in Paris, then Rome?")]
    ids = []
    for _ in range(2):
        if stream:
            reply: Any = None
            for piece in model.stream(history):
                reply = piece if reply is None else reply + piece
        else:
            reply = model.invoke(history)
        [call] = reply.tool_calls
        assert ID_FORM.fullmatch(call["id"])
        ids.append(call["id"])
        history += [reply, ToolMessage("sunny", tool_call_id=call["id"])]
    assert ids[0] != ids[1]
    assert _sent_ids(api, server.bodies[1]) == (ids[0], ids[0])


@pytest.mark.parametrize("call_id", NO_ID)
@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("api", APIS)
def test_llama_index_names_each_call_once_and_sends_that_name_back(
    api: str, stream: bool, call_id: str | None
) -> None:
    llm, server = scripted_llm(
        _call_reply(api, stream, call_id, "Paris"),
        _call_reply(api, stream, call_id, "Rome"),
        api=api,
    )
    history = [ChatMessage(role="user", content="weather in Paris, then Rome?")]
    ids = []
    for _ in range(2):
        if stream:
            *_, response = llm.stream_chat(history)
        else:
            response = llm.chat(history)
        [call] = llm.get_tool_calls_from_response(response)
        assert ID_FORM.fullmatch(call.tool_id)
        assert call.tool_kwargs in ({"city": "Paris"}, {"city": "Rome"})
        ids.append(call.tool_id)
        history += [
            response.message,
            ChatMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": ids[-1]}),
        ]
    assert ids[0] != ids[1]
    assert _sent_ids(api, json.loads(server.requests[1].content)) == (ids[0], ids[0])
