"""Tool calls an ``AIMessage`` holds only as content blocks.

An Anthropic-shaped ``tool_use`` block, or a standard ``tool_call`` block, in an
``AIMessage``'s content whose id is not among its ``tool_calls`` (a hand-built or
restored history; ChatAnthropic reads such blocks as calls) is a tool call: it is sent as
one, so the ``ToolMessage`` that answers it pairs, on both protocols. A block whose id is
also in ``tool_calls`` is the same call and goes out once. A ``tool_result`` block in a
user message is refused, naming the ``ToolMessage`` to send instead.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.truncation import text_reply

TOOL_USE = {"type": "tool_use", "id": "c1", "name": "add", "input": {"a": 1, "b": 2}}
TOOL_CALL = {"type": "tool_call", "id": "c1", "name": "add", "args": {"a": 1, "b": 2}}


def _send(api: str, assistant: AIMessage) -> dict[str, Any]:
    reason = "end_turn" if api == "messages" else "stop"
    server = ScriptedServer([text_reply(api, stream=False, pieces=("3",), reason=reason)])
    history = [HumanMessage("1+2?"), assistant, ToolMessage("3", tool_call_id="c1")]
    chat_model(server, model="m", api=api).invoke(history)
    body: dict[str, Any] = server.last_body
    return body


def _sent_calls(api: str, body: dict[str, Any]) -> list[tuple[str, str, Any]]:
    assistant = body["messages"][1]
    if api == "messages":
        return [
            (block["id"], block["name"], block["input"])
            for block in assistant["content"]
            if block["type"] == "tool_use"
        ]
    return [
        (call["id"], call["function"]["name"], json.loads(call["function"]["arguments"]))
        for call in assistant["tool_calls"]
    ]


@pytest.mark.parametrize("block", [TOOL_USE, TOOL_CALL], ids=["tool_use", "tool_call"])
@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_a_call_held_only_as_a_content_block_is_sent_as_a_call(
    api: str, block: dict[str, Any]
) -> None:
    body = _send(api, AIMessage([{"type": "text", "text": "Adding."}, block]))
    assert _sent_calls(api, body) == [("c1", "add", {"a": 1, "b": 2})]


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_a_call_in_both_content_and_tool_calls_is_sent_once(api: str) -> None:
    call = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}
    body = _send(api, AIMessage([{"type": "text", "text": "Adding."}, TOOL_USE], tool_calls=[call]))
    assert _sent_calls(api, body) == [("c1", "add", {"a": 1, "b": 2})]


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_a_tool_result_block_in_a_user_message_names_the_tool_message_to_send(api: str) -> None:
    server = ScriptedServer([])
    result = HumanMessage([{"type": "tool_result", "tool_use_id": "c1", "content": "3"}])
    history = [HumanMessage("1+2?"), AIMessage([TOOL_USE]), result]
    with pytest.raises(
        ValueError, match=r"'tool_result' block.*ToolMessage\(content, tool_call_id"
    ):
        chat_model(server, model="m", api=api).invoke(history)
    assert server.requests == []
