"""Server-sent events read from a reply's bytes (the framing of every ModelsLab stream).

The framing is the ``text/event-stream`` format of the WHATWG HTML standard, read as
httpx2's :class:`httpx2.EventSource` reads it:

- lines end at LF, CR or CRLF (a CRLF split between two reads is one line end);
- a line that starts with ``:`` is a comment (pings, keep-alives) and is skipped;
- ``field: value`` lines (one space after the colon dropped; a line without a colon is a
  field with an empty value) set ``data`` (several ``data`` lines are joined with LF),
  ``event``, ``id`` (ignored if it holds NUL; it carries over to later events) and
  ``retry`` (ignored unless an integer); other fields are ignored;
- a blank line ends an event, which is dispatched if any field was set (an event with
  ``event:`` but no ``data:`` has empty data); a body that ends with a CR ends its last
  event too; a partial event at the end of the body is dropped;
- text is UTF-8, any invalid byte read as U+FFFD; a byte-order mark that begins the
  body (even split between reads) is dropped.

An event's size is the bytes of its field lines (comments and line ends not counted),
checked as they arrive, including a line still unfinished, so that no event is held
whole beyond the limit.
"""

from __future__ import annotations

from typing import NamedTuple

from modelslab_transport.errors import InvalidResponseError

__all__ = ["SSEDecoder", "ServerSentEvent"]

_BOM = b"\xef\xbb\xbf"


class ServerSentEvent(NamedTuple):
    """One dispatched event."""

    event: str = "message"
    """The event's name (``"message"`` unless an ``event:`` line named it)."""
    data: str = ""
    """Its ``data:`` lines, joined with LF."""
    id: str = ""
    """The last event id the stream set (it carries over to later events)."""
    retry: int | None = None
    """The reconnection time this event set, in milliseconds."""


_new_event = tuple.__new__  # ServerSentEvent's own __new__ is a Python function


def _too_large(limit: int) -> InvalidResponseError:
    return InvalidResponseError(
        f"a server-sent event exceeded {limit} bytes (max_sse_event_size={limit}; raise "
        "max_sse_event_size=, or set it to None to accept events of any size)"
    )


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class SSEDecoder:
    """Turns the pieces of a body, as they arrive, into :class:`ServerSentEvent` objects.

    Args:
        max_event_size: The largest event accepted, in bytes (None: no limit).

    :meth:`feed` raises :class:`~modelslab_transport.errors.InvalidResponseError` for a
    larger event.
    """

    __slots__ = (
        "_after_cr",
        "_clean",
        "_data",
        "_event",
        "_head",
        "_id",
        "_limit",
        "_parts",
        "_pending",
        "_retry",
        "_size",
        "_waiting",
    )

    def __init__(self, max_event_size: int | None = None) -> None:
        self._limit = max_event_size
        self._head: bytes | None = b""  # the body's first bytes while a BOM may be arriving
        self._parts: list[bytes] = []  # the unfinished line
        self._waiting = 0  # its length
        self._after_cr = False  # the last piece ended with CR (an LF next ends no line)
        self._data: list[bytes] = []
        self._event = ""
        self._id = ""
        self._retry: int | None = None
        self._pending = False  # a field of the current event was set
        self._size = 0  # bytes of the current event's field lines
        self._clean = False  # between events, nothing held: the next may take the fast path

    def usual(self, piece: bytes) -> bytes | None:
        """The data of ``piece`` if it is the usual event whole, else None.

        The usual event is one ``data:`` line and the blank line after it (LF only),
        arriving in one piece while nothing is held; its data is what :meth:`feed` would
        dispatch for it, as UTF-8 bytes (the piece may still be passed to :meth:`feed`,
        which then dispatches it). For any other piece, returns None having read
        nothing: pass that piece to :meth:`feed`. Raises as :meth:`feed` for an event
        larger than the limit.
        """
        if (
            self._clean
            and piece.startswith(b"data:")
            and piece.find(b"\n") == len(piece) - 2
            and piece[-1] == 10  # b"\n": the piece ends with the blank line
            and b"\r" not in piece
        ):
            limit = self._limit
            if limit is not None and self._size + len(piece) - 2 > limit:
                raise _too_large(limit)
            self._size = 0
            return piece[6:-2] if piece[5] == 32 else piece[5:-2]  # 32: b" "
        return None

    def feed(self, piece: bytes) -> list[ServerSentEvent]:
        """The events that ``piece`` (the next bytes of the body) completes."""
        data = self.usual(piece)
        if data is not None:
            event = ("message", data.decode("utf-8", "replace"), self._id, None)
            return [_new_event(ServerSentEvent, event)]
        events = self._feed(piece)
        self._clean = self._head is None and not (self._parts or self._pending or self._after_cr)
        return events

    def _feed(self, piece: bytes) -> list[ServerSentEvent]:
        if self._head is not None:
            piece = self._head + piece
            if len(piece) < len(_BOM) and _BOM.startswith(piece):
                self._head = piece
                return []
            self._head = None
            piece = piece.removeprefix(_BOM)
        if self._after_cr and piece:
            self._after_cr = False
            if piece[:1] == b"\n":
                piece = piece[1:]
        if b"\r" in piece:
            self._after_cr = piece[-1:] == b"\r"
            piece = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if b"\n" not in piece:
            if piece:
                self._parts.append(piece)
                self._waiting += len(piece)
                self._check(self._waiting)
            return []
        lines = piece.split(b"\n")
        if self._parts:
            self._parts.append(lines[0])
            lines[0] = b"".join(self._parts)
            self._parts = []
        rest = lines.pop()
        if rest:
            self._parts.append(rest)
        self._waiting = len(rest)
        events = self._lines(lines)
        if rest:
            self._check(self._waiting)
        return events

    def end(self) -> list[ServerSentEvent]:
        """The events the end of the body completes (a final CR ends the last event)."""
        if self._after_cr:
            self._after_cr = False
            return self._lines([b""])
        return []

    def _check(self, waiting: int) -> None:
        limit = self._limit
        if limit is not None and self._size + waiting > limit:
            raise _too_large(limit)

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        events: list[ServerSentEvent] = []
        limit = self._limit
        for line in lines:
            if not line:
                self._size = 0
                if self._pending:
                    data = self._data
                    events.append(
                        ServerSentEvent(
                            self._event or "message",
                            _text(data[0] if len(data) == 1 else b"\n".join(data)),
                            self._id,
                            self._retry,
                        )
                    )
                    self._data, self._event, self._retry, self._pending = [], "", None, False
                continue
            if line[0] == 58:  # b":"
                continue
            self._size += len(line)
            if limit is not None and self._size > limit:
                raise _too_large(limit)
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                self._data.append(value)
                self._pending = True
            elif name == b"event":
                self._event = _text(value)
                self._pending = True
            elif name == b"id":
                if b"\0" not in value:
                    self._id = _text(value)
                    self._pending = True
            elif name == b"retry":
                try:
                    self._retry = int(_text(value))
                except ValueError:
                    continue
                self._pending = True
        return events
