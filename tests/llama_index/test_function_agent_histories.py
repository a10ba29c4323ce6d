"""A LlamaIndex ``FunctionAgent`` history sent back over both protocols.

Two runs share one ``ChatMemoryBuffer``: the model makes two parallel calls (one tool
raises; the agent answers it with the error text), then answers; the second run sends the
first one back. Every call goes out answered once, under an id of its own (the model's
reused ``c1``/``c2`` renamed). A memory truncated to its token limit starts at a user
turn and is sent as it is.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.llms import ChatMessage
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.tools import FunctionTool

from tests.support.clients import scripted_llm
from tests.support.replies import completion_body, json_response, tool_call
from tests.support.truncation import text_reply


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def divide(a: int, b: int) -> float:
    """Divide a by b."""
    return a / b


TOOLS = [FunctionTool.from_defaults(multiply), FunctionTool.from_defaults(divide)]


def _calls_reply(api: str) -> httpx2.Response:
    if api == "messages":
        blocks = [
            {"type": "tool_use", "id": "c1", "name": "multiply", "input": {"a": 6, "b": 7}},
            {"type": "tool_use", "id": "c2", "name": "divide", "input": {"a": 1, "b": 0}},
        ]
        body: dict[str, Any] = {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": blocks,
            "model": "m",
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 5, "output_tokens": 5},
        }
        return json_response(body)
    calls = [
        tool_call("multiply", '{"a":6,"b":7}', "c1"),
        tool_call("divide", '{"a":1,"b":0}', "c2"),
    ]
    return json_response(completion_body(None, tool_calls=calls, finish_reason="tool_calls"))


def _answer(api: str) -> httpx2.Response:
    reason = "end_turn" if api == "messages" else "stop"
    return text_reply(api, stream=False, pieces=("42",), reason=reason)


def _sent_calls_and_answers(api: str, body: dict[str, Any]) -> tuple[list[str], list[str]]:
    calls: list[str] = []
    answers: list[str] = []
    for message in body["messages"]:
        if api == "chat_completions":
            calls += [call["id"] for call in message.get("tool_calls", [])]
            answers += [message["tool_call_id"]] if message["role"] == "tool" else []
            continue
        content = message["content"] if isinstance(message["content"], list) else []
        calls += [block["id"] for block in content if block["type"] == "tool_use"]
        answers += [block["tool_use_id"] for block in content if block["type"] == "tool_result"]
    return calls, answers


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
async def test_two_runs_on_one_memory_send_every_call_answered_once(api: str) -> None:
    turn = [_calls_reply(api), _answer(api)]
    llm, server = scripted_llm(*turn, *turn, api=api)
    agent = FunctionAgent(tools=TOOLS, llm=llm, system_prompt="Be brief.")
    memory = ChatMemoryBuffer.from_defaults(llm=llm)

    await agent.run(user_msg="6*7 and 1/0?", memory=memory)
    await agent.run(user_msg="Again.", memory=memory)

    calls, answers = _sent_calls_and_answers(api, server.last_body)
    assert calls == ["c1", "c2", "c1_2", "c2_2"]
    assert answers == calls
    assert "division by zero" in json.dumps(server.last_body)


def _agent_history() -> list[ChatMessage]:
    def calls(*ids: str) -> dict[str, Any]:
        function = {"name": "multiply", "arguments": '{"a": 6, "b": 7}'}
        return {"tool_calls": [{"id": i, "type": "function", "function": function} for i in ids]}

    return [
        ChatMessage(role="user", content="What is 6 times 7?"),
        ChatMessage(role="assistant", content=None, additional_kwargs=calls("c1", "c2")),
        ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "c1"}),
        ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "c2"}),
        ChatMessage(role="assistant", content="42"),
        ChatMessage(role="user", content="And again?"),
        ChatMessage(role="assistant", content=None, additional_kwargs=calls("c3")),
        ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "c3"}),
    ]


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
@pytest.mark.parametrize("token_limit", [8, 20, 40, 4000])
def test_a_truncated_memory_is_sent_as_it_is(api: str, token_limit: int) -> None:
    memory = ChatMemoryBuffer.from_defaults(chat_history=_agent_history(), token_limit=token_limit)
    kept = memory.get()
    assert kept[0].role == "user"
    llm, server = scripted_llm(_answer(api), api=api)

    llm.chat(kept)

    calls, answers = _sent_calls_and_answers(api, server.last_body)
    expected = [call["id"] for m in kept for call in m.additional_kwargs.get("tool_calls", [])]
    assert calls == expected
    assert answers == calls
