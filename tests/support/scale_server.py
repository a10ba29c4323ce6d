"""An HTTP/1.1 server for thousands of concurrent calls, in a process of its own.

:class:`ScaleServer` starts this file as a child process: an asyncio server on
127.0.0.1 (one coroutine per connection, not one thread) that answers every request with
one chat completion whose text is the last message's content, so each reply can be
matched to its own call. In its own process it does not compete with the client under
test for the test process's GIL. It counts connections (in total and open at once) and
requests; :class:`ScaleServer` reads those counts from the child as its ``with`` block
ends (over the child's stdin and stdout, not over HTTP, so reading them adds no
connection).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["ScaleServer", "ScaleServerCounts"]


def _reply(text: str) -> bytes:
    body = json.dumps(
        {
            "id": "chatcmpl-scale",
            "object": "chat.completion",
            "created": 0,
            "model": "scale-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
        + f"content-length: {len(body)}\r\n\r\n".encode()
    )
    return head + body


@dataclass
class ScaleServerCounts:
    """What the server saw, read as its ``with`` block ended."""

    connections: int = 0
    """Client connections accepted in all."""
    most_open_connections: int = 0
    """The most client connections open at one moment."""
    requests: int = 0
    """Requests answered."""


class _Counter:
    """The child's counts and its connection handler."""

    def __init__(self) -> None:
        self.counts = ScaleServerCounts()
        self.open_connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts = self.counts
        counts.connections += 1
        self.open_connections += 1
        counts.most_open_connections = max(counts.most_open_connections, self.open_connections)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                request = json.loads(await reader.readexactly(length))
                counts.requests += 1
                writer.write(_reply(request["messages"][-1]["content"]))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open_connections -= 1
            writer.close()


async def _child_main() -> None:
    counter = _Counter()
    server = await asyncio.start_server(counter.serve, "127.0.0.1", 0, backlog=4096)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"http://{host}:{port}", flush=True)
    # The parent asks for the counts by closing stdin: reading it ends the child.
    await asyncio.to_thread(sys.stdin.read)
    print(json.dumps(vars(counter.counts)), flush=True)


class ScaleServer:
    """The parent's handle on the child server: its ``base_url`` and, afterwards, its counts."""

    def __init__(self) -> None:
        self.base_url = ""
        self.counts = ScaleServerCounts()

    @property
    def connections(self) -> int:
        """Client connections accepted in all (read when the ``with`` block ended)."""
        return self.counts.connections

    @property
    def most_open_connections(self) -> int:
        """The most connections open at once (read when the ``with`` block ended)."""
        return self.counts.most_open_connections

    @property
    def requests(self) -> int:
        """Requests answered (read when the ``with`` block ended)."""
        return self.counts.requests

    @contextmanager
    def running(self) -> Iterator[ScaleServer]:
        """Start the child, yield with ``base_url`` set, then stop it and read its counts."""
        child = subprocess.Popen(
            [sys.executable, str(Path(__file__))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        stdin: IO[str] | None = child.stdin
        stdout: IO[str] | None = child.stdout
        assert stdin is not None
        assert stdout is not None
        ready = threading.Event()
        lines: list[str] = []

        def read_address() -> None:
            lines.append(stdout.readline().strip())
            ready.set()

        threading.Thread(target=read_address, daemon=True).start()
        try:
            assert ready.wait(30), "the scale server did not start within 30 s"
            self.base_url = lines[0]
            assert self.base_url.startswith("http://127.0.0.1:"), self.base_url
            yield self
            stdin.close()
            self.counts = ScaleServerCounts(**json.loads(stdout.readline()))
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            stdout.close()


if __name__ == "__main__":
    asyncio.run(_child_main())
