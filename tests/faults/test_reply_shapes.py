"""What real OpenAI- and Anthropic-compatible servers send, end to end.

Every kind of reply is served by a loopback server and read through the public classes:
``ChatModelsLab`` (invoke, ainvoke, stream, astream) and ``ModelsLabLLM`` (chat, achat,
stream_chat, astream_chat), on both protocols where the kind applies. The expected
values are the correct results (the calls, their ids and arguments; the whole text),
not what the code happened to produce.
"""

from __future__ import annotations

import asyncio
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole

from llama_index_modelslab import ModelsLabLLM
from tests.faults.drivers import bounded, make_model
from tests.support.fault_server import Behaviour, FaultServer, json_reply, sse_reply

PROMPT = [ChatMessage(role=MessageRole.USER, content="hi")]

Call = tuple[str | None, str, dict[str, Any]]
"""A tool call as the caller sees it: (id, name, arguments)."""


@dataclass
class Answer:
    """What one framework call gave its caller."""

    text: str = ""
    calls: list[Call] = field(default_factory=list)
    chunk_indexes: list[int] = field(default_factory=list)
    """LangChain streams: the distinct ``tool_call_chunks`` indexes, in order of first use."""


def _lc(message: AIMessage) -> Answer:
    assert not message.invalid_tool_calls, message.invalid_tool_calls
    text = message.content if isinstance(message.content, str) else message.text
    return Answer(text, [(c["id"], c["name"], c["args"]) for c in message.tool_calls])


def _lc_stream(chunks: list[AIMessageChunk]) -> Answer:
    answer = _lc(reduce(operator.add, chunks))
    for chunk in chunks:
        for fragment in chunk.tool_call_chunks:
            index = fragment["index"]
            if index is not None and index not in answer.chunk_indexes:
                answer.chunk_indexes.append(index)
    return answer


def _li(llm: ModelsLabLLM, response: ChatResponse) -> Answer:
    selections = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    return Answer(
        response.message.content or "",
        [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections],
    )


async def _collect(stream: Any) -> list[Any]:
    return [item async for item in stream]


def _last(items: list[ChatResponse]) -> ChatResponse:
    assert items, "the stream gave nothing"
    return items[-1]


@dataclass(frozen=True)
class Shape:
    """One public call shape of one framework class."""

    name: str
    streaming: bool
    call: Callable[[Any], Answer]

    def __repr__(self) -> str:
        return self.name


def _run_async(llm: Any, work: Callable[[], Any]) -> Any:
    async def run() -> Any:
        try:
            return await work()
        finally:
            await llm.aclose()

    return asyncio.run(run())


def _li_astream(llm: ModelsLabLLM) -> Answer:
    async def work() -> list[ChatResponse]:
        return await _collect(await llm.astream_chat(PROMPT))

    return _li(llm, _last(_run_async(llm, work)))


SHAPES = (
    Shape("ChatModelsLab.invoke", False, lambda llm: _lc(llm.invoke("hi"))),
    Shape(
        "ChatModelsLab.ainvoke", False, lambda llm: _lc(_run_async(llm, lambda: llm.ainvoke("hi")))
    ),
    Shape("ChatModelsLab.stream", True, lambda llm: _lc_stream(list(llm.stream("hi")))),
    Shape(
        "ChatModelsLab.astream",
        True,
        lambda llm: _lc_stream(_run_async(llm, lambda: _collect(llm.astream("hi")))),
    ),
    Shape("ModelsLabLLM.chat", False, lambda llm: _li(llm, llm.chat(PROMPT))),
    Shape(
        "ModelsLabLLM.achat",
        False,
        lambda llm: _li(llm, _run_async(llm, lambda: llm.achat(PROMPT))),
    ),
    Shape(
        "ModelsLabLLM.stream_chat", True, lambda llm: _li(llm, _last(list(llm.stream_chat(PROMPT))))
    ),
    Shape("ModelsLabLLM.astream_chat", True, _li_astream),
)
STREAM_SHAPES = tuple(shape for shape in SHAPES if shape.streaming)
each_shape = pytest.mark.parametrize("shape", SHAPES, ids=repr)
each_stream_shape = pytest.mark.parametrize("shape", STREAM_SHAPES, ids=repr)


def ask(shape: Shape, behaviour: Behaviour, **fields: Any) -> Answer:
    """Serve ``behaviour`` on a loopback server and make the call through ``shape``."""
    framework = "langchain" if shape.name.startswith("ChatModelsLab") else "llama_index"
    with FaultServer(behaviour) as server:
        llm = make_model(framework, server.base_url, max_retries=0, **fields)
        try:
            return bounded(shape.name, lambda: shape.call(llm))
        finally:
            llm.close()


# ------------------------------------------------------------------- payloads


def cc_chunk(delta: dict[str, Any], finish: str | None = None, **top: Any) -> dict[str, Any]:
    """A chat.completion.chunk with one choice."""
    body: dict[str, Any] = {
        "id": "gen-r",
        "object": "chat.completion.chunk",
        "created": 1712345678,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    body.update(top)
    return body


def cc_completion(message: dict[str, Any], finish: str = "stop", **top: Any) -> dict[str, Any]:
    """A whole chat completion with one choice."""
    body: dict[str, Any] = {
        "id": "gen-r",
        "object": "chat.completion",
        "created": 1712345678,
        "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    body.update(top)
    return body


def tool_call(
    call_id: str | None, name: str | None, arguments: Any, index: int | None = 0
) -> dict[str, Any]:
    """One tool call (or fragment of one) as chat completions sends it."""
    function: dict[str, Any] = {}
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments
    call: dict[str, Any] = {"function": function}
    if index is not None:
        call["index"] = index
    if call_id is not None:
        call.update(id=call_id, type="function")
    return call


def event(name: str, **data: Any) -> str:
    """One named Messages SSE event."""
    return f"event: {name}\ndata: {json.dumps({'type': name, **data})}\n\n"


def message_body(content: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    """A whole Messages reply."""
    body: dict[str, Any] = {
        "id": "msg_r",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": content,
        "stop_reason": "tool_use" if any(b["type"] == "tool_use" for b in content) else "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }
    body.update(top)
    return body


def message_start(**usage: Any) -> str:
    """The opening event of a Messages stream."""
    start = {
        "id": "msg_r",
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "usage": usage or {"input_tokens": 3, "output_tokens": 0},
    }
    return event("message_start", message=start)


def message_end(stop_reason: str = "end_turn", **usage: Any) -> list[str]:
    """The closing events of a Messages stream."""
    return [
        event(
            "message_delta",
            delta={"stop_reason": stop_reason},
            usage=usage or {"output_tokens": 2},
        ),
        event("message_stop"),
    ]


WEATHER: Call = ("call_a", "get_weather", {"city": "Paris"})
TIME: Call = ("call_b", "get_time", {"tz": "CET"})


# ------------------------------------------------ parallel calls sharing an index


def _parallel_same_index_stream() -> Behaviour:
    return sse_reply(
        cc_chunk({"role": "assistant", "content": None}),
        cc_chunk({"tool_calls": [tool_call("call_a", "get_weather", '{"city": "Paris"}')]}),
        cc_chunk({"tool_calls": [tool_call("call_b", "get_time", '{"tz": "CET"}')]}),
        cc_chunk({}, "tool_calls"),
        "data: [DONE]\n\n",
    )


def _parallel_same_index_message() -> Behaviour:
    return json_reply(
        cc_completion(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    tool_call("call_a", "get_weather", '{"city": "Paris"}'),
                    tool_call("call_b", "get_time", '{"tz": "CET"}'),
                ],
            },
            "tool_calls",
        )
    )


@each_shape
def test_parallel_calls_sent_whole_with_one_index_stay_separate(shape: Shape) -> None:
    behaviour = _parallel_same_index_stream() if shape.streaming else _parallel_same_index_message()
    answer = ask(shape, behaviour)
    assert answer.calls == [WEATHER, TIME]
    if shape.name.startswith("ChatModelsLab") and shape.streaming:
        assert answer.chunk_indexes == [0, 1]


@each_stream_shape
def test_parallel_calls_with_one_index_in_a_plain_reply_to_a_stream_request(shape: Shape) -> None:
    assert ask(shape, _parallel_same_index_message()).calls == [WEATHER, TIME]


@each_stream_shape
def test_fragments_without_id_continue_the_call_at_their_index(shape: Shape) -> None:
    behaviour = sse_reply(
        cc_chunk({"tool_calls": [tool_call("call_a", "get_weather", '{"city": "Paris"}')]}),
        cc_chunk({"tool_calls": [tool_call("call_b", "get_time", "")]}),
        cc_chunk({"tool_calls": [tool_call(None, None, '{"tz": ')]}),
        cc_chunk({"tool_calls": [tool_call(None, None, '"CET"}')]}),
        cc_chunk({}, "tool_calls"),
        "data: [DONE]\n\n",
    )
    assert ask(shape, behaviour).calls == [WEATHER, TIME]


@each_stream_shape
def test_ordinary_parallel_calls_with_their_own_indexes_are_unchanged(shape: Shape) -> None:
    behaviour = sse_reply(
        cc_chunk({"tool_calls": [tool_call("call_a", "get_weather", '{"city": ', index=0)]}),
        cc_chunk({"tool_calls": [tool_call("call_b", "get_time", '{"tz": ', index=1)]}),
        cc_chunk({"tool_calls": [tool_call(None, None, '"Paris"}', index=0)]}),
        cc_chunk({"tool_calls": [tool_call(None, None, '"CET"}', index=1)]}),
        cc_chunk({}, "tool_calls"),
        "data: [DONE]\n\n",
    )
    assert ask(shape, behaviour).calls == [WEATHER, TIME]


# ------------------------------------------------ values in another JSON type


@each_shape
def test_arguments_given_as_an_object(shape: Shape) -> None:
    if shape.streaming:
        behaviour = sse_reply(
            cc_chunk({"tool_calls": [tool_call("call_a", "get_weather", {"city": "Paris"})]}),
            cc_chunk({"tool_calls": [tool_call("call_b", "get_time", {"tz": "CET"}, index=1)]}),
            cc_chunk({}, "tool_calls"),
            "data: [DONE]\n\n",
        )
    else:
        message = {
            "role": "assistant",
            "tool_calls": [
                tool_call("call_a", "get_weather", {"city": "Paris"}),
                tool_call("call_b", "get_time", {"tz": "CET"}, index=1),
            ],
        }
        behaviour = json_reply(cc_completion(message, "tool_calls"))
    assert ask(shape, behaviour).calls == [WEATHER, TIME]


NULL_USAGE = {"prompt_tokens": None, "completion_tokens": None, "total_tokens": None}


@each_shape
def test_null_usage_counts_do_not_lose_the_answer(shape: Shape) -> None:
    if shape.streaming:
        behaviour = sse_reply(
            cc_chunk({"role": "assistant", "content": "Hello "}),
            cc_chunk({"content": "there"}, "stop"),
            cc_chunk({}, None, choices=[], usage=NULL_USAGE),
            "data: [DONE]\n\n",
        )
    else:
        behaviour = json_reply(
            cc_completion({"role": "assistant", "content": "Hello there"}, usage=NULL_USAGE)
        )
    assert ask(shape, behaviour).text == "Hello there"


@each_shape
def test_metadata_of_another_type_does_not_lose_the_answer(shape: Shape) -> None:
    odd = {"created": "2024-04-05T10:00:00Z", "system_fingerprint": {"v": 1}, "usage": "n/a"}
    if shape.streaming:
        first = cc_chunk({"role": None, "content": "Hello "}, **odd)
        first["choices"][0]["index"] = None
        behaviour = sse_reply(
            first,
            cc_chunk({"content": "there"}, "eos", **odd),
            "data: [DONE]\n\n",
        )
    else:
        body = cc_completion({"role": None, "content": "Hello there"}, "eos", **odd)
        body["choices"][0]["index"] = None
        behaviour = json_reply(body)
    assert ask(shape, behaviour).text == "Hello there"


@each_shape
def test_messages_null_usage_and_role_do_not_lose_the_answer(shape: Shape) -> None:
    if shape.streaming:
        behaviour = sse_reply(
            message_start(input_tokens=None, output_tokens=None),
            event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
            event("content_block_delta", index=0, delta={"type": "text_delta", "text": "Hello"}),
            event("content_block_stop", index=0),
            *message_end(output_tokens=None),
        )
    else:
        behaviour = json_reply(
            message_body(
                [{"type": "text", "text": "Hello"}],
                role=None,
                usage={"input_tokens": None, "output_tokens": None},
            )
        )
    assert ask(shape, behaviour, api="messages").text == "Hello"


# ------------------------------------------ Messages tool_use input given whole


@each_shape
def test_messages_tool_use_input_given_whole_in_the_block_start(shape: Shape) -> None:
    if shape.streaming:
        behaviour = sse_reply(
            message_start(),
            event(
                "content_block_start",
                index=0,
                content_block={
                    "type": "tool_use",
                    "id": "call_a",
                    "name": "get_weather",
                    "input": {"city": "Paris"},
                },
            ),
            event("content_block_stop", index=0),
            event(
                "content_block_start",
                index=1,
                content_block={"type": "tool_use", "id": "call_b", "name": "get_time", "input": {}},
            ),
            event(
                "content_block_delta",
                index=1,
                delta={"type": "input_json_delta", "partial_json": '{"tz": '},
            ),
            event(
                "content_block_delta",
                index=1,
                delta={"type": "input_json_delta", "partial_json": '"CET"}'},
            ),
            event("content_block_stop", index=1),
            *message_end("tool_use"),
        )
    else:
        behaviour = json_reply(
            message_body(
                [
                    {
                        "type": "tool_use",
                        "id": "call_a",
                        "name": "get_weather",
                        "input": {"city": "Paris"},
                    },
                    {
                        "type": "tool_use",
                        "id": "call_b",
                        "name": "get_time",
                        "input": '{"tz": "CET"}',
                    },
                ]
            )
        )
    assert ask(shape, behaviour, api="messages").calls == [WEATHER, TIME]


@each_stream_shape
def test_messages_input_in_the_start_and_in_deltas_reads_the_deltas(shape: Shape) -> None:
    behaviour = sse_reply(
        message_start(),
        event(
            "content_block_start",
            index=0,
            content_block={
                "type": "tool_use",
                "id": "call_a",
                "name": "get_weather",
                "input": {"city": "?"},
            },
        ),
        event(
            "content_block_delta",
            index=0,
            delta={"type": "input_json_delta", "partial_json": '{"city": "Paris"}'},
        ),
        event("content_block_stop", index=0),
        *message_end("tool_use"),
    )
    assert ask(shape, behaviour, api="messages").calls == [WEATHER]


# ------------------------------------------------------------------ surrogates
# A server that streams text by UTF-16 code units can split an emoji's surrogate pair
# ("\ud83d\ude00") between two events; JSON escapes carry each half alone.

EMOJI = "\U0001f600"
HIGH, LOW = "\ud83d", "\ude00"


def _encodes(answer: Answer) -> Answer:
    answer.text.encode()  # raises UnicodeEncodeError on a lone surrogate
    return answer


@each_stream_shape
def test_an_emoji_split_between_two_chunks_is_one_character(shape: Shape) -> None:
    behaviour = sse_reply(
        cc_chunk({"role": "assistant", "content": "smile " + HIGH}),
        cc_chunk({"content": LOW + " ok"}),
        cc_chunk({}, "stop"),
        "data: [DONE]\n\n",
    )
    assert _encodes(ask(shape, behaviour)).text == f"smile {EMOJI} ok"


@each_stream_shape
def test_an_emoji_split_between_two_text_deltas_is_one_character(shape: Shape) -> None:
    def delta(text: str) -> str:
        return event("content_block_delta", index=0, delta={"type": "text_delta", "text": text})

    behaviour = sse_reply(
        message_start(),
        event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        delta("smile " + HIGH),
        delta(LOW + " ok"),
        event("content_block_stop", index=0),
        *message_end(),
    )
    assert _encodes(ask(shape, behaviour, api="messages")).text == f"smile {EMOJI} ok"


@each_stream_shape
def test_an_emoji_split_between_two_argument_fragments_is_one_character(shape: Shape) -> None:
    behaviour = sse_reply(
        cc_chunk({"role": "assistant", "content": None}),
        cc_chunk({"tool_calls": [tool_call("call_a", "react", '{"face": "' + HIGH)]}),
        cc_chunk({"tool_calls": [tool_call(None, None, LOW + '"}')]}),
        cc_chunk({}, "tool_calls"),
        "data: [DONE]\n\n",
    )
    assert ask(shape, behaviour).calls == [("call_a", "react", {"face": EMOJI})]


@each_stream_shape
def test_half_a_pair_that_is_never_completed_is_a_replacement_character(shape: Shape) -> None:
    behaviour = sse_reply(
        cc_chunk({"role": "assistant", "content": "a" + HIGH}),
        cc_chunk({"content": "b"}),
        cc_chunk({"content": "c" + HIGH}),
        cc_chunk({}, "stop"),
        "data: [DONE]\n\n",
    )
    assert _encodes(ask(shape, behaviour)).text == "a\ufffdbc\ufffd"


@each_shape
def test_lone_surrogates_in_a_reply_are_replacement_characters(shape: Shape) -> None:
    message = {"role": "assistant", "content": f"a{LOW}b{HIGH}c {HIGH}{LOW}"}
    assert _encodes(ask(shape, json_reply(cc_completion(message)))).text == (
        f"a\ufffdb\ufffdc {EMOJI}"
    )
