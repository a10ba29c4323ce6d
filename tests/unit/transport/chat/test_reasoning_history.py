"""Reasoning sent back by each provider's rule; signed thinking over the Messages bridge."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelslab_transport.chat.accumulate import ChatStreamAccumulator
from modelslab_transport.chat.reasoning_history import apply_reasoning_rules
from modelslab_transport.config.model_profiles import (
    DEFAULT_PROFILE,
    lookup_model_profile,
    model_profile,
    profile_from_catalog,
    remember_catalog,
)
from modelslab_transport.decoding.events import (
    message_as_events,
)
from modelslab_transport.protocols.encode_messages import chat_request_to_messages
from modelslab_transport.protocols.messages import MessageEventTranslator, message_to_completion
from modelslab_transport.wire.catalog import ModelInfo
from modelslab_transport.wire.chat import (
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    SignedReasoning,
)
from modelslab_transport.wire.messages import Message, MessageStreamEvent

CALL = {"id": "call_1", "function": {"name": "multiply", "arguments": '{"a": 6, "b": 7}'}}


def _assistant(reasoning: str, **extra: Any) -> ChatMessage:
    return ChatMessage.model_validate(
        {"role": "assistant", "tool_calls": [CALL], "reasoning_content": reasoning, **extra}
    )


def _tool() -> ChatMessage:
    return ChatMessage(role="tool", content="42", tool_call_id="call_1")


def test_deepseek_rule_keeps_reasoning_only_after_the_latest_user_message() -> None:
    messages = [
        ChatMessage(role="user", content="q1"),
        _assistant("old"),
        _tool(),
        ChatMessage(role="assistant", content="a1", reasoning_content="old answer"),
        ChatMessage(role="user", content="q2"),
        _assistant("new"),
        _tool(),
    ]
    ruled = apply_reasoning_rules(messages)
    sent = [m.model_dump(exclude_none=True) for m in ruled]
    assert [m.get("reasoning_content") for m in sent] == [None, None, None, None, None, "new", None]
    assert messages[1].reasoning_content == "old"  # the input is not modified


def test_signed_reasoning_is_never_serialised_on_chat_completions() -> None:
    signed = [SignedReasoning(type="thinking", thinking="t", signature="sig")]
    message = _assistant("t", signed_reasoning=signed)
    request = ChatCompletionRequest(
        model="m", max_tokens=10, messages=[ChatMessage(role="user", content="q"), message]
    )
    payload = request.to_payload()
    assert "signed_reasoning" not in json.dumps(payload)
    assert payload["messages"][1]["reasoning_content"] == "t"


def test_signed_reasoning_needs_its_signature() -> None:
    with pytest.raises(ValueError, match="signature"):
        SignedReasoning(type="thinking", thinking="t")
    with pytest.raises(ValueError, match="data"):
        SignedReasoning(type="redacted_thinking")


def test_messages_bridge_opens_the_tool_use_turn_with_signed_thinking() -> None:
    signed = [
        SignedReasoning(type="thinking", thinking="because", signature="sig-1"),
        SignedReasoning(type="redacted_thinking", data="opaque"),
    ]
    request = ChatCompletionRequest(
        model="m",
        max_tokens=10,
        messages=[
            ChatMessage(role="user", content="q"),
            ChatMessage(role="assistant", content="Let me compute."),
            _assistant("because", signed_reasoning=signed),
            _tool(),
        ],
    )
    turns = chat_request_to_messages(request).to_payload()["messages"]
    assert turns[1]["content"] == [
        {"type": "thinking", "thinking": "because", "signature": "sig-1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "text", "text": "Let me compute."},
        {"type": "tool_use", "id": "call_1", "name": "multiply", "input": {"a": 6, "b": 7}},
    ]
    assert "reasoning_content" not in json.dumps(turns)


def test_messages_bridge_keeps_strict_on_tools() -> None:
    request = ChatCompletionRequest.model_validate(
        {
            "model": "m",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "q"}],
            "tools": [{"type": "function", "function": {"name": "f", "strict": True}}],
        }
    )
    assert chat_request_to_messages(request).to_payload()["tools"][0]["strict"] is True


THINKING_MESSAGE = Message.model_validate(
    {
        "id": "msg_1",
        "content": [
            {"type": "thinking", "thinking": "step one", "signature": "sig-A"},
            {"type": "redacted_thinking", "data": "opaque-B"},
            {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}},
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 4},
    }
)


def _blocks(blocks: Any) -> list[dict[str, Any]]:
    return [b.model_dump(exclude_none=True, exclude={"index"}) for b in blocks or []]


EXPECTED_BLOCKS = [
    {"type": "thinking", "thinking": "step one", "signature": "sig-A"},
    {"type": "redacted_thinking", "data": "opaque-B"},
]


def test_plain_messages_reply_keeps_signed_blocks() -> None:
    message = message_to_completion(THINKING_MESSAGE).choices[0].message
    assert message.reasoning_content == "step one"
    assert _blocks(message.reasoning_blocks) == EXPECTED_BLOCKS


@pytest.mark.parametrize("include_usage", [True, False])
def test_streamed_messages_reply_keeps_signature_deltas(include_usage: bool) -> None:
    translator = MessageEventTranslator(include_usage=include_usage)
    accumulator = ChatStreamAccumulator()
    events = message_as_events(THINKING_MESSAGE)
    assert any(e.delta is not None and e.delta.type == "signature_delta" for e in events)
    for event in events:
        chunk = translator.translate(MessageStreamEvent.model_validate(event.model_dump()))
        if chunk is not None:
            accumulator.add(chunk)
    completion = accumulator.completion()
    message = completion.choices[0].message
    assert message.reasoning_content == "step one"
    assert _blocks(message.reasoning_blocks) == EXPECTED_BLOCKS
    assert (completion.usage is not None) is include_usage


def test_tool_call_provider_fields_survive_a_stream_and_go_back() -> None:
    accumulator = ChatStreamAccumulator()
    extra = {"google": {"thought_signature": "sig=="}}
    for delta in (
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "c1",
                    "function": {"name": "f", "arguments": ""},
                    "extra_content": extra,
                }
            ]
        },
        {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]},
    ):
        accumulator.add(ChatCompletionChunk.model_validate({"choices": [{"delta": delta}]}))
    call = accumulator.tool_calls()[0]
    assert call.model_extra == {"extra_content": extra}
    message = ChatMessage.model_validate(
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "function": {"name": "f", "arguments": "{}"}, "extra_content": extra}
            ],
        }
    )
    assert message.model_dump(exclude_none=True)["tool_calls"][0]["extra_content"] == extra


def test_streamed_logprobs_are_concatenated() -> None:
    accumulator = ChatStreamAccumulator()
    for token in ("Hi", "!"):
        entry = {"token": token, "logprob": -0.5, "bytes": list(token.encode()), "top_logprobs": []}
        accumulator.add(
            ChatCompletionChunk.model_validate(
                {"choices": [{"delta": {"content": token}, "logprobs": {"content": [entry]}}]}
            )
        )
    logprobs = accumulator.completion().choices[0].logprobs
    assert [entry["token"] for entry in logprobs["content"]] == ["Hi", "!"]


# ------------------------------------------------------------ catalog limits


def test_catalog_limits_win_over_the_table() -> None:
    table = lookup_model_profile("deepseek-ai/DeepSeek-R1")
    assert table is not None
    remember_catalog(
        [
            ModelInfo.model_validate(
                {
                    "id": "deepseek-ai-DeepSeek-R1",
                    "context_length": 65536,
                    "top_provider": {"max_completion_tokens": 16384},
                    "architecture": {"input_modalities": ["text"]},
                    "supported_parameters": ["tools", "temperature"],
                }
            )
        ]
    )
    merged = model_profile("deepseek-ai/DeepSeek-R1")
    assert (merged.context_window, merged.max_output_tokens) == (65536, 16384)
    assert (merged.vision, merged.tool_calling) == (False, True)
    assert merged.json_mode == table.json_mode
    assert merged.sources[-1] == "https://docs.modelslab.com/llm-api/list-models"


def test_catalog_without_limits_changes_nothing() -> None:
    entry = ModelInfo(id="Qwen/Qwen2.5-VL-72B-Instruct-together", owned_by="Qwen")
    table = lookup_model_profile(entry.id)
    assert profile_from_catalog(entry, table) is table
    remember_catalog([entry])
    assert model_profile(entry.id) == table


def test_catalog_gives_a_profile_to_a_model_the_table_lacks() -> None:
    remember_catalog([{"id": "brand-new-model", "context_window": 200000}])
    profile = model_profile("brand-new-model")
    assert profile.context_window == 200000
    assert profile.vision == DEFAULT_PROFILE.vision


@pytest.mark.parametrize(
    ("model", "window", "vision"),
    [
        ("Qwen/Qwen3-32B", 32768, False),
        ("qwen-qwen3-235b-a22b", 32768, False),
        ("deepseek-ai/DeepSeek-V3.2", 131072, False),
        ("deepseek-ai-DeepSeek-V3.2-Exp", 131072, False),
        ("gpt-4o", 128000, True),
        ("openai-gpt-4o-mini", 128000, True),
        ("Qwen/Qwen2.5-VL-7B-Instruct", 32768, True),
        ("gpt-5-mini", 400000, True),
        ("claude-3.5-sonnet", 200000, True),
    ],
)
def test_catalog_families_no_longer_fall_back(model: str, window: int, vision: bool) -> None:
    profile = model_profile(model)
    assert (profile.context_window, profile.vision) == (window, vision)
    assert profile.sources


def test_unlisted_relatives_do_not_match_a_family() -> None:
    for model in ("Qwen/Qwen3-235B-A22B-Thinking-2507", "qwen-qwen3.5-122b-a10b", "Qwen3-VL-8B"):
        assert lookup_model_profile(model) is None
