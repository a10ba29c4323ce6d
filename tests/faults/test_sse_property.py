"""Property: however the bytes of an event stream are split, callers see the same events.

The transport suite proves this for chat-completion chunks at the transport
(``tests/unit/transport/http/test_streams_property.py``); its strategies are reused here to
carry the property two steps further:

- through both framework classes: ``ChatModelsLab.stream``/``astream`` and
  ``ModelsLabLLM.stream_chat``/``astream_chat`` yield exactly the text pieces the chunks
  carry, once each, in order;
- to the Anthropic-style Messages protocol (``event:`` lines, ``ping`` events), at the
  transport and through ``ModelsLabLLM(api="messages")``,

with comment lines anywhere, ``data:`` spread over several lines, and every SSE line
ending (``\\n``, ``\\r\\n`` and a bare ``\\r``) mixed within one stream.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport.wire import MessageStreamEvent
from tests.faults.drivers import FAKE_KEY
from tests.support.clients import sync_client
from tests.support.mock_api import PiecesStream, ScriptedServer
from tests.support.replies import SSE_HEADERS
from tests.support.wire_requests import messages_request
from tests.unit.transport.http.test_streams_property import COMMENT, TEXT, split_stream

BASE_URL = "https://modelslab.com/api/v7/llm"  # never contacted: a mock transport answers
PROMPT = [ChatMessage(role=MessageRole.USER, content="hi")]
LINE_END = st.sampled_from(["\n", "\r\n", "\r"])
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Case = tuple[list[dict[str, Any]], list[bytes]]


def _reply(pieces: list[bytes]) -> httpx2.Response:
    return httpx2.Response(200, headers=SSE_HEADERS, stream=PiecesStream(list(pieces)))


def _models(pieces: list[bytes], **fields: Any) -> tuple[ChatModelsLab, ModelsLabLLM]:
    """Both classes, each answered (sync and async) by one stream of ``pieces``."""

    def transport() -> httpx2.MockTransport:
        return httpx2.MockTransport(ScriptedServer([lambda _: _reply(pieces)]))

    # Think-tag splitting is off: it may hold back (and so regroup) text that begins
    # with a prefix of "<think>", and this property is about SSE framing alone. The
    # splitting has its own every-offset tests (tests/unit/transport/chat/test_think_tags.py and
    # the reasoning tests of both frameworks).
    common = {
        "api_key": FAKE_KEY,
        "base_url": BASE_URL,
        "max_retries": 0,
        "split_think_tags": False,
        **fields,
    }
    langchain = ChatModelsLab(
        **common,
        http_client=httpx2.Client(transport=transport()),
        http_async_client=httpx2.AsyncClient(transport=transport()),
    )
    llama_index = ModelsLabLLM(
        **common,
        http_client=httpx2.Client(transport=transport()),
        async_http_client=httpx2.AsyncClient(transport=transport()),
    )
    return langchain, llama_index


def _chat_texts(chunks: list[dict[str, Any]]) -> list[str]:
    """The text pieces a caller should receive for these chat chunks."""
    texts = []
    for body in chunks:
        for choice in body["choices"]:
            content = choice["delta"].get("content")
            if content:
                texts.append(content)
    return texts


def _sync_texts(langchain: ChatModelsLab, llama_index: ModelsLabLLM) -> tuple[list[str], ...]:
    from_langchain = [str(m.content) for m in langchain.stream("hi") if m.content]
    from_llama_index = [r.delta for r in llama_index.stream_chat(PROMPT) if r.delta]
    return from_langchain, from_llama_index


async def _async_texts(
    langchain: ChatModelsLab, llama_index: ModelsLabLLM
) -> tuple[list[str], ...]:
    from_langchain = [str(m.content) async for m in langchain.astream("hi") if m.content]
    stream = await llama_index.astream_chat(PROMPT)
    from_llama_index = [r.delta async for r in stream if r.delta]
    return from_langchain, from_llama_index


# ------------------------------------------------- chat chunks, both classes


@FAST
@given(split_stream())
def test_both_classes_stream_the_same_text_however_the_bytes_are_split(case: Case) -> None:
    chunks, pieces = case
    expected = _chat_texts(chunks)
    langchain, llama_index = _models(pieces)
    assert _sync_texts(langchain, llama_index) == (expected, expected)


@FEWER
@given(split_stream())
def test_both_classes_astream_the_same_text_however_the_bytes_are_split(case: Case) -> None:
    chunks, pieces = case
    expected = _chat_texts(chunks)
    langchain, llama_index = _models(pieces)
    assert asyncio.run(_async_texts(langchain, llama_index)) == (expected, expected)


# ------------------------------------------------------------ Messages streams


@st.composite
def message_events(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A complete Messages stream: start, one text block in deltas, usage, stop."""
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": "claude-like",
                "usage": {"input_tokens": 5, "output_tokens": 1},
            },
        },
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    for text in draw(st.lists(TEXT, min_size=1, max_size=5)):
        if draw(st.booleans()):
            events.append({"type": "ping"})
        events.append(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            }
        )
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": draw(st.integers(1, 50))},
        },
        {"type": "message_stop"},
    ]
    return events


@st.composite
def messages_sse(draw: st.DrawFn, events: list[dict[str, Any]]) -> bytes:
    """The events as SSE, with every optional variation the format allows."""
    out: list[str] = []
    previous_end = "\n"

    def line(text: str) -> None:
        nonlocal previous_end
        end = draw(LINE_END)
        if not text and previous_end == "\r" and end == "\n":
            end = "\r\n"  # "\r" then "\n" would read as one CRLF, merging two line ends
        out.append(text + end)
        previous_end = end

    for event in events:
        for comment in draw(st.lists(COMMENT, max_size=2)):
            line(comment)
        if draw(st.booleans()):
            line(f"event: {event['type']}")
        payload = dict(event)
        if draw(st.booleans()) and payload["type"] != "ping":
            del payload["type"]  # the event: line (or nothing) must still type it
            if not out or not out[-1].startswith("event:"):
                line(f"event: {event['type']}")
        if draw(st.booleans()):
            data_lines = json.dumps(payload, ensure_ascii=False, indent=1).split("\n")
        else:
            data_lines = [json.dumps(payload, ensure_ascii=False)]
        for data in data_lines:
            line(f"data: {data}" if draw(st.booleans()) else f"data:{data}")
        line("")
    return "".join(out).encode()


@st.composite
def split_messages_stream(draw: st.DrawFn) -> Case:
    events = draw(message_events())
    body = draw(messages_sse(events))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=12)))
    bounds = [0, *cuts, len(body)]
    pieces = [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    assert b"".join(pieces) == body
    return events, pieces


@FAST
@given(split_messages_stream())
def test_messages_stream_decodes_the_same_however_it_is_split(case: Case) -> None:
    events, pieces = case
    expected = [
        MessageStreamEvent.model_validate(event).model_dump()
        for event in events
        if event["type"] != "ping"
    ]
    server = ScriptedServer([_reply(pieces)])
    with sync_client(server).stream_messages(messages_request()) as stream:
        assert [item.model_dump() for item in stream] == expected


@FEWER
@given(split_messages_stream())
def test_modelslab_llm_over_messages_streams_the_same_text(case: Case) -> None:
    events, pieces = case
    expected = [
        event["delta"]["text"]
        for event in events
        if event["type"] == "content_block_delta" and event["delta"]["text"]
    ]
    _, llama_index = _models(pieces, api="messages")
    responses = list(llama_index.stream_chat(PROMPT))
    assert [r.delta for r in responses if r.delta] == expected
    assert responses[-1].message.content == "".join(expected)
