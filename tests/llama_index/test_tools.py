"""Tool calling: request shape, tool-call extraction (also mid-stream), predict_and_call
and a FunctionAgent loop (mock transport only)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ToolCallBlock
from llama_index.core.tools import FunctionTool

from tests.support.clients import scripted_llm
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse_response,
    tool_call,
    usage_chunk,
)


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def now() -> str:
    """The current time."""
    return "noon"


ADD = FunctionTool.from_defaults(add)
NOW = FunctionTool.from_defaults(now)


# -------------------------------------------------------------- request shape


def test_prepare_offers_tools_with_auto_choice() -> None:
    llm, _ = scripted_llm()
    history = [ChatMessage(role="user", content="earlier")]
    kwargs = llm._prepare_chat_with_tools([ADD, NOW], user_msg="2+2?", chat_history=history)
    assert [m.content for m in kwargs["messages"]] == ["earlier", "2+2?"]
    assert len(history) == 1
    assert [t.function.name for t in kwargs["tools"]] == ["add", "now"]
    assert kwargs["tools"][0].function.parameters["required"] == ["a", "b"]
    assert kwargs["tool_choice"] == "auto"
    assert kwargs["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"tool_required": True}, "required"),
        ({"tool_choice": "any"}, "required"),
        ({"tool_choice": "none"}, "none"),
        ({"tool_choice": "add"}, {"type": "function", "function": {"name": "add"}}),
        (
            {"tool_choice": {"type": "function", "function": {"name": "now"}}},
            {"type": "function", "function": {"name": "now"}},
        ),
        ({"tool_choice": "auto", "tool_required": True}, "auto"),
    ],
)
def test_prepare_maps_tool_choice(options: dict[str, Any], expected: Any) -> None:
    llm, _ = scripted_llm()
    kwargs = llm._prepare_chat_with_tools([ADD, NOW], user_msg="x", **options)
    assert kwargs["tool_choice"] == expected


def test_prepare_refuses_unknown_tool_name() -> None:
    llm, _ = scripted_llm()
    with pytest.raises(ValueError, match="nor the name"):
        llm._prepare_chat_with_tools([ADD], user_msg="x", tool_choice="multiply")


def test_prepare_without_tools_sends_no_tool_fields() -> None:
    llm, _ = scripted_llm()
    kwargs = llm._prepare_chat_with_tools([], user_msg="x", tool_required=True)
    assert set(kwargs) == {"messages"}


def test_chat_with_tools_request_body() -> None:
    llm, server = scripted_llm(
        json_response(completion_body(None, tool_calls=[tool_call("add", '{"a":1,"b":2}')]))
    )
    llm.chat_with_tools([ADD], user_msg="1+2?", tool_required=True, allow_parallel_tool_calls=True)
    body = server.bodies[0]
    assert body["tool_choice"] == "required"
    assert body["parallel_tool_calls"] is True
    assert body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "add",
            "description": "add(a: 'int', b: 'int') -> 'int'\nAdd two integers.",
            "parameters": {
                "type": "object",
                "properties": {
                    "a": {"title": "A", "type": "integer"},
                    "b": {"title": "B", "type": "integer"},
                },
                "required": ["a", "b"],
            },
        },
    }


def test_strict_is_passed_to_function_definitions() -> None:
    llm, server = scripted_llm(json_response(completion_body()))
    llm.chat_with_tools([ADD], user_msg="x", strict=True)
    assert server.bodies[0]["tools"][0]["function"]["strict"] is True


# ----------------------------------------------------------- tool-call replies


def test_tool_calls_are_blocks_and_legacy_kwargs() -> None:
    calls = [tool_call("add", '{"a": 1, "b": 2}', "call_x")]
    llm, _ = scripted_llm(
        json_response(completion_body(None, tool_calls=calls, finish_reason="tool_calls"))
    )
    response = llm.chat_with_tools([ADD], user_msg="1+2?")
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert blocks == [
        ToolCallBlock(tool_call_id="call_x", tool_name="add", tool_kwargs={"a": 1, "b": 2})
    ]
    assert response.message.additional_kwargs["tool_calls"] == calls
    assert response.message.content is None
    selections = llm.get_tool_calls_from_response(response)
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        ("call_x", "add", {"a": 1, "b": 2})
    ]


def test_only_first_call_kept_unless_parallel() -> None:
    calls = [tool_call("add", '{"a":1,"b":2}', "c1"), tool_call("now", "{}", "c2")]
    llm, _ = scripted_llm(
        json_response(completion_body(None, tool_calls=calls)),
        json_response(completion_body(None, tool_calls=calls)),
    )
    single = llm.chat_with_tools([ADD, NOW], user_msg="x")
    assert [s.tool_id for s in llm.get_tool_calls_from_response(single)] == ["c1"]
    assert len(single.message.additional_kwargs["tool_calls"]) == 1
    both = llm.chat_with_tools([ADD, NOW], user_msg="x", allow_parallel_tool_calls=True)
    assert [s.tool_id for s in llm.get_tool_calls_from_response(both)] == ["c1", "c2"]


def test_no_tool_call_raises_only_when_asked() -> None:
    llm, _ = scripted_llm(json_response(completion_body("just text")))
    response = llm.chat_with_tools([ADD], user_msg="x")
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="expected at least one tool call"):
        llm.get_tool_calls_from_response(response)


def test_missing_ids_get_ids_of_their_own() -> None:
    calls = [tool_call("now", "", call_id=None)]
    llm, _ = scripted_llm(
        json_response(completion_body(None, tool_calls=calls)),
        json_response(completion_body(None, tool_calls=calls)),
    )
    first = llm.get_tool_calls_from_response(llm.chat_with_tools([NOW], user_msg="x"))
    again = llm.get_tool_calls_from_response(llm.chat_with_tools([NOW], user_msg="x"))
    assert first[0].tool_id != again[0].tool_id
    for selection in (*first, *again):
        assert re.fullmatch(r"call_[0-9a-f]{24}", selection.tool_id)
    assert first[0].tool_kwargs == {}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"a": 1, "b": 2', {"a": 1, "b": 2}),
        ('{"a": 1, "b"', {"a": 1}),
        ('{"a": "unfinished', {"a": "unfinished"}),
        ("not json at all", {}),
        ('["a list"]', {}),
    ],
)
def test_broken_arguments_do_not_raise(arguments: str, expected: dict[str, Any]) -> None:
    block = ToolCallBlock(tool_call_id="c", tool_name="add", tool_kwargs=arguments)
    response = ChatResponse(message=ChatMessage(role="assistant", blocks=[block]))
    llm, _ = scripted_llm()
    assert llm.get_tool_calls_from_response(response)[0].tool_kwargs == expected


def test_legacy_tool_calls_are_read_from_additional_kwargs() -> None:
    legacy = {"id": "c7", "type": "function", "function": {"name": "add", "arguments": '{"a":5}'}}
    response = ChatResponse(
        message=ChatMessage(
            role="assistant", content="", additional_kwargs={"tool_calls": [legacy]}
        )
    )
    llm, _ = scripted_llm()
    selection = llm.get_tool_calls_from_response(response)[0]
    assert (selection.tool_id, selection.tool_name, selection.tool_kwargs) == (
        "c7",
        "add",
        {"a": 5},
    )


def streamed_call() -> Any:
    """A streamed tool call whose arguments arrive in fragments."""
    return sse_response(
        chunk(role="assistant", content=None),
        chunk(tool_calls=[{"index": 0, "id": "call_s", "type": "function",
                           "function": {"name": "add", "arguments": ""}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": '{"a": 4'}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": ', "b": 5}'}}]),
        chunk(finish_reason="tool_calls"),
        usage_chunk(),
    )  # fmt: skip


def test_streamed_tool_call_is_readable_at_every_chunk() -> None:
    llm, _ = scripted_llm(streamed_call())
    seen = []
    last = None
    for last in llm.stream_chat_with_tools([ADD], user_msg="4+5?", tool_required=True):
        seen.append(llm.get_tool_calls_from_response(last, error_on_no_tool_call=False))
    assert seen[0] == []
    assert [s[0].tool_kwargs for s in seen[1:4]] == [{}, {"a": 4}, {"a": 4, "b": 5}]
    assert last is not None
    assert last.message.additional_kwargs["tool_calls"][0]["function"]["arguments"] == (
        '{"a": 4, "b": 5}'
    )
    assert last.additional_kwargs["total_tokens"] == 13


@pytest.mark.parametrize(
    ("fragments", "expected"),
    [
        # The arguments so far, as ToolCallBlock.tool_kwargs after each fragment: the
        # raw text until it is a whole JSON object, then the object.
        (["", '{"a": 4', ', "b": 5}', " \n"], [{}, '{"a": 4', {"a": 4, "b": 5}, {"a": 4, "b": 5}]),
        (["nu", "ll"], ["nu", {}]),
        (['{"s": "}', '"}'], ['{"s": "}', {"s": "}"}]),
        (['["a list"]'], ['["a list"]']),
        (['{"a": 1} x'], ['{"a": 1} x']),
    ],
)
def test_streamed_tool_call_block_holds_text_until_the_arguments_are_an_object(
    fragments: list[str], expected: list[Any]
) -> None:
    opening = {"index": 0, "id": "call_s", "type": "function", "function": {"name": "add"}}
    pieces = [{"index": 0, "function": {"arguments": text}} for text in fragments]
    pieces[0] = {**opening, "function": {"name": "add", "arguments": fragments[0]}}
    llm, _ = scripted_llm(
        sse_response(
            *[chunk(tool_calls=[piece]) for piece in pieces],
            chunk(finish_reason="tool_calls"),
        )
    )
    seen = [
        [block.tool_kwargs for block in response.message.blocks if isinstance(block, ToolCallBlock)]
        for response in llm.stream_chat_with_tools([ADD], user_msg="4+5?")
    ]
    assert seen[: len(fragments)] == [[value] for value in expected]


async def test_async_streamed_tool_call() -> None:
    llm, server = scripted_llm(streamed_call())
    stream = await llm.astream_chat_with_tools([ADD], user_msg="4+5?", tool_required=True)
    responses = [r async for r in stream]
    assert llm.get_tool_calls_from_response(responses[-1])[0].tool_kwargs == {"a": 4, "b": 5}
    assert server.bodies[0]["tool_choice"] == "required"


# ---------------------------------------------------- predict_and_call, agents


def test_predict_and_call_runs_the_tool() -> None:
    llm, _ = scripted_llm(
        json_response(completion_body(None, tool_calls=[tool_call("add", '{"a": 2, "b": 3}')]))
    )
    result = llm.predict_and_call([ADD], user_msg="2+3?")
    assert result.response == "5"
    assert result.sources[0].tool_name == "add"


async def test_apredict_and_call_runs_the_tool() -> None:
    llm, _ = scripted_llm(
        json_response(completion_body(None, tool_calls=[tool_call("add", '{"a": 2, "b": 5}')]))
    )
    result = await llm.apredict_and_call([ADD], user_msg="2+5?")
    assert result.response == "7"


@pytest.mark.parametrize("streaming", [False, True])
async def test_function_agent_loop(streaming: bool) -> None:
    def reply(text: str | None, calls: list[dict[str, Any]] | None = None) -> Any:
        if not streaming:
            return json_response(completion_body(text, tool_calls=calls))
        chunks = [chunk(role="assistant", content=text)]
        if calls:
            chunks.append(chunk(tool_calls=[{**calls[0], "index": 0}]))
        return sse_response(*chunks, chunk(finish_reason="stop"), usage_chunk())

    llm, server = scripted_llm(
        reply(None, [tool_call("add", '{"a": 20, "b": 22}', "call_add")]),
        reply("The sum is 42."),
    )
    agent = FunctionAgent(tools=[ADD], llm=llm, streaming=streaming)
    handler = agent.run(user_msg="What is 20 + 22?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    output = await handler
    assert str(output.response.content) == "The sum is 42."
    assert results[0].tool_output.content == "42"
    second = server.bodies[1]["messages"]
    assert second[-2]["tool_calls"][0]["id"] == "call_add"
    assert second[-1] == {"role": "tool", "content": "42", "tool_call_id": "call_add"}
