"""Reading a reply body whole: within ``max_response_size`` counted decompressed, within the
call's deadline, and returned as a plain read response."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.errors import APITimeoutError, InvalidResponseError
from modelslab_transport.http.bodies import (
    BodyLimit,
    ajoin_body,
    aread_body,
    join_body,
    plain_response,
    read_body,
)
from modelslab_transport.limits.deadlines import Deadline

KEY = "sk-bodies-0123456789"
URL = f"https://h.example/v1/chat/completions?key={KEY}"


def _response(content: bytes, **headers: str) -> httpx2.Response:
    return httpx2.Response(
        200, headers=headers, content=content, request=httpx2.Request("POST", URL)
    )


def _streamed(pieces: list[bytes], **headers: str) -> httpx2.Response:
    return httpx2.Response(
        200,
        headers=headers,
        stream=httpx2.ByteStream(b"".join(pieces)),
        request=httpx2.Request("POST", URL),
    )


def test_the_limit_counts_every_piece_and_names_the_setting() -> None:
    settings = ClientSettings(api_key=KEY, max_response_size=5)
    limit = BodyLimit(settings, _response(b""), head=b"ab")
    limit.add(b"cde")
    assert limit.body() == b"abcde"
    with pytest.raises(InvalidResponseError) as caught:
        limit.add(b"f")
    assert str(caught.value) == (
        "the reply from https://h.example/v1/chat/completions?key=*** is larger than 5 bytes "
        "once decompressed (max_response_size=5; raise max_response_size=, or set it to None "
        "to read a reply of any size)"
    )
    assert limit.body() == b""  # what was kept is let go


def test_no_limit_reads_any_size() -> None:
    limit = BodyLimit(ClientSettings(max_response_size=None), _response(b""))
    limit.add(b"x" * 100_000)
    assert len(limit.body()) == 100_000


def test_plain_response_drops_the_encoding_headers() -> None:
    original = _response(b"", **{"content-encoding": "gzip", "x-request-id": "r1"})
    plain = plain_response(original, b"decoded")
    assert plain.content == b"decoded"
    assert plain.headers.get("content-encoding") is None
    assert plain.headers["x-request-id"] == "r1"
    assert plain.headers["content-length"] == "7"
    assert plain.request is original.request


def test_read_body_decompresses_and_counts_decompressed_bytes() -> None:
    packed = gzip.compress(b"a" * 1000)
    whole = read_body(
        _streamed([packed], **{"content-encoding": "gzip"}),
        ClientSettings(max_response_size=1000),
        Deadline(None, "timeout"),
    )
    assert whole.content == b"a" * 1000
    with pytest.raises(InvalidResponseError, match="larger than 999 bytes"):
        read_body(
            _streamed([packed], **{"content-encoding": "gzip"}),
            ClientSettings(max_response_size=999),
            Deadline(None, "timeout"),
        )


def test_a_passed_deadline_is_a_timeout_naming_it() -> None:
    expired = Deadline(1, "timeout")
    expired.at = 0.0
    with pytest.raises(APITimeoutError, match=r"no complete reply from .* within 1 s"):
        read_body(_streamed([b"{}"]), ClientSettings(), expired)

    async def run() -> None:
        await aread_body(_streamed([b"{}"]), ClientSettings(), expired)

    with pytest.raises(APITimeoutError, match="timeout=1"):
        asyncio.run(run())


def test_aread_body_reads_the_whole_body() -> None:
    async def run() -> bytes:
        response = await aread_body(
            _streamed([b'{"a": 1}']), ClientSettings(), Deadline(None, "timeout")
        )
        return response.content

    assert asyncio.run(run()) == b'{"a": 1}'


def test_join_body_joins_the_head_and_the_rest_within_the_limit() -> None:
    settings = ClientSettings(max_response_size=6)
    pieces: Iterator[bytes] = iter([b"cd", b"ef"])
    assert join_body(b"ab", pieces, settings, _response(b"")) == b"abcdef"
    with pytest.raises(InvalidResponseError):
        join_body(b"abc", iter([b"defg"]), settings, _response(b""))

    async def rest() -> AsyncIterator[bytes]:
        yield b"cd"
        yield b"efg"

    async def run() -> bytes:
        return await ajoin_body(b"ab", rest(), settings, _response(b""))

    with pytest.raises(InvalidResponseError, match="larger than 6 bytes"):
        asyncio.run(run())
