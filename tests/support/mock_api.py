"""A scripted ModelsLab API on ``httpx2.MockTransport`` (no socket is opened).

:class:`ScriptedServer` records every request and answers from a script of replies;
:class:`PiecesStream` and :class:`StallingAsyncStream` are response bodies a test can
watch being closed, or that stop talking.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2


class PiecesStream(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A response body delivered in the given pieces, then optionally a failure."""

    def __init__(self, pieces: list[bytes], fail_with: Exception | None = None) -> None:
        self.pieces = pieces
        self.fail_with = fail_with
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces
        if self.fail_with is not None:
            raise self.fail_with

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece
        if self.fail_with is not None:
            raise self.fail_with

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class StallingAsyncStream(httpx2.AsyncByteStream):
    """Sends ``pieces`` then waits (for ``release``) as a server that stops talking would."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces
        self.release: Any = None  # an asyncio.Event, created on the running loop
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import asyncio

        self.release = asyncio.Event()
        for piece in self.pieces:
            yield piece
        await asyncio.wait_for(self.release.wait(), timeout=10)

    async def aclose(self) -> None:
        self.closed = True


Reply = httpx2.Response | Exception | Callable[[httpx2.Request], httpx2.Response]


@dataclass
class ScriptedServer:
    """A MockTransport handler that answers from a script and records every request.

    Each reply is a response, an exception to raise (e.g. ``httpx2.ConnectError``) or a
    callable given the request. Once the script runs out the last reply repeats, or,
    with ``repeat_last=False``, one more request fails the test.
    """

    replies: list[Reply]
    requests: list[httpx2.Request] = field(default_factory=list)
    responses: list[httpx2.Response] = field(default_factory=list)
    repeat_last: bool = True

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        request.read()
        self.requests.append(request)
        if len(self.requests) > len(self.replies) and not self.repeat_last:
            raise AssertionError(f"unexpected request #{len(self.requests)}: {request.content!r}")
        reply = self.replies[min(len(self.requests), len(self.replies)) - 1]
        if isinstance(reply, Exception):
            raise reply
        response = reply(request) if callable(reply) else _fresh(reply)
        self.responses.append(response)
        return response

    @property
    def bodies(self) -> list[Any]:
        """The JSON bodies of the requests seen, in order (None for a request without one)."""
        return [json.loads(r.content) if r.content else None for r in self.requests]

    @property
    def last_body(self) -> Any:
        """The JSON body of the latest request that had one."""
        return [body for body in self.bodies if body is not None][-1]


def _fresh(response: httpx2.Response) -> httpx2.Response:
    """A new response equal to ``response`` (a response object can be sent only once)."""
    stream = response.stream
    if isinstance(stream, PiecesStream):
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=PiecesStream(list(stream.pieces), stream.fail_with),
        )
    if isinstance(stream, httpx2.ByteStream):
        return httpx2.Response(
            response.status_code, headers=response.headers, content=response.read()
        )
    return response  # a one-off stream (e.g. StallingAsyncStream): served as is
