"""Wire replies to LlamaIndex responses: usage, completions, logprobs, streamed responses
(the direct text path against the general one) and final tool selections."""

from __future__ import annotations

import itertools
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from llama_index_modelslab.replies import (
    FINISH_REASON_KEY,
    TOOL_CALL_ERRORS_KEY,
    StreamConverter,
    completion_from_wire,
    completion_response_from_chat,
    keep_first_tool_call,
    reply_incompleteness,
    tool_selections,
    usage_from_wire,
)
from modelslab_transport.chat import accumulate
from modelslab_transport.chat.completeness import IncompleteReplyError
from modelslab_transport.wire import ChatCompletion, ChatCompletionChunk, Usage
from tests.support.replies import chunk
from tests.support.stream_chunks import chunk_streams


def _completion(
    message: dict[str, Any], finish: str | None = "stop", **extra: Any
) -> ChatCompletion:
    return ChatCompletion.model_validate(
        {"id": "cmpl-1", "choices": [{"message": message, "finish_reason": finish}], **extra}
    )


def test_usage_in_llamaindex_shape() -> None:
    assert usage_from_wire(None) == {}
    assert usage_from_wire(Usage(prompt_tokens=3, completion_tokens=4)) == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
    }


def test_a_whole_completion_with_reasoning_and_tool_calls() -> None:
    completion = _completion(
        {
            "content": "<think>plan</think>done",
            "tool_calls": [{"function": {"name": "f", "arguments": '{"a": 1}'}}],
        },
        finish="tool_calls",
        usage={"prompt_tokens": 1, "completion_tokens": 2},
        logprobs=None,
    )
    response = completion_from_wire(completion)
    blocks = response.message.blocks
    assert isinstance(blocks[0], ThinkingBlock)
    assert blocks[0].content == "plan"
    assert response.message.content == "done"
    (selection,) = tool_selections(response.message)
    assert (selection.tool_name, selection.tool_kwargs) == ("f", {"a": 1})
    assert selection.tool_id.startswith("call_")
    assert response.additional_kwargs["total_tokens"] == 3
    assert response.message.additional_kwargs[FINISH_REASON_KEY] == "tool_calls"
    assert reply_incompleteness(response.message) is None
    kept = completion_from_wire(
        _completion({"content": "<think>x</think>y"}), split_think_tags=False
    )
    assert kept.message.content == "<think>x</think>y"


def test_a_tool_call_cut_by_the_token_limit_raises_on_selection() -> None:
    completion = _completion(
        {"tool_calls": [{"id": "c1", "function": {"name": "f", "arguments": '{"a": '}}]},
        finish="length",
    )
    message = completion_from_wire(completion).message
    assert "c1" in message.additional_kwargs[TOOL_CALL_ERRORS_KEY]
    assert reply_incompleteness(message) is not None
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        tool_selections(message)


def test_a_completion_without_choices_is_an_empty_message() -> None:
    response = completion_from_wire(ChatCompletion.model_validate({"choices": []}))
    assert response.message.content == ""


def test_logprobs_are_lists_of_candidates_per_token() -> None:
    logprobs = {
        "content": [
            {
                "token": "a",
                "logprob": -0.1,
                "top_logprobs": [{"token": "a", "logprob": -0.1}, {"token": "b", "logprob": -2.0}],
            },
            {"token": "c", "logprob": -0.5},
        ]
    }
    completion = ChatCompletion.model_validate(
        {"choices": [{"message": {"content": "ac"}, "finish_reason": "stop", "logprobs": logprobs}]}
    )
    lists = completion_from_wire(completion).logprobs or []
    assert [[p.token for p in token] for token in lists] == [["a", "b"], ["c"]]


def test_a_stream_carries_the_whole_message_so_far_and_the_delta() -> None:
    converter = StreamConverter()
    first = converter.convert(
        ChatCompletionChunk.model_validate({"choices": [{"index": 0, "delta": {"content": "Hel"}}]})
    )
    assert (first.message.content, first.delta) == ("Hel", "Hel")
    call = {"index": 0, "id": "c1", "function": {"name": "f", "arguments": '{"q": "x'}}
    second = converter.convert(
        ChatCompletionChunk.model_validate(
            {"choices": [{"index": 0, "delta": {"content": "lo", "tool_calls": [call]}}]}
        )
    )
    assert second.message.content == "Hello"
    (partial,) = tool_selections(second.message)
    assert partial.tool_kwargs == {"q": "x"}  # partial arguments while in progress
    end = converter.finish()
    assert end is not None  # no finish reason came: the message is marked finished
    assert FINISH_REASON_KEY in end.message.additional_kwargs


def test_a_stream_splits_think_tags_across_chunks() -> None:
    converter = StreamConverter()
    for text in ["<thi", "nk>why</th", "ink>answer"]:
        response = converter.convert(
            ChatCompletionChunk.model_validate(
                {"choices": [{"index": 0, "delta": {"content": text}}]}
            )
        )
    assert response.message.content == "answer"
    assert any(isinstance(b, ThinkingBlock) and b.content == "why" for b in response.message.blocks)


def test_completion_response_from_chat_and_keep_first_tool_call() -> None:
    message = ChatMessage(
        role="assistant",
        blocks=[
            TextBlock(text="t"),
            ToolCallBlock(tool_call_id="a", tool_name="f", tool_kwargs={}),
            ToolCallBlock(tool_call_id="b", tool_name="g", tool_kwargs={}),
        ],
        additional_kwargs={"tool_calls": [{"id": "a"}, {"id": "b"}]},
    )
    response = ChatResponse(message=message, delta="t", additional_kwargs={"total_tokens": 1})
    completion = completion_response_from_chat(response)
    assert (completion.text, completion.delta, completion.additional_kwargs) == (
        "t",
        "t",
        {"total_tokens": 1},
    )
    first = keep_first_tool_call(response)
    assert [s.tool_id for s in tool_selections(first.message)] == ["a"]
    assert first.message.additional_kwargs["tool_calls"] == [{"id": "a"}]
    assert len(tool_selections(response.message)) == 2  # the original is unchanged
    single = ChatResponse(message=ChatMessage(role="assistant", content="x"))
    assert keep_first_tool_call(single) is single


def test_final_arguments_that_are_not_json_raise() -> None:
    message = ChatMessage(
        role="assistant",
        blocks=[ToolCallBlock(tool_call_id="a", tool_name="f", tool_kwargs="{oops")],
        additional_kwargs={FINISH_REASON_KEY: "stop"},
    )
    with pytest.raises(IncompleteReplyError, match="the call to 'f' is unusable"):
        tool_selections(message)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _responses(
    chunks: list[ChatCompletionChunk], *, split_think_tags: bool, general_only: bool
) -> list[Any]:
    made = (f"call_made_{n}" for n in itertools.count())  # ids as a fresh run makes them
    with mock.patch.object(accumulate, "new_tool_call_id", side_effect=made.__next__):
        converter = StreamConverter(split_think_tags=split_think_tags)
        responses = []
        for wire in chunks:
            if general_only:
                converter._plain = False  # every chunk through the general path
            responses.append(converter.convert(wire))
        last = converter.finish()
        if last is not None:
            responses.append(last)
        out: list[Any] = []
        for response in responses:
            try:
                selections: Any = [s.model_dump() for s in tool_selections(response.message)]
            except Exception as exc:  # a finished reply's broken call raises; compare that too
                selections = repr(exc)
            out.append((response.model_dump(exclude={"raw"}), response.raw, selections))
        return out


@FAST
@given(chunks=chunk_streams(), split_think_tags=st.booleans())
def test_text_chunks_direct_path_yields_what_the_general_path_does(
    chunks: list[ChatCompletionChunk], split_think_tags: bool
) -> None:
    direct = _responses(chunks, split_think_tags=split_think_tags, general_only=False)
    general = _responses(chunks, split_think_tags=split_think_tags, general_only=True)
    assert direct == general


def test_text_chunks_carry_the_text_so_far_and_the_delta() -> None:
    converter = StreamConverter()
    first = converter.convert(ChatCompletionChunk.model_validate(chunk("", role="assistant")))
    second = converter.convert(ChatCompletionChunk.model_validate(chunk("Hel")))
    third = converter.convert(ChatCompletionChunk.model_validate(chunk("lo")))
    assert [r.delta for r in (first, second, third)] == ["", "Hel", "lo"]
    assert [r.message.content for r in (first, second, third)] == ["", "Hel", "Hello"]
    assert third.message.additional_kwargs == {}
    assert third.additional_kwargs == {}
    assert third.raw.choices[0].delta.content == "lo"
    end = converter.convert(ChatCompletionChunk.model_validate(chunk(finish_reason="stop")))
    assert end.message.content == "Hello"
    assert end.message.additional_kwargs == {"finish_reason": "stop"}
