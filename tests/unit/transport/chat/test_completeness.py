"""Whether a reply finished, read once from either protocol's finish / stop reason."""

from __future__ import annotations

import pytest

from modelslab_transport.chat.accumulate import ChatStreamAccumulator
from modelslab_transport.chat.completeness import (
    IncompleteReplyError,
    incompleteness,
    judge_tool_calls,
    require_whole,
    standing_reason,
)
from modelslab_transport.protocols.messages import MessageEventTranslator, message_to_completion
from modelslab_transport.wire.chat import (
    ChatCompletionChunk,
    ResponseFunctionCall,
    ResponseToolCall,
)
from modelslab_transport.wire.messages import Message, MessageStreamEvent


@pytest.mark.parametrize(
    ("reason", "cause", "setting"),
    [
        ("length", "max_tokens", "max_tokens"),
        ("max_tokens", "max_tokens", "max_tokens"),
        ("MAX_TOKENS", "max_tokens", "max_tokens"),
        ("max_output_tokens", "max_tokens", "max_tokens"),
        ("model_context_window_exceeded", "context_window", "max_tokens"),
        ("model_length", "context_window", "max_tokens"),
        ("content_filter", "content_filter", None),
        ("refusal", "content_filter", None),
        ("SAFETY", "content_filter", None),
        ("pause_turn", "pause_turn", None),
        ("abort", "stopped", None),
        ("error", "stopped", None),
        # Other servers' spellings.
        ("max_length", "max_tokens", "max_tokens"),
        ("ERROR_LIMIT", "context_window", "max_tokens"),
        ("ERROR_TOXIC", "content_filter", None),
        ("IMAGE_SAFETY", "content_filter", None),
        ("guardrail_intervened", "content_filter", None),
        ("content_filtered", "content_filter", None),
        ("MALFORMED_FUNCTION_CALL", "tool_call", None),
        ("UNEXPECTED_TOOL_CALL", "tool_call", None),
        ("TOO_MANY_TOOL_CALLS", "tool_call", None),
        ("OTHER", "stopped", None),
        ("LANGUAGE", "stopped", None),
        ("TIMEOUT", "stopped", None),
        ("USER_CANCEL", "stopped", None),
        ("cancelled", "stopped", None),
        ("insufficient_system_resource", "stopped", None),
    ],
)
def test_reasons_of_a_reply_that_did_not_finish(
    reason: str, cause: str, setting: str | None
) -> None:
    found = incompleteness(reason)
    assert found is not None
    assert (found.finish_reason, found.cause, found.setting) == (reason, cause, setting)
    assert repr(reason) in found.message
    if setting is not None:
        assert setting in found.message


@pytest.mark.parametrize(
    "reason",
    [
        None,
        "",
        "stop",
        "tool_calls",
        "function_call",
        "end_turn",
        "tool_use",
        "stop_sequence",
        "eos",
        "eos_token",  # TGI
        "COMPLETE",  # Cohere
        "TOOL_CALL",  # Cohere
        "STOP",  # Gemini
    ],
)
def test_reasons_of_a_finished_reply(reason: str | None) -> None:
    assert incompleteness(reason) is None


def _call(arguments: str, name: str = "f") -> ResponseToolCall:
    return ResponseToolCall(
        id=f"call_{name}", function=ResponseFunctionCall(name=name, arguments=arguments)
    )


def test_judge_tool_calls_cuts_the_last_call_of_an_unfinished_reply() -> None:
    calls = [_call('{"a": 1}', "first"), _call('{"b": 2}', "second")]
    first, second = judge_tool_calls(calls, incompleteness("length"))
    assert first == {"a": 1}
    assert isinstance(second, IncompleteReplyError)
    assert "'second'" in str(second)
    assert second.setting == "max_tokens"


def test_judge_tool_calls_of_a_finished_reply_is_strict() -> None:
    whole, broken, listed = judge_tool_calls(
        [_call('{"a": 1}'), _call('{"a": 6, "b": }'), _call("[1]")], None
    )
    assert whole == {"a": 1}
    assert isinstance(broken, IncompleteReplyError)
    assert broken.incomplete is None
    assert "not valid JSON" in str(broken)
    assert isinstance(listed, IncompleteReplyError)


def test_require_whole() -> None:
    require_whole(None, "x")
    with pytest.raises(IncompleteReplyError, match=r"the answer cannot be read: .*max_tokens"):
        require_whole(incompleteness("length"), "the answer")


def test_messages_stop_reasons_reach_the_completion() -> None:
    for stop_reason, finish in [
        ("max_tokens", "length"),
        ("refusal", "content_filter"),
        ("pause_turn", "pause_turn"),
        ("model_context_window_exceeded", "model_context_window_exceeded"),
        ("end_turn", "stop"),
    ]:
        message = Message.model_validate(
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": "hi"}],
                "model": "m",
                "stop_reason": stop_reason,
            }
        )
        reason = message_to_completion(message).choices[0].finish_reason
        assert reason == finish
        assert (incompleteness(reason) is None) is (stop_reason == "end_turn")


def test_the_accumulated_stream_says_whether_it_finished() -> None:
    accumulator = ChatStreamAccumulator()
    accumulator.add(
        ChatCompletionChunk.model_validate({"choices": [{"index": 0, "delta": {"content": "a"}}]})
    )
    assert accumulator.incomplete() is None  # no reason yet
    accumulator.add(
        ChatCompletionChunk.model_validate(
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}
        )
    )
    found = accumulator.incomplete()
    assert found is not None
    assert found.setting == "max_tokens"


def test_a_messages_stream_cut_by_max_tokens_is_incomplete() -> None:
    translator = MessageEventTranslator()
    accumulator = ChatStreamAccumulator()
    for event in [
        {"type": "message_start", "message": {"id": "m", "model": "x", "content": []}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a"}},
        {"type": "message_delta", "delta": {"stop_reason": "max_tokens"}},
        {"type": "message_stop"},
    ]:
        chunk = translator.translate(MessageStreamEvent.model_validate(event))
        if chunk is not None:
            accumulator.add(chunk)
    found = accumulator.incomplete()
    assert found is not None
    assert found.cause == "max_tokens"


def test_final_arguments_refuse_nesting_past_the_parsers_limit() -> None:
    from modelslab_transport.chat.tool_calls import (
        ToolArgumentsError,
        parse_partial_json,
        parse_tool_arguments,
    )

    deep = '{"a": ' + "[" * 300 + "]" * 300 + "}"
    with pytest.raises(ToolArgumentsError, match="not valid JSON"):
        parse_tool_arguments(deep)
    assert parse_partial_json(deep[:-10]) == {}  # never raises while a stream runs
    shallow = '{"a": ' + "[" * 50 + "]" * 50 + "}"
    assert isinstance(parse_tool_arguments(shallow)["a"], list)


@pytest.mark.parametrize(
    ("reasons", "standing"),
    [
        (["length"], "length"),
        (["length", "length"], "length"),
        (["length", "stop"], "length"),  # a proxy's closing chunk does not finish it
        (["stop", "length"], "length"),
        (["tool_calls", "stop"], "tool_calls"),
        (["stop", None, ""], "stop"),
        (["content_filter", "length"], "content_filter"),
    ],
)
def test_the_standing_reason_of_a_choice_that_reports_several(
    reasons: list[str | None], standing: str
) -> None:
    current: str | None = None
    for reason in reasons:
        current = standing_reason(current, reason)
    assert current == standing
    accumulator = ChatStreamAccumulator()
    for reason in reasons:
        accumulator.add(
            ChatCompletionChunk.model_validate(
                {"choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": reason}]}
            )
        )
    assert accumulator.finish_reason(0) == standing
