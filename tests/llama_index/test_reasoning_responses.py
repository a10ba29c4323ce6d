"""ModelsLabLLM: inline think tags, logprobs, Messages stream usage, opaque tool-call fields."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ThinkingBlock

from llama_index_modelslab.conversions import (
    messages_to_wire,
)
from tests.support.clients import scripted_llm
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse_response,
    tool_call,
    usage_chunk,
)

THINK_TEXT = "<think>\nSix sevens: 42.\n</think>\n\nThe answer is 42, not <think>."
REASONING = "Six sevens: 42."
ANSWER = "The answer is 42, not <think>."
USER = [ChatMessage(role=MessageRole.USER, content="q")]


def _thinking(message: ChatMessage) -> list[ThinkingBlock]:
    return [b for b in message.blocks if isinstance(b, ThinkingBlock)]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_chat_splits_leading_think_tags(use_async: bool) -> None:
    llm, _ = scripted_llm(json_response(completion_body(THINK_TEXT)))
    response = await llm.achat(USER) if use_async else llm.chat(USER)
    assert response.message.content == ANSWER
    assert _thinking(response.message)[0].content == REASONING


@pytest.mark.parametrize("cut", range(len(THINK_TEXT) + 1))
def test_stream_splits_think_tags_cut_at_every_offset(cut: int) -> None:
    reply = sse_response(
        chunk(THINK_TEXT[:cut]), chunk(THINK_TEXT[cut:]), chunk(finish_reason="stop")
    )
    llm, _ = scripted_llm(reply)
    responses = list(llm.stream_chat(USER))
    last = responses[-1]
    assert last.message.content == ANSWER
    assert _thinking(last.message)[0].content == REASONING
    assert "".join(r.delta or "" for r in responses) == ANSWER


async def test_astream_splits_think_tags() -> None:
    reply = sse_response(
        chunk(THINK_TEXT[:3]),
        chunk(THINK_TEXT[3:20]),
        chunk(THINK_TEXT[20:]),
        chunk(finish_reason="stop"),
    )
    llm, _ = scripted_llm(reply)
    responses = [r async for r in await llm.astream_chat(USER)]
    assert responses[-1].message.content == ANSWER


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_split_think_tags_false_keeps_the_text(stream: bool) -> None:
    reply = (
        sse_response(chunk(THINK_TEXT), chunk(finish_reason="stop"))
        if stream
        else json_response(completion_body(THINK_TEXT))
    )
    llm, _ = scripted_llm(reply, split_think_tags=False)
    response = list(llm.stream_chat(USER))[-1] if stream else llm.chat(USER)
    assert response.message.content == THINK_TEXT
    assert not _thinking(response.message)


def _logprob(token: str, *alternatives: str) -> dict[str, Any]:
    top = [{"token": t, "logprob": -1.0, "bytes": list(t.encode())} for t in (token, *alternatives)]
    return {"token": token, "logprob": -1.0, "bytes": list(token.encode()), "top_logprobs": top}


def test_chat_fills_logprobs() -> None:
    body = completion_body("Hi")
    body["choices"][0]["logprobs"] = {"content": [_logprob("Hi", "Hello")]}
    llm, server = scripted_llm(
        httpx2.Response(200, json=body), additional_kwargs={"logprobs": True, "top_logprobs": 2}
    )
    response = llm.chat(USER)
    assert server.bodies[0]["top_logprobs"] == 2
    assert response.logprobs is not None
    assert [[p.token for p in candidates] for candidates in response.logprobs] == [["Hi", "Hello"]]
    assert response.logprobs[0][0].bytes == list(b"Hi")


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_stream_fills_logprobs(use_async: bool) -> None:
    chunks = []
    for token in ("Hi", "!"):
        body = chunk(token)
        body["choices"][0]["logprobs"] = {"content": [_logprob(token)]}
        chunks.append(body)
    llm, _ = scripted_llm(sse_response(*chunks, chunk(finish_reason="stop"), usage_chunk()))
    if use_async:
        responses = [r async for r in await llm.astream_chat(USER)]
    else:
        responses = list(llm.stream_chat(USER))
    assert responses[-1].logprobs is not None
    assert [c[0].token for c in responses[-1].logprobs] == ["Hi", "!"]


def _events(*events: dict[str, Any]) -> httpx2.Response:
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return httpx2.Response(200, text=text, headers={"content-type": "text/event-stream"})


@pytest.mark.parametrize("stream_usage", [True, False])
def test_messages_stream_usage_is_respected(stream_usage: bool) -> None:
    reply = _events(
        {
            "type": "message_start",
            "message": {"id": "m", "content": [], "usage": {"input_tokens": 5}},
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 2},
        },
        {"type": "message_stop"},
    )
    llm, _ = scripted_llm(reply, api="messages", stream_usage=stream_usage)
    last = list(llm.stream_chat(USER))[-1]
    assert last.message.content == "Hi"
    assert ("prompt_tokens" in last.additional_kwargs) is stream_usage


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_tool_call_provider_fields_go_back_unchanged(stream: bool) -> None:
    extra = {"google": {"thought_signature": "gsig"}}
    call = {**tool_call("f", '{"x": 1}'), "extra_content": extra}
    if stream:
        reply = sse_response(
            chunk(tool_calls=[{**call, "index": 0}]), chunk(finish_reason="tool_calls")
        )
        response = list(scripted_llm(reply)[0].stream_chat(USER))[-1]
    else:
        response = scripted_llm(json_response(completion_body(None, tool_calls=[call])))[0].chat(
            USER
        )
    wire = messages_to_wire([*USER, response.message])[1]
    assert wire.model_dump(exclude_none=True)["tool_calls"][0]["extra_content"] == extra


def test_reasoning_goes_back_only_after_the_latest_user_message() -> None:
    def assistant(text: str) -> ChatMessage:
        return ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[ThinkingBlock(content=text)],
            additional_kwargs={"tool_calls": [tool_call("f", "{}")]},
        )

    tool = ChatMessage(
        role=MessageRole.TOOL, content="1", additional_kwargs={"tool_call_id": "call_1"}
    )
    wire = messages_to_wire([*USER, assistant("old"), tool, *USER, assistant("new"), tool])
    assert [m.reasoning_content for m in wire] == [None, None, None, None, "new", None]


def test_messages_strict_tools_reach_the_request() -> None:
    from llama_index.core.tools import FunctionTool

    def lookup(city: str) -> str:
        """Weather in a city."""
        return city

    reply = httpx2.Response(
        200,
        json={
            "id": "m",
            "content": [
                {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"city": "Oslo"}}
            ],
            "stop_reason": "tool_use",
        },
    )
    llm, server = scripted_llm(reply, api="messages")
    response = llm.chat_with_tools([FunctionTool.from_defaults(lookup)], user_msg="q", strict=True)
    assert server.bodies[0]["tools"][0]["strict"] is True
    assert llm.get_tool_calls_from_response(response)[0].tool_kwargs == {"city": "Oslo"}


async def test_catalog_limits_reach_metadata_after_list_models() -> None:
    entry = {"id": "Qwen/Qwen3-32B", "object": "model", "context_length": 40960}
    llm, _ = scripted_llm(httpx2.Response(200, json={"data": [entry]}), model="qwen-qwen3-32b")
    assert llm.metadata.context_window == 32768  # the Qwen3 family's native window
    await llm.alist_models()
    assert llm.metadata.context_window == 40960
