"""Property: however the network splits an SSE chat stream, it decodes to the same chunks."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import httpx2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelslab_transport.wire import ChatCompletionChunk
from tests.support.clients import async_client, sync_client
from tests.support.mock_api import PiecesStream, ScriptedServer
from tests.support.replies import SSE_HEADERS
from tests.support.wire_requests import chat_request

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
NEWLINE = st.sampled_from(["\n", "\r\n"])
COMMENT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n", exclude_categories=("Cs",)),
    max_size=20,
).map(lambda text: ":" + text)


@st.composite
def chat_chunks(draw: st.DrawFn) -> list[dict[str, Any]]:
    chunks: list[dict[str, Any]] = []
    for position in range(draw(st.integers(1, 5))):
        delta: dict[str, Any] = {}
        if draw(st.booleans()):
            delta["content"] = draw(TEXT)
        if draw(st.booleans()):
            delta["reasoning_content"] = draw(TEXT)
        choice: dict[str, Any] = {"delta": delta}
        if draw(st.booleans()):
            choice["index"] = 0
        body: dict[str, Any] = {"choices": [choice]}
        if draw(st.booleans()):
            body.update(id=f"gen-{position}", model=draw(TEXT), created=1712345678)
        chunks.append(body)
    chunks[-1]["choices"][0]["finish_reason"] = "stop"
    if draw(st.booleans()):
        chunks.append({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
    return chunks


@st.composite
def sse_bytes(draw: st.DrawFn, chunks: list[dict[str, Any]]) -> bytes:
    def line(text: str) -> str:
        return text + draw(NEWLINE)

    out: list[str] = []
    payloads = [*(json.dumps(c, ensure_ascii=False) for c in chunks), "[DONE]"]
    for payload in payloads:
        for comment in draw(st.lists(COMMENT, max_size=2)):
            out.append(line(comment))
            if draw(st.booleans()):
                out.append(line(""))
        if payload != "[DONE]" and draw(st.booleans()):
            # The same JSON spread over several data: lines (joined with "\n").
            data_lines = json.dumps(json.loads(payload), ensure_ascii=False, indent=1).split("\n")
        else:
            data_lines = [payload]
        for data in data_lines:
            out.append(line(f"data: {data}"))
            if draw(st.integers(0, 5)) == 0:
                out.append(line(draw(COMMENT)))
        out.append(line(""))
    return "".join(out).encode()


@st.composite
def split_stream(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[bytes]]:
    chunks = draw(chat_chunks())
    body = draw(sse_bytes(chunks))
    if draw(st.booleans()):
        # As servers write it: a piece per event (each ends with a blank line), some
        # pieces holding two events.
        ends = [i + 1 for i in range(len(body)) if body.endswith(b"\n\n", 0, i + 1)]
        cuts = sorted(c for c in ends if c < len(body) and draw(st.integers(0, 3)) > 0)
    else:
        cuts = sorted(draw(st.sets(st.integers(1, max(1, len(body) - 1)), max_size=12)))
    bounds = [0, *cuts, len(body)]
    pieces = [body[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    assert b"".join(pieces) == body
    return chunks, pieces


@st.composite
def event_pieces(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[bytes]]:
    """As servers write a stream: a piece per event, with pings, some pieces holding two."""
    chunks = draw(chat_chunks())
    pieces: list[bytes] = []
    for payload in [*(json.dumps(c, ensure_ascii=False) for c in chunks), "[DONE]"]:
        if draw(st.integers(0, 4)) == 0:
            pieces.append((draw(COMMENT) + "\n").encode())
        piece = f"data: {payload}\n\n".encode()
        if pieces and draw(st.integers(0, 4)) == 0:
            pieces[-1] += piece
        else:
            pieces.append(piece)
    return chunks, pieces


def _expected(chunks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [ChatCompletionChunk.model_validate(c).model_dump() for c in chunks]


def _reply(pieces: list[bytes]) -> httpx2.Response:
    return httpx2.Response(200, headers=SSE_HEADERS, stream=PiecesStream(pieces))


@settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_stream())
def test_sync_stream_decodes_the_same_however_it_is_split(
    case: tuple[list[dict[str, Any]], list[bytes]],
) -> None:
    chunks, pieces = case
    server = ScriptedServer([_reply(pieces)])
    with sync_client(server).stream_chat_completions(chat_request()) as stream:
        decoded = [item.model_dump() for item in stream]
    assert decoded == _expected(chunks)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_stream())
def test_async_stream_decodes_the_same_however_it_is_split(
    case: tuple[list[dict[str, Any]], list[bytes]],
) -> None:
    chunks, pieces = case

    async def decode() -> list[dict[str, Any]]:
        server = ScriptedServer([_reply(pieces)])
        client = async_client(server)
        async with await client.stream_chat_completions(chat_request()) as stream:
            return [item.model_dump() async for item in stream]

    assert asyncio.run(decode()) == _expected(chunks)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_pieces())
def test_streams_written_a_piece_per_event_decode_the_same(
    case: tuple[list[dict[str, Any]], list[bytes]],
) -> None:
    chunks, pieces = case
    server = ScriptedServer([_reply(pieces)])
    with sync_client(server).stream_chat_completions(chat_request()) as stream:
        decoded = [item.model_dump() for item in stream]
    assert decoded == _expected(chunks)

    async def decode() -> list[dict[str, Any]]:
        client = async_client(ScriptedServer([_reply(pieces)]))
        async with await client.stream_chat_completions(chat_request()) as stream:
            return [item.model_dump() async for item in stream]

    assert asyncio.run(decode()) == _expected(chunks)
