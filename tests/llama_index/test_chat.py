"""The eight chat/complete methods, request bodies, message conversion and callbacks
(mock transport only)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ChatResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent

from modelslab_transport import DEFAULT_MAX_TOKENS, IncompleteStreamError
from modelslab_transport.wire.chat import ChatCompletion, ChatCompletionChunk
from tests.support.clients import scripted_llm
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse_response,
    text_stream,
    usage_chunk,
)

USER = [ChatMessage(role="user", content="hi")]


# ------------------------------------------------------------------ request bodies


def test_request_body_defaults() -> None:
    llm, server = scripted_llm(json_response(completion_body()))
    llm.chat(USER)
    assert server.bodies[0] == {
        "model": "test-model",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": DEFAULT_MAX_TOKENS,
    }


def test_request_body_layers_fields_additional_kwargs_and_call_kwargs() -> None:
    llm, server = scripted_llm(
        json_response(completion_body()),
        temperature=0.2,
        max_tokens=64,
        additional_kwargs={"top_p": 0.5, "seed": 1, "max_tokens": 32},
    )
    llm.chat(USER, seed=7, stop=["\n"])
    body = server.bodies[0]
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.5
    assert body["max_tokens"] == 32  # additional_kwargs beat the field
    assert body["seed"] == 7  # call kwargs beat additional_kwargs
    assert body["stop"] == ["\n"]


def test_stream_asks_for_usage_and_plain_call_does_not() -> None:
    llm, server = scripted_llm(
        text_stream("a"),
        json_response(completion_body()),
        additional_kwargs={"stream_options": {"include_usage": True}},
    )
    list(llm.stream_chat(USER))
    llm.chat(USER)
    assert server.bodies[0]["stream"] is True
    assert server.bodies[0]["stream_options"] == {"include_usage": True}
    assert "stream" not in server.bodies[1]
    assert "stream_options" not in server.bodies[1]


def test_stream_usage_can_be_turned_off() -> None:
    llm, server = scripted_llm(text_stream("a", usage=False), stream_usage=False)
    list(llm.stream_chat(USER))
    assert "stream_options" not in server.bodies[0]


def test_messages_are_converted_and_not_mutated() -> None:
    history = [
        ChatMessage(role="system", content="be brief"),
        ChatMessage(role="user", blocks=[TextBlock(text="line 1"), TextBlock(text="line 2")]),
        ChatMessage(
            role="assistant",
            blocks=[
                ThinkingBlock(content="hidden"),
                ToolCallBlock(tool_call_id="c1", tool_name="add", tool_kwargs={"a": 1}),
            ],
        ),
        ChatMessage(role="tool", content="2", additional_kwargs={"tool_call_id": "c1"}),
        ChatMessage(role="user", content="thanks", additional_kwargs={"name": "ann"}),
    ]
    before = [m.model_dump() for m in history]
    llm, server = scripted_llm(json_response(completion_body()))
    llm.chat(history)
    assert server.bodies[0]["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "line 1\nline 2"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 1}'},
                }
            ],
        },
        {"role": "tool", "content": "2", "tool_call_id": "c1"},
        {"role": "user", "content": "thanks", "name": "ann"},
    ]
    assert [m.model_dump() for m in history] == before


def test_legacy_tool_calls_in_additional_kwargs_are_sent() -> None:
    legacy = {"id": "c9", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    message = ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [legacy]})
    answer = ChatMessage(role="tool", content="ok", additional_kwargs={"tool_call_id": "c9"})
    llm, server = scripted_llm(json_response(completion_body()))
    llm.chat([*USER, message, answer])
    assert server.bodies[0]["messages"][1] == {"role": "assistant", "tool_calls": [legacy]}


def test_images_become_image_parts() -> None:
    message = ChatMessage(
        role="user",
        blocks=[
            TextBlock(text="what is this?"),
            ImageBlock(url="https://example.com/cat.png", detail="low"),
            ImageBlock(image=b"\x89PNG\r\n\x1a\nfake", image_mimetype="image/png"),
        ],
    )
    llm, server = scripted_llm(json_response(completion_body()))
    llm.chat([message])
    parts = server.bodies[0]["messages"][0]["content"]
    assert parts[0] == {"type": "text", "text": "what is this?"}
    assert parts[1] == {
        "type": "image_url",
        "image_url": {"url": "https://example.com/cat.png", "detail": "low"},
    }
    assert parts[2]["image_url"]["url"].startswith("data:image/png;base64,")


def test_unsupported_blocks_and_orphan_tool_results_are_refused() -> None:
    llm, server = scripted_llm()
    with pytest.raises(ValueError, match="audio"):
        llm.chat([ChatMessage(role="user", blocks=[AudioBlock(audio=b"RIFF", format="wav")])])
    with pytest.raises(ValueError, match="tool_call_id"):
        llm.chat([ChatMessage(role="tool", content="42")])
    assert server.requests == []


# ------------------------------------------------------------------------ replies


def test_chat_reply_text_usage_and_raw() -> None:
    llm, _ = scripted_llm(json_response(completion_body("Hello there", usage=(12, 4))))
    response = llm.chat(USER)
    assert response.message.role == MessageRole.ASSISTANT
    assert response.message.content == "Hello there"
    assert response.additional_kwargs == {
        "prompt_tokens": 12,
        "completion_tokens": 4,
        "total_tokens": 16,
    }
    assert isinstance(response.raw, ChatCompletion)
    assert response.raw.choices[0].finish_reason == "stop"
    assert "tool_calls" not in response.message.additional_kwargs


def test_reasoning_becomes_a_thinking_block() -> None:
    llm, _ = scripted_llm(json_response(completion_body("42", reasoning="6*7")))
    blocks = llm.chat(USER).message.blocks
    assert isinstance(blocks[0], ThinkingBlock)
    assert blocks[0].content == "6*7"
    assert isinstance(blocks[1], TextBlock)
    assert blocks[1].text == "42"


def test_complete_sends_one_user_message() -> None:
    llm, server = scripted_llm(
        json_response(completion_body("done")),
        json_response(completion_body()),
        json_response(completion_body()),
    )
    response = llm.complete("do it")
    assert response.text == "done"
    assert response.additional_kwargs["total_tokens"] == 12
    assert server.bodies[0]["messages"] == [{"role": "user", "content": "do it"}]
    llm.completion_to_prompt = lambda prompt: f"<<{prompt}>>"
    llm.complete("x")
    llm.complete("y", formatted=True)
    assert server.bodies[1]["messages"][0]["content"] == "<<x>>"
    assert server.bodies[2]["messages"][0]["content"] == "y"


def test_stream_chat_accumulates_and_ends_with_usage() -> None:
    llm, _ = scripted_llm(text_stream("Hel", "lo", " world"))
    responses = list(llm.stream_chat(USER))
    assert "".join(r.delta or "" for r in responses) == "Hello world"
    assert responses[-1].message.content == "Hello world"
    assert responses[-1].additional_kwargs == {
        "prompt_tokens": 9,
        "completion_tokens": 4,
        "total_tokens": 13,
    }
    assert all(isinstance(r.raw, ChatCompletionChunk) for r in responses)
    assert responses[-1].raw.choices == []  # the usage-only chunk is not dropped


def test_stream_complete_yields_text_so_far() -> None:
    llm, _ = scripted_llm(text_stream("a", "b"))
    responses = list(llm.stream_complete("go"))
    assert [r.text for r in responses if r.delta] == ["a", "ab"]
    assert responses[-1].additional_kwargs["completion_tokens"] == 4


def test_stream_cut_short_raises() -> None:
    cut = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream"},
        text=f"data: {json.dumps(chunk('partial'))}\n\n",
    )
    llm, _ = scripted_llm(cut)
    with pytest.raises(IncompleteStreamError):
        list(llm.stream_chat(USER))


async def test_async_methods() -> None:
    llm, server = scripted_llm(
        json_response(completion_body("a1")),
        json_response(completion_body("a2")),
        text_stream("s", "1"),
        text_stream("s", "2"),
    )
    assert (await llm.achat(USER)).message.content == "a1"
    assert (await llm.acomplete("x")).text == "a2"
    chat_stream = [r async for r in await llm.astream_chat(USER)]
    assert chat_stream[-1].message.content == "s1"
    assert chat_stream[-1].additional_kwargs["total_tokens"] == 13
    completion_stream = [r async for r in await llm.astream_complete("x")]
    assert completion_stream[-1].text == "s2"
    assert [b.get("stream") for b in server.bodies] == [None, None, True, True]


def test_plain_json_reply_to_a_stream_request() -> None:
    llm, _ = scripted_llm(json_response(completion_body("whole")))
    responses = list(llm.stream_chat(USER))
    assert responses[-1].message.content == "whole"


# ----------------------------------------------------- callbacks, events, limiter


class _Recorder(BaseEventHandler):
    events: list[str] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "Recorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event.class_name())


@pytest.fixture
def recorder() -> Any:
    handler = _Recorder(events=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    yield handler
    root.event_handlers.remove(handler)


def test_instrumentation_events_are_emitted(recorder: _Recorder) -> None:
    llm, _ = scripted_llm(
        json_response(completion_body()), text_stream("a"), json_response(completion_body())
    )
    llm.chat(USER)
    list(llm.stream_chat(USER))
    llm.complete("x")
    assert recorder.events.count("LLMChatStartEvent") == 2
    assert recorder.events.count("LLMChatEndEvent") == 2
    assert "LLMChatInProgressEvent" in recorder.events
    assert recorder.events.count("LLMCompletionStartEvent") == 1
    assert recorder.events.count("LLMCompletionEndEvent") == 1


def test_token_counting_handler_reads_usage() -> None:
    counter = TokenCountingHandler()
    llm, _ = scripted_llm(json_response(completion_body(usage=(21, 5))), text_stream("a"))
    llm.callback_manager = CallbackManager([counter])
    llm.chat(USER)
    list(llm.stream_chat(USER))
    assert [e.prompt_token_count for e in counter.llm_token_counts] == [21, 9]
    assert [e.completion_token_count for e in counter.llm_token_counts] == [5, 4]


class _CountingLimiter:
    def __init__(self) -> None:
        self.sync = 0
        self.async_ = 0

    def acquire(self) -> None:
        self.sync += 1

    async def async_acquire(self) -> None:
        self.async_ += 1


async def test_rate_limiter_is_acquired_per_call() -> None:
    limiter = _CountingLimiter()
    llm, _ = scripted_llm(
        json_response(completion_body()),
        json_response(completion_body()),
        text_stream("a"),
        rate_limiter=limiter,
    )
    llm.chat(USER)
    llm.complete("x")
    await llm.astream_chat(USER)
    assert limiter.sync == 2
    assert limiter.async_ == 1


def test_response_is_a_chat_response_with_string() -> None:
    llm, _ = scripted_llm(json_response(completion_body("x")))
    response = llm.chat(USER)
    assert isinstance(response, ChatResponse)
    assert str(response) == "assistant: x"


def test_usage_chunk_alone_is_enough() -> None:
    llm, _ = scripted_llm(
        sse_response(chunk("only"), chunk(finish_reason="stop"), usage_chunk(1, 1))
    )
    last = list(llm.stream_chat(USER))[-1]
    assert last.message.content == "only"
    assert last.additional_kwargs["total_tokens"] == 2


# ------------------------------------------------------------- Messages protocol


def _message_reply(text: str) -> httpx2.Response:
    return httpx2.Response(
        200,
        json={
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "test-model",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 7, "output_tokens": 2},
        },
    )


def test_messages_protocol_request_and_reply() -> None:
    llm, server = scripted_llm(_message_reply("Bonjour"), api="messages", temperature=0.5)
    response = llm.chat([ChatMessage(role="system", content="Be brief."), *USER])
    assert response.message.content == "Bonjour"
    assert response.additional_kwargs == {
        "prompt_tokens": 7,
        "completion_tokens": 2,
        "total_tokens": 9,
    }
    request = server.requests[0]
    assert request.url.path == "/v1/messages"
    assert "authorization" not in request.headers
    assert request.headers["x-api-key"]
    body = server.bodies[0]
    assert body["system"] == "Be brief."
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS
    assert body["temperature"] == 0.5


def test_messages_protocol_refuses_chat_only_parameters() -> None:
    llm, server = scripted_llm(api="messages")
    with pytest.raises(ValueError, match="response_format"):
        llm.chat(USER, response_format={"type": "json_object"})
    assert server.requests == []
