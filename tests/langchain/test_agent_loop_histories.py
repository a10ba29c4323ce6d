"""A LangGraph agent loop's history sent back over both protocols.

``create_react_agent`` with parallel tool calls, one of which fails (``ToolNode`` turns
the error into a ``ToolMessage`` with ``status="error"``), run twice on one thread: the
second run sends the whole first run back, and the model's reuse of the same call ids
(small models count from ``call_1`` each turn) goes out renamed so that every id is
unique. Streamed turns are summed by LangChain before the agent stores them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import MemorySaver
from langgraph.prebuilt import ToolNode, create_react_agent

from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse_response,
    tool_call,
    usage_chunk,
)
from tests.support.truncation import text_reply

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def divide(a: int, b: int) -> float:
    """Divide a by b."""
    return a / b


def _calls_reply(api: str, streaming: bool) -> httpx2.Response:
    """Two parallel calls: add(1, 2) and divide(1, 0), ids ``c1``/``c2``."""
    if api == "messages":
        blocks = [
            {"type": "tool_use", "id": "c1", "name": "add", "input": {"a": 1, "b": 2}},
            {"type": "tool_use", "id": "c2", "name": "divide", "input": {"a": 1, "b": 0}},
        ]
        if streaming:
            return _message_events(blocks)
        return json_response(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": blocks,
                "model": "m",
                "stop_reason": "tool_use",
                "usage": {"input_tokens": 5, "output_tokens": 5},
            }
        )
    if not streaming:
        calls = [
            tool_call("add", '{"a":1,"b":2}', "c1"),
            tool_call("divide", '{"a":1,"b":0}', "c2"),
        ]
        return json_response(completion_body(None, tool_calls=calls, finish_reason="tool_calls"))

    def delta(index: int, call_id: str, name: str, arguments: str) -> dict[str, Any]:
        function = {"name": name, "arguments": arguments}
        return {"index": index, "id": call_id, "type": "function", "function": function}

    return sse_response(
        chunk("", role="assistant"),
        chunk(tool_calls=[delta(0, "c1", "add", '{"a":1,')]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '"b":2}'}}]),
        chunk(tool_calls=[delta(1, "c2", "divide", '{"a":1,"b":0}')]),
        chunk(finish_reason="tool_calls"),
        usage_chunk(),
    )


def _message_events(blocks: list[dict[str, Any]]) -> httpx2.Response:
    """``blocks`` (tool uses) streamed as Messages events, input JSON in two pieces."""
    message = {"id": "msg_s", "type": "message", "role": "assistant", "content": []}
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {**message, "model": "m", "usage": {}}}
    ]
    for index, block in enumerate(blocks):
        arguments = json.dumps(block["input"])
        start = {**block, "input": {}}
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        for piece in (arguments[:4], arguments[4:]):
            delta = {"type": "input_json_delta", "partial_json": piece}
            events.append({"type": "content_block_delta", "index": index, "delta": delta})
        events.append({"type": "content_block_stop", "index": index})
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 5},
        }
    )
    events.append({"type": "message_stop"})
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return httpx2.Response(200, text=text, headers={"content-type": "text/event-stream"})


def _answer(api: str, streaming: bool) -> httpx2.Response:
    reason = "end_turn" if api == "messages" else "stop"
    return text_reply(api, stream=streaming, pieces=("3",), reason=reason)


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_two_runs_send_every_call_answered_once_under_its_own_id(api: str, streaming: bool) -> None:
    turn = [_calls_reply(api, streaming), _answer(api, streaming)]
    server = ScriptedServer(turn + turn, repeat_last=False)
    model = chat_model(server, model="m", api=api, streaming=streaming)
    agent = create_react_agent(
        model, ToolNode([add, divide], handle_tool_errors=True), checkpointer=MemorySaver()
    )
    thread = {"configurable": {"thread_id": "t"}}

    agent.invoke({"messages": [SystemMessage("Be brief."), HumanMessage("1+2, 1/0?")]}, thread)
    agent.invoke({"messages": [HumanMessage("Again.")]}, thread)

    sent = server.last_body
    if api == "messages":
        assert sent["system"] in ("Be brief.", [{"type": "text", "text": "Be brief."}])
        calls = [b["id"] for m in sent["messages"] for b in _blocks(m) if b["type"] == "tool_use"]
        answers = [
            (b["tool_use_id"], b.get("is_error", False))
            for m in sent["messages"]
            for b in _blocks(m)
            if b["type"] == "tool_result"
        ]
    else:
        assert [m["role"] for m in sent["messages"]][:2] == ["system", "user"]
        calls = [c["id"] for m in sent["messages"] for c in m.get("tool_calls", [])]
        answers = [(m["tool_call_id"], None) for m in sent["messages"] if m["role"] == "tool"]
    assert calls == ["c1", "c2", "c1_2", "c2_2"]
    assert [call_id for call_id, _ in answers] == calls
    if api == "messages":
        assert [flag for _, flag in answers] == [False, True, False, True]


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return content if isinstance(content, list) else [{"type": "text", "text": content}]
