"""ChatStreamAccumulator: folding chunks back into the completion they add up to."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from modelslab_transport import ChatStreamAccumulator
from modelslab_transport.wire import ChatCompletion, ChatCompletionChunk


def _chunk(*choices: dict[str, Any], **top: Any) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate({"choices": list(choices), **top})


def _tool(
    index: int | None = None,
    id: str | None = None,
    name: str | None = None,
    arguments: str | None = None,
) -> dict[str, Any]:
    fragment: dict[str, Any] = {"function": {}}
    if index is not None:
        fragment["index"] = index
    if id is not None:
        fragment["id"] = id
        fragment["type"] = "function"
    if name is not None:
        fragment["function"]["name"] = name
    if arguments is not None:
        fragment["function"]["arguments"] = arguments
    return fragment


def _fold(*chunks: ChatCompletionChunk) -> ChatStreamAccumulator:
    accumulator = ChatStreamAccumulator()
    for chunk in chunks:
        accumulator.add(chunk)
    return accumulator


def _calls(accumulator: ChatStreamAccumulator, choice: int = 0) -> list[tuple[Any, ...]]:
    return [
        (c.index, c.id, c.type, c.function.name, c.function.arguments)
        for c in accumulator.tool_calls(choice)
    ]


def test_text_role_finish_reason_usage_and_ids() -> None:
    accumulator = _fold(
        _chunk({"delta": {"role": "assistant", "content": ""}}, id="a", model="m1", created=5),
        _chunk({"delta": {"content": "Hel"}}, id="b", model="m2"),
        _chunk({"delta": {"content": "lo"}, "finish_reason": "stop"}, system_fingerprint="fp"),
        _chunk(usage={"prompt_tokens": 4, "completion_tokens": 2, "total_tokens": 6}),
    )
    assert accumulator.text() == "Hello"
    assert accumulator.finish_reason() == "stop"
    assert (accumulator.id, accumulator.model, accumulator.created) == ("a", "m1", 5)
    assert accumulator.system_fingerprint == "fp"
    assert accumulator.usage is not None
    assert accumulator.usage.total == 6
    completion = accumulator.completion()
    assert isinstance(completion, ChatCompletion)
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.tool_calls is None
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 4


def test_fragments_keyed_by_index_interleaved() -> None:
    accumulator = _fold(
        _chunk({"delta": {"tool_calls": [_tool(0, "call_a", "get_weather", "")]}}),
        _chunk({"delta": {"tool_calls": [_tool(1, "call_b", "get_time", "")]}}),
        _chunk({"delta": {"tool_calls": [_tool(0, arguments='{"city":')]}}),
        _chunk({"delta": {"tool_calls": [_tool(1, arguments='{"tz":"UTC"}')]}}),
        _chunk({"delta": {"tool_calls": [_tool(0, arguments=' "Paris"}')]}}),
        _chunk({"delta": {}, "finish_reason": "tool_calls"}),
    )
    assert _calls(accumulator) == [
        (0, "call_a", "function", "get_weather", '{"city": "Paris"}'),
        (1, "call_b", "function", "get_time", '{"tz":"UTC"}'),
    ]
    message = accumulator.completion().choices[0].message
    assert message.content is None
    assert message.tool_calls is not None
    assert [json.loads(c.function.arguments or "") for c in message.tool_calls] == [
        {"city": "Paris"},
        {"tz": "UTC"},
    ]


def test_fragments_in_one_chunk_with_sparse_indices_are_ordered() -> None:
    accumulator = _fold(
        _chunk({"delta": {"tool_calls": [_tool(3, "c3", "z", "{}"), _tool(1, "c1", "a", "{}")]}})
    )
    assert [c[:2] for c in _calls(accumulator)] == [(1, "c1"), (3, "c3")]


def test_fragments_without_index_continue_the_latest_call() -> None:
    accumulator = _fold(
        _chunk({"delta": {"tool_calls": [_tool(None, "call_1", "search", '{"q"')]}}),
        _chunk({"delta": {"tool_calls": [_tool(None, arguments=': "cats"}')]}}),
        _chunk({"delta": {"tool_calls": [_tool(None, "call_2", "fetch", '{"url": "x"}')]}}),
        _chunk({"delta": {"tool_calls": [_tool(None, "call_2", arguments="")]}}),
    )
    assert _calls(accumulator) == [
        (0, "call_1", "function", "search", '{"q": "cats"}'),
        (1, "call_2", "function", "fetch", '{"url": "x"}'),
    ]


def test_fragment_without_index_after_an_indexed_one_continues_it() -> None:
    accumulator = _fold(
        _chunk({"delta": {"tool_calls": [_tool(0, "call_1", "f", '{"a"')]}}),
        _chunk({"delta": {"tool_calls": [_tool(None, arguments=": 1}")]}}),
    )
    assert _calls(accumulator) == [(0, "call_1", "function", "f", '{"a": 1}')]


def test_repeated_full_names_are_not_doubled() -> None:
    accumulator = _fold(
        _chunk({"delta": {"tool_calls": [_tool(0, "c", "get_weather", '{"c')]}}),
        _chunk({"delta": {"tool_calls": [_tool(0, "c", "get_weather", 'ity": "P"}')]}}),
        _chunk({"delta": {"tool_calls": [_tool(0, None, "get_weather")]}}),
    )
    assert _calls(accumulator) == [(0, "c", "function", "get_weather", '{"city": "P"}')]


def test_name_split_across_fragments_is_joined() -> None:
    accumulator = _fold(
        _chunk({"delta": {"tool_calls": [_tool(0, "c", "get_")]}}),
        _chunk({"delta": {"tool_calls": [_tool(0, name="weather", arguments="{}")]}}),
    )
    assert _calls(accumulator)[0][3] == "get_weather"


def test_null_fields_in_fragments_are_tolerated() -> None:
    accumulator = _fold(
        _chunk(
            {
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "c",
                            "type": None,
                            "function": {"name": None, "arguments": None},
                        }
                    ]
                }
            }
        ),
        _chunk(
            {"delta": {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]}}
        ),
    )
    assert _calls(accumulator) == [(0, "c", "function", "f", "{}")]


def test_multiple_choices_are_kept_apart() -> None:
    accumulator = _fold(
        _chunk({"index": 0, "delta": {"content": "A"}}, {"index": 1, "delta": {"content": "X"}}),
        _chunk({"index": 1, "delta": {"content": "Y"}, "finish_reason": "length"}),
        _chunk({"index": 0, "delta": {"content": "B"}, "finish_reason": "stop"}),
    )
    assert accumulator.text(0) == "AB"
    assert accumulator.text(1) == "XY"
    assert accumulator.finish_reason(1) == "length"
    completion = accumulator.completion()
    assert [(c.index, c.message.content, c.finish_reason) for c in completion.choices] == [
        (0, "AB", "stop"),
        (1, "XY", "length"),
    ]


def test_empty_accumulator() -> None:
    accumulator = ChatStreamAccumulator()
    assert accumulator.text() == ""
    assert accumulator.tool_calls() == []
    assert accumulator.finish_reason() is None
    assert accumulator.completion().choices == []


def test_usage_only_chunk_does_not_create_a_choice() -> None:
    accumulator = _fold(
        _chunk({"delta": {"content": "x"}, "finish_reason": "stop"}),
        _chunk(usage={"prompt_tokens": 1, "completion_tokens": 1}),
    )
    assert len(accumulator.completion().choices) == 1
    assert accumulator.usage is not None
    assert accumulator.usage.total == 2


def test_content_blocks_and_reasoning_accumulate() -> None:
    accumulator = _fold(
        _chunk({"delta": {"reasoning_content": "step 1; "}}),
        _chunk({"delta": {"reasoning_content": "step 2"}}),
        _chunk(
            {"delta": {"content": [{"type": "text", "text": "An"}, {"type": "text", "text": "s"}]}}
        ),
        _chunk({"delta": {"content": "wer"}}),
    )
    message = accumulator.completion().choices[0].message
    assert message.content == "Answer"
    assert message.reasoning_content == "step 1; step 2"


def test_add_with_tool_deltas_reports_what_each_chunk_added_to_each_call() -> None:
    accumulator = ChatStreamAccumulator()
    first = accumulator.add_with_tool_deltas(
        _chunk({"index": 0, "delta": {"tool_calls": [_tool(0, "call_a", "get", '{"q"')]}})
    )
    # Two fragments of one call in one chunk are merged; an index-less fragment with a
    # new id starts the next call.
    second = accumulator.add_with_tool_deltas(
        _chunk(
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        _tool(0, arguments=': "x'),
                        _tool(0, arguments='"}'),
                        _tool(None, "call_b", "look", ""),
                    ]
                },
            }
        )
    )
    text_only = accumulator.add_with_tool_deltas(_chunk({"index": 0, "delta": {"content": "hi"}}))

    assert [(d.index, d.started, d.id, d.name, d.arguments) for d in first] == [
        (0, True, "call_a", "get", '{"q"')
    ]
    assert [(d.choice, d.index, d.started, d.id, d.name, d.arguments) for d in second] == [
        (0, 0, False, "call_a", "", ': "x"}'),
        (0, 1, True, "call_b", "look", ""),
    ]
    assert text_only == []
    assert [c.function.arguments for c in accumulator.tool_calls()] == ['{"q": "x"}', ""]


def test_whole_parallel_calls_sharing_index_zero_are_separate_calls() -> None:
    accumulator = _fold(
        _chunk({"delta": {"tool_calls": [_tool(0, "call_a", "get_weather", '{"city": "Paris"}')]}}),
        _chunk({"delta": {"tool_calls": [_tool(0, "call_b", "get_time", '{"tz": "CET"}')]}}),
        _chunk({"delta": {"tool_calls": [_tool(0, "call_c", "get_news", "{}")]}}),
    )
    assert _calls(accumulator) == [
        (0, "call_a", "function", "get_weather", '{"city": "Paris"}'),
        (1, "call_b", "function", "get_time", '{"tz": "CET"}'),
        (2, "call_c", "function", "get_news", "{}"),
    ]


def test_fragment_without_id_continues_the_latest_call_at_its_index() -> None:
    accumulator = ChatStreamAccumulator()
    accumulator.add(_chunk({"delta": {"tool_calls": [_tool(0, "call_a", "f", "{}")]}}))
    started = accumulator.add_with_tool_deltas(
        _chunk({"delta": {"tool_calls": [_tool(0, "call_b", "g", '{"x"')]}})
    )
    continued = accumulator.add_with_tool_deltas(
        _chunk({"delta": {"tool_calls": [_tool(0, arguments=": 1}")]}})
    )
    same_id = accumulator.add_with_tool_deltas(
        _chunk({"delta": {"tool_calls": [_tool(0, "call_b", arguments="")]}})
    )
    assert [(d.index, d.started, d.id) for d in started] == [(1, True, "call_b")]
    assert [(d.index, d.started, d.arguments) for d in continued] == [(1, False, ": 1}")]
    assert [(d.index, d.started) for d in same_id] == [(1, False)]
    assert _calls(accumulator) == [
        (0, "call_a", "function", "f", "{}"),
        (1, "call_b", "function", "g", '{"x": 1}'),
    ]


def test_server_indexes_are_kept_when_a_reused_index_moved_a_call() -> None:
    # index 0 twice (two calls), then the server's own index 1 continues as usual.
    accumulator = _fold(
        _chunk({"delta": {"tool_calls": [_tool(0, "a", "f", "{}")]}}),
        _chunk({"delta": {"tool_calls": [_tool(0, "b", "g", "{}")]}}),
        _chunk({"delta": {"tool_calls": [_tool(1, "c", "h", '{"k"')]}}),
        _chunk({"delta": {"tool_calls": [_tool(1, arguments=": 2}")]}}),
    )
    assert [(i, call_id, args) for i, call_id, _, _, args in _calls(accumulator)] == [
        (0, "a", "{}"),
        (1, "b", "{}"),
        (2, "c", '{"k": 2}'),
    ]


def test_arguments_sent_as_an_object_are_its_json_text() -> None:
    fragment = _tool(0, "call_a", "f")
    fragment["function"]["arguments"] = {"city": "Paris", "days": [1, 2]}
    accumulator = _fold(_chunk({"delta": {"tool_calls": [fragment]}}))
    arguments = accumulator.tool_calls()[0].function.arguments
    assert arguments is not None
    assert json.loads(arguments) == {"city": "Paris", "days": [1, 2]}


MADE_ID = re.compile(r"call_[0-9a-f]{24}")


@pytest.mark.parametrize("given", [None, ""])
def test_a_call_begun_without_an_id_keeps_one_made_id(given: str | None) -> None:
    opening = _tool(0, name="f", arguments='{"a"')
    if given is not None:
        opening["id"] = given
    accumulator = ChatStreamAccumulator()
    first = accumulator.add_with_tool_deltas(_chunk({"delta": {"tool_calls": [opening]}}))
    later = accumulator.add_with_tool_deltas(
        _chunk({"delta": {"tool_calls": [_tool(0, arguments=": 1}")]}})
    )
    [made] = [delta.id for delta in first]
    assert made is not None
    assert MADE_ID.fullmatch(made)
    assert [delta.id for delta in later] == [made]
    assert _calls(accumulator) == [(0, made, "function", "f", '{"a": 1}')]
    [call] = accumulator.completion().choices[0].message.tool_calls or []
    assert call.id == made


def test_each_id_less_call_gets_its_own_id_and_server_ids_stay() -> None:
    accumulator = _fold(
        _chunk({"delta": {"tool_calls": [_tool(0, name="f", arguments="{}")]}}),
        _chunk({"delta": {"tool_calls": [_tool(1, name="g", arguments="{}")]}}),
        _chunk({"delta": {"tool_calls": [_tool(2, id="call_s", name="h", arguments="{}")]}}),
    )
    ids = [call.id for call in accumulator.tool_calls()]
    assert ids[2] == "call_s"
    assert len(set(ids)) == 3
    assert all(MADE_ID.fullmatch(i or "") for i in ids[:2])
    assert ChatStreamAccumulator().completion().choices == []
