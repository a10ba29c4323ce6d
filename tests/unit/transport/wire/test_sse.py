"""The SSE framing (modelslab_transport.wire.sse) against httpx2's EventSource, and its edge cases.

Property: for any body made of SSE lines, comments, odd fields, blank lines, CR / LF / CRLF
line ends, a byte-order mark, invalid UTF-8 and a final partial event, split anywhere into
pieces, :class:`SSEDecoder` yields the events httpx2's ``EventSource`` yields for the same
bytes, and refuses an oversized event when ``EventSource`` does (see ``_comparable_sizes``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelslab_transport.errors import InvalidResponseError
from modelslab_transport.wire.sse import ServerSentEvent, SSEDecoder

Event = tuple[str, str, str, int | None]

_NAMES = st.sampled_from(["data", "event", "id", "retry", "other", "dat", "", "data "])
_VALUES = st.one_of(
    st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_characters="\r\n", exclude_categories=("Cs",)
        ),
        max_size=8,
    ),
    st.sampled_from(["12", " 7", "x1", "+3", "1_0", "\0", "a\0b", "[DONE]", '{"a": 1}']),
)
_ENDS = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def _line(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return b""  # a blank line: ends an event
    if kind == 1:
        return b":" + draw(_VALUES).encode()  # a comment
    if kind == 2:
        return draw(st.binary(max_size=6)).replace(b"\r", b"").replace(b"\n", b"")  # raw bytes
    name = draw(_NAMES)
    if kind == 3:
        return name.encode()  # a field without a colon
    space = draw(st.sampled_from(["", " ", "  "]))
    return f"{name}:{space}{draw(_VALUES)}".encode()


@st.composite
def sse_bodies(draw: st.DrawFn) -> list[bytes]:
    """A body (lines, each with any line end; perhaps a BOM, perhaps an unended tail) in pieces."""
    body = b"\xef\xbb\xbf" if draw(st.booleans()) else b""
    for line in draw(st.lists(_line(), max_size=25)):
        body += line + draw(_ENDS)
    if draw(st.booleans()):
        body += draw(_line())  # the body ends inside a line
    cuts = sorted(draw(st.sets(st.integers(0, len(body)), max_size=10)))
    bounds = [0, *cuts, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(bounds)]


class _Pieces(httpx2.SyncByteStream):
    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from (piece for piece in self._pieces if piece)


def _httpx2_events(pieces: list[bytes], limit: int | None) -> list[Event] | str:
    response = httpx2.Response(
        200,
        headers={"content-type": "text/event-stream"},
        stream=_Pieces(pieces),
        request=httpx2.Request("GET", "http://127.0.0.1/"),
    )
    response.encoding = "utf-8-sig"  # as the streams read SSE (UTF-8, a leading BOM dropped)
    try:
        return [
            (e.event, e.data, e.id, e.retry)
            for e in httpx2.EventSource(response, max_event_size=limit)
        ]
    except httpx2.SSEError:
        return "too large"


def _our_events(pieces: list[bytes], limit: int | None) -> list[Event] | str:
    decoder = SSEDecoder(limit)
    events: list[ServerSentEvent] = []
    try:
        for piece in pieces:
            events += decoder.feed(piece)
        events += decoder.end()
    except InvalidResponseError:
        return "too large"
    return [(e.event, e.data, e.id, e.retry) for e in events]


@settings(max_examples=400, deadline=None)
@given(pieces=sse_bodies())
def test_events_are_those_httpx2_eventsource_reads(pieces: list[bytes]) -> None:
    assert _our_events(pieces, None) == _httpx2_events(pieces, None)


def _comparable_sizes(pieces: list[bytes]) -> bool:
    """Bodies whose sizes both count alike.

    Sizes are bytes as received. httpx2 counts the decoded text's UTF-8 instead: invalid
    bytes become U+FFFD (three bytes), and a character split between pieces counts once
    whole. And a piece that ends with CR ends its line at once here, while httpx2 holds
    the line (a comment too) as unfinished, and counts it, until the next piece shows
    whether LF follows.
    """
    return all(_valid_utf8(piece) and not piece.endswith(b"\r") for piece in pieces)


@settings(max_examples=300, deadline=None)
@given(
    pieces=sse_bodies().filter(_comparable_sizes),
    limit=st.integers(0, 40),
)
def test_an_event_is_refused_past_the_size_limit_as_httpx2_refuses_it(
    pieces: list[bytes], limit: int
) -> None:
    assert _our_events(pieces, limit) == _httpx2_events(pieces, limit)


def _valid_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _events(*pieces: bytes, limit: int | None = None) -> list[ServerSentEvent]:
    decoder = SSEDecoder(limit)
    events = [event for piece in pieces for event in decoder.feed(piece)]
    return events + decoder.end()


def test_a_chat_chunk_event_in_one_piece() -> None:
    assert _events(b'data: {"a": 1}\n\n') == [ServerSentEvent(data='{"a": 1}')]


def test_multi_line_data_is_joined_with_lf_and_named_events_keep_their_name() -> None:
    events = _events(b"event: message_delta\r\ndata: {\r\ndata:  1}\r\n\r\n")
    assert events == [ServerSentEvent(event="message_delta", data="{\n 1}")]


def test_comments_and_pings_carry_no_event() -> None:
    assert _events(b": ping\n\n:keep-alive\n\n") == []


def test_a_crlf_split_between_pieces_is_one_line_end() -> None:
    assert _events(b"data: a\r", b"\n\r", b"\ndata: b\r\n\r\n") == [
        ServerSentEvent(data="a"),
        ServerSentEvent(data="b"),
    ]


def test_a_bom_split_between_pieces_is_dropped() -> None:
    assert _events(b"\xef", b"\xbb", b"\xbfdata: x\n\n") == [ServerSentEvent(data="x")]


def test_a_character_split_between_pieces_is_whole() -> None:
    body = "data: é😀\n\n".encode()
    assert _events(body[:8], body[8:11], body[11:]) == [ServerSentEvent(data="é😀")]


def test_the_id_carries_over_and_retry_does_not() -> None:
    events = _events(b"id: 7\nretry: 50\ndata: a\n\ndata: b\n\n")
    assert events == [
        ServerSentEvent(data="a", id="7", retry=50),
        ServerSentEvent(data="b", id="7"),
    ]


def test_a_partial_event_at_the_end_is_dropped() -> None:
    assert _events(b"data: a\n\ndata: b\n") == [ServerSentEvent(data="a")]


def test_a_final_cr_ends_the_last_event_as_in_httpx2() -> None:
    assert _events(b"data: a\r") == [ServerSentEvent(data="a")]


def test_an_event_growing_past_the_limit_is_refused_before_its_line_ends() -> None:
    decoder = SSEDecoder(16)
    assert decoder.feed(b": comments do not count toward the limit\n") == []
    with pytest.raises(InvalidResponseError, match="max_sse_event_size=16"):
        decoder.feed(b"data: " + b"x" * 11)  # no line end yet


def test_the_limit_is_per_event() -> None:
    pieces = [b"data: " + b"x" * 10 + b"\n\n"] * 3
    assert len(_events(*pieces, limit=16)) == 3


def _usual_first(pieces: list[bytes], limit: int | None) -> list[tuple[str, str]] | str:
    """The events read as the streams read them: :meth:`SSEDecoder.usual` first."""
    decoder = SSEDecoder(limit)
    events: list[tuple[str, str]] = []
    try:
        for piece in pieces:
            data = decoder.usual(piece)
            if data is not None:
                events.append(("message", data.decode("utf-8", "replace")))
            else:
                events += [(e.event, e.data) for e in decoder.feed(piece)]
        events += [(e.event, e.data) for e in decoder.end()]
    except InvalidResponseError:
        return "too large"
    return events


def _by_event(pieces: list[bytes]) -> list[bytes]:
    """The same body cut after each blank line, as servers write events."""
    body = b"".join(pieces)
    out, start = [], 0
    for end in range(1, len(body) + 1):
        if body.endswith(b"\n\n", 0, end):
            out.append(body[start:end])
            start = end
    return [*out, body[start:]] if start < len(body) else out


@settings(max_examples=300, deadline=None)
@given(pieces=sse_bodies(), limit=st.one_of(st.none(), st.integers(0, 40)), by_event=st.booleans())
def test_the_usual_event_read_from_its_piece_is_the_event_feed_reads(
    pieces: list[bytes], limit: int | None, by_event: bool
) -> None:
    if by_event:
        pieces = _by_event(pieces)
    expected = _our_events(pieces, limit)
    if not isinstance(expected, str):
        expected = [(event, data) for event, data, _, _ in expected]
    assert _usual_first(pieces, limit) == expected


def test_usual_gives_the_data_of_one_whole_data_event() -> None:
    decoder = SSEDecoder()
    assert decoder.usual(b'data: {"a": 1}\n\n') is None  # the body's first piece: a BOM?
    assert decoder.feed(b": ping\n\n") == []
    assert decoder.usual(b'data: {"a": 1}\n\n') == b'{"a": 1}'
    assert decoder.usual(b"data:x\n\n") == b"x"
    assert decoder.usual(b"data:\n\n") == b""
    for other in (
        b"data: a\r\n\r\n",  # CR: line ends are normalised by feed
        b"data: a\n\ndata: b\n\n",  # two events
        b"event: x\ndata: a\n\n",  # a named event
        b": ping\ndata: a\n\n",  # a comment first
        b"data: a\n",  # unfinished
        b"id: 1\n\n",
    ):
        assert decoder.usual(other) is None, other
    assert decoder.feed(b"data: a") == []
    assert decoder.usual(b'data: {"a": 1}\n\n') is None  # part of a line is held
    assert decoder.feed(b"\n\n") == [ServerSentEvent(data="a")]


def test_a_piece_usual_read_may_still_be_fed() -> None:
    decoder = SSEDecoder(16)
    decoder.feed(b":\n")
    piece = b"data: " + b"x" * 10 + b"\n\n"
    assert decoder.usual(piece) == b"x" * 10
    assert decoder.feed(piece) == [ServerSentEvent(data="x" * 10)]
    with pytest.raises(InvalidResponseError, match="max_sse_event_size=16"):
        decoder.usual(b"data: " + b"x" * 11 + b"\n\n")
