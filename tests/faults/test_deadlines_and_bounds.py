"""Deadlines and memory bounds, end to end through both classes, sync and async.

* ``timeout`` is a deadline for a whole non-streamed call (a body, or a status line and
  headers, trickled one byte at a time fails at it, and so does a request the server reads
  a little at a time), and for a stream to begin (to get its headers); retries never
  take a call past it (a ``Retry-After: 60`` storm).
* ``stream_chunk_timeout`` is measured between complete server-sent events (``: ping``
  comments or single bytes do not keep a stream alive); ``stream_timeout`` bounds a whole
  stream.
* ``max_response_size`` caps a decompressed body (a gzip bomb), ``max_sse_event_size`` one
  event (many small events are fine).

Each scenario checks the typed error, that its message names the limit and the setting,
what reached the server, and that the key appears nowhere. No assertion is on timing.
"""

from __future__ import annotations

import functools
import gzip
import json
import struct
import subprocess
import sys
import zlib

import pytest

from modelslab_transport import APITimeoutError, InvalidResponseError, RateLimitError
from tests.faults.drivers import (
    ALL_DRIVERS,
    FAKE_KEY,
    STREAM_DRIVERS,
    Driver,
    Outcome,
    assert_typed_error,
)
from tests.faults.leaks import assert_no_key, exception_texts
from tests.support.fault_server import (
    Behaviour,
    FaultServer,
    json_reply,
    sse_reply,
    trickle_head,
)
from tests.support.loopback import LoopbackConnection, LoopbackRequest
from tests.support.replies import chunk, completion_body
from tests.support.slow_reader import SlowReader

PLAIN_DRIVERS = tuple(driver for driver in ALL_DRIVERS if not driver.streaming)
SYNC_DRIVERS = tuple(driver for driver in ALL_DRIVERS if not driver.is_async)


def _no_key(outcome: Outcome, logs: pytest.LogCaptureFixture) -> None:
    if outcome.error is not None:
        assert_no_key(exception_texts(outcome.error), "the error or its __cause__ chain")
    assert_no_key([logs.text], "DEBUG logs")


# ---------------------------------------------------------------------- behaviours


def trickle_body(pause: float = 0.2, length: int = 60) -> Behaviour:
    """A JSON reply whose body arrives one byte every ``pause`` s (12 s for all of it)."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        body = json.dumps(completion_body("x" * length)).encode()
        conn.sock.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(body)}\r\n\r\n".encode()
        )
        for byte in body:
            if not conn.wait(pause):
                return False
            try:
                conn.sock.sendall(bytes([byte]))
            except OSError:
                return False
        return True

    return behaviour


def trickle_stream(piece: bytes, pause: float, *, first: bytes = b"") -> Behaviour:
    """An SSE reply that sends ``first`` then ``piece`` every ``pause`` s until the client
    leaves (bounded by the server's limit)."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        conn.send_sse_headers()
        try:
            if first:
                conn.send_chunk(first)
            for _ in range(100):
                if not conn.wait(pause):
                    return False
                conn.send_chunk(piece)
        except OSError:
            return False
        return False

    return behaviour


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """A gzip body of ``size`` blanks (a multiple of 1 MiB), about 1,000 times smaller.

    One MiB is deflated once, after a full flush (so its compressed form does not depend
    on what came before), and that segment is repeated: building a 512 MiB bomb costs
    the compression of 1 MiB and a CRC pass, not of 512 MiB.
    """
    block = b" " * (1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: the gzip frame is ours
    packer.compress(block)
    packer.flush(zlib.Z_FULL_FLUSH)
    segment = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    end = packer.flush()
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(block, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + segment * (size >> 20) + end + struct.pack("<II", crc, size & 0xFFFFFFFF)


def bomb_reply(size: int, content_type: str = "application/json") -> Behaviour:
    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        body = gzip_bomb(size)
        conn.sock.sendall(
            f"HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-encoding: gzip\r\n"
            f"content-length: {len(body)}\r\n\r\n".encode()
        )
        try:
            conn.sock.sendall(body)
        except OSError:
            return False
        return True

    return behaviour


# ------------------------------------------------------------------------ deadlines


@pytest.mark.parametrize("driver", PLAIN_DRIVERS, ids=repr)
def test_a_trickled_body_fails_at_the_timeout(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    with FaultServer(trickle_body()) as server:
        outcome = driver.run(server.base_url, timeout=1.0)
        assert server.request_count == 1  # a passed deadline is not retried
    error = assert_typed_error(driver, outcome, APITimeoutError)
    assert "timeout=1" in str(error)
    assert "whole call" in str(error)
    assert outcome.pieces == []
    _no_key(outcome, debug_logs)


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
def test_a_trickled_status_line_and_headers_fail_at_the_timeout(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    # Sync calls too: every read gets a byte in time, so only a deadline ends the wait.
    with FaultServer(trickle_head(completion_body("late"))) as server:
        outcome = driver.run(server.base_url, timeout=0.5)
        assert server.request_count == 1  # a passed deadline is not retried
    error = assert_typed_error(driver, outcome, APITimeoutError)
    assert "timeout=0.5" in str(error)
    assert ("did not begin" if driver.streaming else "whole call") in str(error)
    assert outcome.pieces == []
    _no_key(outcome, debug_logs)


PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.mark.parametrize(
    "environment",
    [
        {"HTTPS_PROXY": "http://127.0.0.1:9"},  # for https URLs only; this one is http
        {"HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": "localhost,127.0.0.1"},
    ],
    ids=["a proxy for https only", "a proxy the host is exempt from"],
)
@pytest.mark.parametrize("driver", SYNC_DRIVERS, ids=repr)
def test_a_proxy_that_does_not_apply_keeps_the_sync_deadline(
    driver: Driver, environment: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with FaultServer(trickle_head(completion_body("late"))) as server:
        outcome = driver.run(server.base_url, timeout=0.5)
        assert server.request_count == 1  # sent directly, and not retried
    error = assert_typed_error(driver, outcome, APITimeoutError)
    assert "timeout=0.5" in str(error)
    assert outcome.pieces == []


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
def test_a_request_read_slowly_fails_at_the_timeout(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    # The server reads 4 KiB at a time: every send of the 16 MB request makes progress
    # in time, so only the deadline ends the upload (the server never gets all of it).
    prompt = "x" * 16_000_000
    with SlowReader() as server:
        outcome = driver.run(server.base_url, prompt=prompt, timeout=0.5)
    assert server.connections == 1  # a passed deadline is not retried
    # It reads at most 4 KiB every 2 ms (2 MB/s): about 1 MB by the deadline, where an
    # upload left to run on sends all but what the kernel still buffers (13+ MB).
    assert 0 < server.received < len(prompt) // 2
    error = assert_typed_error(driver, outcome, APITimeoutError)
    assert "timeout=0.5" in str(error)
    assert ("did not begin" if driver.streaming else "whole call") in str(error)
    _no_key(outcome, debug_logs)


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
def test_a_retry_storm_stops_at_the_timeout(
    driver: Driver, retry_delays: list[float], debug_logs: pytest.LogCaptureFixture
) -> None:
    storm = json_reply({"error": {"message": "slow down"}}, 429, {"retry-after": "60"})
    with FaultServer(storm) as server:
        outcome = driver.run(server.base_url, timeout=2.0, max_retries=5)
        assert server.request_count == 1  # waiting 60 s would pass the 2 s deadline
    error = assert_typed_error(driver, outcome, RateLimitError)
    assert "not retried" in str(error)
    assert "timeout=2" in str(error)
    assert retry_delays == []
    _no_key(outcome, debug_logs)


@pytest.mark.parametrize("driver", ALL_DRIVERS[:2] + STREAM_DRIVERS[2:], ids=repr)
def test_without_a_timeout_a_retry_storm_is_bounded_by_max_retries_and_max_wait(
    driver: Driver, retry_delays: list[float]
) -> None:
    storm = json_reply({"error": {"message": "slow down"}}, 429, {"retry-after": "60"})
    with FaultServer(storm) as server:
        outcome = driver.run(server.base_url, timeout=None, max_retries=2)
        assert server.request_count == 3
    assert_typed_error(driver, outcome, RateLimitError)
    assert retry_delays == [60.0, 60.0]  # at most max_retries x RetryPolicy.max_wait


@pytest.mark.parametrize("piece", [b": ping\n\n", b"d"], ids=["ping comments", "single bytes"])
@pytest.mark.parametrize("driver", STREAM_DRIVERS, ids=repr)
def test_the_chunk_timeout_counts_complete_events_only(
    driver: Driver, piece: bytes, debug_logs: pytest.LogCaptureFixture
) -> None:
    # stream_chunk_timeout 0.5 s; something arrives every 0.2 s.
    first = b"data: " + json.dumps(chunk("a")).encode() + b"\n\n"
    with FaultServer(trickle_stream(piece, 0.2, first=first)) as server:
        outcome = driver.run(server.base_url, stream_chunk_timeout=0.5)
        assert server.request_count == 1
    error = assert_typed_error(driver, outcome, APITimeoutError)
    assert "stream_chunk_timeout=0.5" in str(error)
    assert "no complete event" in str(error)
    assert outcome.pieces == ["a"]
    _no_key(outcome, debug_logs)


@pytest.mark.parametrize("driver", STREAM_DRIVERS, ids=repr)
def test_stream_timeout_bounds_a_whole_stream(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    event = b"data: " + json.dumps(chunk("a")).encode() + b"\n\n"  # every 0.2 s, endless
    with FaultServer(trickle_stream(event, 0.2)) as server:
        outcome = driver.run(server.base_url, stream_timeout=1.0)
        assert server.request_count == 1
    error = assert_typed_error(driver, outcome, APITimeoutError)
    assert "stream_timeout=1" in str(error)
    assert "did not end" in str(error)
    assert 1 <= len(outcome.pieces) < 20
    assert set(outcome.text) == {"a"}
    _no_key(outcome, debug_logs)


@pytest.mark.parametrize("driver", STREAM_DRIVERS, ids=repr)
def test_a_stream_within_its_stream_timeout_is_whole(driver: Driver) -> None:
    with FaultServer(
        sse_reply(
            chunk("a"), chunk("b"), chunk(finish_reason="stop"), "data: [DONE]\n\n", pause=0.05
        )
    ) as server:
        outcome = driver.run(server.base_url, stream_timeout=10.0)
    assert outcome.error is None
    assert outcome.text == "ab"


# ---------------------------------------------------------------------- memory bounds


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
def test_a_gzip_bomb_fails_at_max_response_size(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    # 16 MiB inflated from 16 KiB, against a 1 MiB cap (the subprocess test below uses
    # the default cap and a 512 MiB bomb). A stream request gets it as a plain reply.
    with FaultServer(bomb_reply(16 << 20)) as server:
        outcome = driver.run(server.base_url, max_response_size=1 << 20)
        assert server.request_count == 1
    error = assert_typed_error(driver, outcome, InvalidResponseError)
    assert "max_response_size=1048576" in str(error)
    _no_key(outcome, debug_logs)


@pytest.mark.parametrize("driver", STREAM_DRIVERS, ids=repr)
def test_one_huge_event_is_refused_at_max_sse_event_size(
    driver: Driver, debug_logs: pytest.LogCaptureFixture
) -> None:
    huge = b"data: " + json.dumps(chunk("x" * (256 << 10))).encode() + b"\n\n"
    with FaultServer(
        sse_reply(chunk("a"), huge, chunk(finish_reason="stop"), "data: [DONE]\n\n")
    ) as server:
        outcome = driver.run(server.base_url, max_sse_event_size=64 << 10)
        assert server.request_count == 1
    error = assert_typed_error(driver, outcome, InvalidResponseError)
    assert "max_sse_event_size=65536" in str(error)
    assert outcome.pieces == ["a"]
    _no_key(outcome, debug_logs)


@pytest.mark.parametrize("driver", STREAM_DRIVERS, ids=repr)
def test_many_small_events_are_fine_under_a_small_event_cap(driver: Driver) -> None:
    events = [chunk("y" * 100) for _ in range(2000)]  # 200 KB of text, 64 KiB cap per event
    with FaultServer(sse_reply(*events, chunk(finish_reason="stop"), "data: [DONE]\n\n")) as server:
        outcome = driver.run(
            server.base_url, max_sse_event_size=64 << 10, stream_chunk_timeout=10.0
        )
    assert outcome.error is None
    assert outcome.text == "y" * 200_000


def test_the_bomb_helper_inflates_to_its_size() -> None:
    assert len(gzip.decompress(gzip_bomb(2 << 20))) == 2 << 20


_BOMB_CHILD = """
import resource, sys
from modelslab_transport import ClientSettings, InvalidResponseError, ModelsLabClient
from modelslab_transport.wire import ChatCompletionRequest, ChatMessage
client = ModelsLabClient(ClientSettings(api_key=sys.argv[2], base_url=sys.argv[1], max_retries=0))
request = ChatCompletionRequest(
    model="m", messages=[ChatMessage(role="user", content="hi")], max_tokens=8
)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    client.chat(request)
except InvalidResponseError as exc:
    print(exc)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(grown // 1024)
"""


def test_a_512_mib_gzip_bomb_stays_far_below_its_size_in_memory() -> None:
    # Half a megabyte on the wire, 512 MiB inflated; the default cap is 64 MiB. Without
    # the cap the child would grow by over 1 GiB (the body, then its text).
    with FaultServer(bomb_reply(512 << 20)) as server:
        result = subprocess.run(
            [sys.executable, "-c", _BOMB_CHILD, server.base_url, FAKE_KEY],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    message, grown_mib = result.stdout.strip().rsplit("\n", 1)
    assert "max_response_size=67108864" in message
    assert_no_key([result.stdout, result.stderr], "the child's output")
    assert int(grown_mib) < 400
