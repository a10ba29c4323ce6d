"""Wire replies to LangChain messages: usage, completions, tool calls, streams (the direct
text path against the general one) and reasoning."""

from __future__ import annotations

import itertools
import json
import re
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
)

from langchain_modelslab.conversions import message_to_wire
from langchain_modelslab.replies import StreamConverter, completion_from_wire, usage_from_wire
from modelslab_transport.chat import accumulate
from modelslab_transport.wire import ChatCompletion, ChatCompletionChunk, Usage
from tests.support.replies import (
    chunk,
    completion_body,
    tool_call,
    usage_chunk,
)
from tests.support.stream_chunks import chunk_streams

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9"
    "awAAAABJRU5ErkJggg=="
)

# ------------------------------------------------------------------ to the wire


def test_usage_details() -> None:
    usage = Usage(
        prompt_tokens=10,
        completion_tokens=5,
        prompt_tokens_details={"cached_tokens": 4},
        completion_tokens_details={"reasoning_tokens": 2},
    )
    assert usage_from_wire(usage) == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "input_token_details": {"cache_read": 4},
        "output_token_details": {"reasoning": 2},
    }


def test_completion_from_wire() -> None:
    body = completion_body("Hi!", system_fingerprint="fp-9")
    body["choices"][0]["message"]["reasoning_content"] = "thinking..."
    result = completion_from_wire(ChatCompletion.model_validate(body), requested_model="asked")
    message = result.generations[0].message
    assert isinstance(message, AIMessage)
    assert message.content == "Hi!"
    assert message.id is None  # LangChain gives it a run id; the server's is in metadata
    assert message.usage_metadata == {"input_tokens": 9, "output_tokens": 3, "total_tokens": 12}
    assert message.response_metadata == {
        "model_name": "google-gemma-3-1b-it",
        "model_provider": "modelslab",
        "id": "chatcmpl-1",
        "system_fingerprint": "fp-9",
    }
    assert message.additional_kwargs == {"reasoning_content": "thinking..."}
    assert result.generations[0].generation_info == {"finish_reason": "stop"}
    assert result.llm_output is not None
    assert result.llm_output["token_usage"]["total_tokens"] == 12


def test_completion_without_model_reports_the_requested_one() -> None:
    body = completion_body("x")
    del body["model"]
    result = completion_from_wire(ChatCompletion.model_validate(body), requested_model="asked")
    assert result.generations[0].message.response_metadata["model_name"] == "asked"


def test_tool_calls_valid_and_invalid() -> None:
    body = completion_body(
        None,
        tool_calls=[
            tool_call("add", '{"a": 1}', "c1"),
            tool_call("add", "{not json", "c2"),
            tool_call("noargs", "", "c3"),
        ],
        finish_reason="tool_calls",
    )
    message = (
        completion_from_wire(ChatCompletion.model_validate(body), requested_model="m")
        .generations[0]
        .message
    )
    assert isinstance(message, AIMessage)
    assert message.content == ""
    assert message.tool_calls == [
        {"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"},
        {"name": "noargs", "args": {}, "id": "c3", "type": "tool_call"},
    ]
    assert len(message.invalid_tool_calls) == 1
    invalid = message.invalid_tool_calls[0]
    assert (invalid["name"], invalid["args"], invalid["id"]) == ("add", "{not json", "c2")
    assert invalid["error"]


def test_several_choices_put_usage_on_the_first_only() -> None:
    body = completion_body("a")
    body["choices"].append({"index": 1, "message": {"content": "b"}, "finish_reason": "stop"})
    result = completion_from_wire(ChatCompletion.model_validate(body), requested_model="m")
    first, second = (g.message for g in result.generations)
    assert isinstance(first, AIMessage)
    assert isinstance(second, AIMessage)
    assert first.usage_metadata is not None
    assert second.usage_metadata is None
    assert second.content == "b"


def _run_stream(*wire_chunks: dict[str, object]) -> tuple[list[AIMessageChunk], AIMessageChunk]:
    converter = StreamConverter("asked")
    messages: list[AIMessageChunk] = []
    for wire in wire_chunks:
        for generation in converter.convert(ChatCompletionChunk.model_validate(wire)):
            assert isinstance(generation.message, AIMessageChunk)
            generation.message.response_metadata.update(generation.generation_info or {})
            messages.append(generation.message)
    final = converter.finish().message
    assert isinstance(final, AIMessageChunk)
    messages.append(final)
    full = messages[0]
    for message in messages[1:]:
        full = full + message
    return messages, full


def test_stream_metadata_and_usage_arrive_exactly_once() -> None:
    messages, full = _run_stream(
        chunk(content="Hel"),
        chunk(content="lo", finish_reason="stop"),
        usage_chunk(7, 2),
    )
    assert [m.content for m in messages] == ["Hel", "lo", ""]
    assert sum(1 for m in messages if m.usage_metadata) == 1
    assert sum(1 for m in messages if "model_name" in m.response_metadata) == 1
    assert messages[-1].chunk_position == "last"
    assert full.content == "Hello"
    assert full.usage_metadata == {"input_tokens": 7, "output_tokens": 2, "total_tokens": 9}
    assert full.response_metadata == {
        "model_provider": "modelslab",
        "finish_reason": "stop",
        "model_name": "google-gemma-3-1b-it",
        "id": "chatcmpl-2",
        "system_fingerprint": "fp-1",
    }


def test_stream_without_usage_still_names_the_model() -> None:
    _, full = _run_stream(chunk(content="x", finish_reason="stop"))
    assert full.usage_metadata is None
    assert full.response_metadata["model_name"] == "google-gemma-3-1b-it"


def test_stream_tool_call_fragments_become_indexed_chunks() -> None:
    first = {"index": 0, "id": "c1", "type": "function", "function": {"name": "add"}}
    messages, full = _run_stream(
        chunk(tool_calls=[{**first, "function": {"name": "add", "arguments": '{"a"'}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": ": 1}"}}]),
        chunk(tool_calls=[{"index": 1, "id": "c2", "function": {"name": "neg", "arguments": ""}}]),
        chunk(tool_calls=[{"index": 1, "function": {"arguments": '{"x": 2}'}}]),
        chunk(finish_reason="tool_calls"),
    )
    tool_chunks = [tc for m in messages for tc in m.tool_call_chunks]
    assert [(tc["index"], tc["id"], tc["name"], tc["args"]) for tc in tool_chunks] == [
        (0, "c1", "add", '{"a"'),
        (0, None, None, ": 1}"),
        (1, "c2", "neg", ""),
        (1, None, None, '{"x": 2}'),
    ]
    assert full.tool_calls == [
        {"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"},
        {"name": "neg", "args": {"x": 2}, "id": "c2", "type": "tool_call"},
    ]
    assert full.response_metadata["finish_reason"] == "tool_calls"


def test_stream_fragments_without_index_or_id() -> None:
    _, full = _run_stream(
        chunk(tool_calls=[{"function": {"name": "ping", "arguments": "{}"}}]),
        chunk(finish_reason="tool_calls"),
    )
    [call] = full.tool_calls
    assert re.fullmatch(r"call_[0-9a-f]{24}", call["id"] or "")
    assert call == {"name": "ping", "args": {}, "id": call["id"], "type": "tool_call"}


def test_stream_reasoning_is_kept() -> None:
    reasoning = chunk()
    reasoning["choices"][0]["delta"]["reasoning_content"] = "because"
    _, full = _run_stream(reasoning, chunk(content="yes", finish_reason="stop"))
    assert full.additional_kwargs == {"reasoning_content": "because"}
    assert full.content == "yes"


def test_wire_arguments_round_trip() -> None:
    ai = AIMessage("", tool_calls=[{"name": "f", "args": {"q": "你好"}, "id": "1"}])
    calls = message_to_wire(ai).tool_calls
    assert calls is not None
    assert json.loads(calls[0].function.arguments) == {"q": "你好"}


# ------------------------------------------------ the direct path for text chunks


def _converted(
    chunks: list[ChatCompletionChunk], *, split_think_tags: bool, general_only: bool
) -> tuple[list[object], object, str | None]:
    made = (f"call_made_{n}" for n in itertools.count())  # ids as a fresh run makes them
    with mock.patch.object(accumulate, "new_tool_call_id", side_effect=made.__next__):
        converter = StreamConverter("asked", split_think_tags=split_think_tags)
        out: list[object] = []
        for wire in chunks:
            if general_only:
                converter._through = False  # every chunk through the general path
            converted = converter.convert(wire)
            out.append([(g.message.model_dump(), g.generation_info) for g in converted])
        final = converter.finish().message.model_dump()
        problem = converter.tool_call_problem()
        return out, final, None if problem is None else str(problem)


@FAST
@given(chunks=chunk_streams(), split_think_tags=st.booleans())
def test_text_chunks_direct_path_yields_what_the_general_path_does(
    chunks: list[ChatCompletionChunk], split_think_tags: bool
) -> None:
    direct = _converted(chunks, split_think_tags=split_think_tags, general_only=False)
    general = _converted(chunks, split_think_tags=split_think_tags, general_only=True)
    assert direct == general
