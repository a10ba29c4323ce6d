"""Turning ModelsLab replies into wire types, for both the sync and the async client.

Everything here is pure: it sees a status, headers and bytes (or one SSE event)
and returns a typed object or raises a typed error. The clients only move bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from modelslab_transport.error_bodies import ErrorDetails, error_details_in_body, error_from_reply
from modelslab_transport.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    IncompleteStreamError,
    InvalidResponseError,
    LocalRequestError,
    ModelsLabError,
)
from modelslab_transport.protocol_bridge import MessageEventTranslator
from modelslab_transport.redirects import redirect_error
from modelslab_transport.settings import ClientSettings
from modelslab_transport.wire.catalog import ModelList
from modelslab_transport.wire.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChunkChoice,
    Delta,
)
from modelslab_transport.wire.messages import (
    CountTokensResponse,
    Message,
    MessageStreamEvent,
    StreamDelta,
)

if TYPE_CHECKING:
    from httpx_sse import ServerSentEvent

__all__ = [
    "ChatChunkDecoder",
    "EventDecoder",
    "MessageEventDecoder",
    "MessagesAsChatDecoder",
    "completion_as_chunk",
    "decode_chat_completion",
    "decode_count_tokens",
    "decode_message",
    "decode_model_list",
    "error_for_status",
    "is_event_stream",
    "message_as_events",
    "transport_error",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def is_event_stream(response: httpx.Response) -> bool:
    """True when the reply is Server-Sent Events (else it is a plain body)."""
    content_type = response.headers.get("content-type", "")
    return "text/event-stream" in content_type.lower()


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _parse_json(text: str, settings: ClientSettings, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidResponseError(
            settings.redact(f"{what} is not valid JSON: {_snippet(settings.redact(text))!r}")
        ) from None


def error_for_status(response: httpx.Response, settings: ClientSettings) -> APIStatusError:
    """The typed error for a reply with an HTTP error status (its body already read).

    A 3xx (never followed: see :mod:`modelslab_transport.redirects`) is a ``RedirectError``.
    """
    if 300 <= response.status_code < 400:
        return redirect_error(response, settings.redact)
    try:
        text = response.text
    except httpx.ResponseNotRead:  # the connection broke while the body was being read
        text = ""
    try:
        payload: Any = json.loads(text) if text.strip() else None
    except ValueError:
        payload = None
    return error_from_reply(
        response.status_code, payload, text, response.headers, redact=settings.redact
    )


def _raise_body_error(
    payload: Any, text: str, headers: Mapping[str, str], settings: ClientSettings
) -> None:
    details = error_details_in_body(payload)
    if details is not None:
        raise error_from_reply(200, payload, text, headers, redact=settings.redact, details=details)


def _validate(model: type[M], payload: Any, settings: ClientSettings, what: str) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()[:3]
        )
        raise InvalidResponseError(
            settings.redact(f"{what} has an unexpected shape: {problems}")
        ) from None


def _decode_object(
    response: httpx.Response, settings: ClientSettings, what: str, required: str
) -> dict[str, Any]:
    """Parse a 2xx JSON body, raise the error it reports, and check its key member."""
    text = response.text
    payload = _parse_json(text, settings, what)
    _raise_body_error(payload, text, response.headers, settings)
    if not isinstance(payload, dict):
        raise InvalidResponseError(f"{what} is a JSON {type(payload).__name__}, not an object")
    if required not in payload:
        message = payload.get("message") or payload.get("messege")
        if isinstance(message, str) and message.strip():
            # ModelsLab reports some failures as a bare {"message": ...} with HTTP 200.
            raise error_from_reply(
                200,
                payload,
                text,
                response.headers,
                redact=settings.redact,
                details=ErrorDetails(message=message.strip()),
            )
        raise InvalidResponseError(
            settings.redact(f"{what} has no {required!r}: {_snippet(settings.redact(text))!r}")
        )
    return payload


# Members through which a body reports an error (see ``error_details_in_body``); no
# wire reply type declares them, so in a validated reply they can only be extras.
_ERROR_MEMBERS = frozenset(("error", "status"))
# Content types whose body is UTF-8 JSON, which pydantic can read as bytes.
_PLAIN_JSON = frozenset(("application/json", "application/json; charset=utf-8"))


def _fast_validate(model: type[M], data: str | bytes) -> M | None:
    """Parse and validate JSON in one pass, or None if it needs the general path.

    Reading the JSON text straight into the model (no intermediate dicts) is what
    makes long streams cheap. A document that carries an ``error`` or ``status``
    member, or that does not validate, is left to the general path so that errors are
    reported exactly as there.
    """
    try:
        # The model's validator itself: ``model_validate_json`` adds a Python call with
        # keyword handling, a tenth of the cost for a chunk this small.
        item: M = model.__pydantic_validator__.validate_json(data)
    except ValidationError:
        return None
    extra = item.__pydantic_extra__
    if extra and not _ERROR_MEMBERS.isdisjoint(extra):
        return None
    return item


def _fast_completion(response: httpx.Response) -> ChatCompletion | None:
    """A UTF-8 body through :func:`_fast_validate`; one without ``choices`` is left too."""
    if response.headers.get("content-type", "").lower() not in _PLAIN_JSON:
        return None  # another charset, or a type the general path should judge
    completion = _fast_validate(ChatCompletion, response.content)
    if completion is None or "choices" not in completion.model_fields_set:
        return None
    return completion


def decode_chat_completion(response: httpx.Response, settings: ClientSettings) -> ChatCompletion:
    """Decode a non-streamed chat completion, raising the error a 200 body may carry."""
    completion = _fast_completion(response)
    if completion is None:
        payload = _decode_object(response, settings, "the chat completion reply", "choices")
        completion = _validate(ChatCompletion, payload, settings, "the chat completion reply")
    if not completion.choices:
        raise InvalidResponseError("the chat completion reply has an empty 'choices' list")
    return completion


def decode_message(response: httpx.Response, settings: ClientSettings) -> Message:
    """Decode a non-streamed Messages reply."""
    payload = _decode_object(response, settings, "the messages reply", "content")
    return _validate(Message, payload, settings, "the messages reply")


def decode_count_tokens(response: httpx.Response, settings: ClientSettings) -> CountTokensResponse:
    """Decode a count_tokens reply."""
    payload = _decode_object(response, settings, "the count_tokens reply", "input_tokens")
    return _validate(CountTokensResponse, payload, settings, "the count_tokens reply")


def decode_model_list(response: httpx.Response, settings: ClientSettings) -> ModelList:
    """Decode a models catalog reply."""
    payload = _decode_object(response, settings, "the models reply", "data")
    return _validate(ModelList, payload, settings, "the models reply")


def completion_as_chunk(completion: ChatCompletion) -> ChatCompletionChunk:
    """Express a whole completion as one chunk (for a plain reply to a stream request)."""
    choices = [
        ChunkChoice(
            index=choice.index,
            delta=Delta(
                role=choice.message.role,
                content=choice.message.content,
                reasoning_content=choice.message.reasoning_content,
                tool_calls=[
                    call.model_copy(update={"index": call.index if call.index is not None else i})
                    for i, call in enumerate(choice.message.tool_calls or [])
                ]
                or None,
            ),
            finish_reason=choice.finish_reason,
        )
        for choice in completion.choices
    ]
    return ChatCompletionChunk(
        id=completion.id,
        object="chat.completion.chunk",
        created=completion.created,
        model=completion.model,
        choices=choices,
        usage=completion.usage,
        system_fingerprint=completion.system_fingerprint,
    )


def message_as_events(message: Message) -> list[MessageStreamEvent]:
    """Express a whole Messages reply as the events a stream of it would have had."""
    start = message.model_copy(update={"content": [], "stop_reason": None})
    events = [MessageStreamEvent(type="message_start", message=start)]
    for index, block in enumerate(message.content):
        if block.type == "text":
            opening = block.model_copy(update={"text": ""})
            delta = StreamDelta(type="text_delta", text=block.text or "")
        elif block.type == "tool_use":
            opening = block.model_copy(update={"input": {}})
            delta = StreamDelta(type="input_json_delta", partial_json=json.dumps(block.input or {}))
        else:
            opening, delta = block, None
        events.append(
            MessageStreamEvent(type="content_block_start", index=index, content_block=opening)
        )
        if delta is not None:
            events.append(MessageStreamEvent(type="content_block_delta", index=index, delta=delta))
        events.append(MessageStreamEvent(type="content_block_stop", index=index))
    events.append(
        MessageStreamEvent(
            type="message_delta",
            delta=StreamDelta(stop_reason=message.stop_reason, stop_sequence=message.stop_sequence),
            usage=message.usage,
        )
    )
    events.append(MessageStreamEvent(type="message_stop"))
    return events


class EventDecoder(Protocol[T]):
    """Turns the events of one stream into items, and says when the stream is complete."""

    @property
    def done(self) -> bool:
        """True once the server marked the stream complete."""

    def decode(self, event: ServerSentEvent, headers: Mapping[str, str]) -> T | None:
        """The item an event carries, None for events that carry none; raises on errors."""

    def plain_reply(self, response: httpx.Response) -> list[T]:
        """The items of a plain (non-SSE) reply to a stream request."""

    def end(self) -> None:
        """Called when the bytes ran out: raises if the stream was cut short."""


class _JsonEventDecoder(Generic[M]):
    """Shared parsing of one SSE event's JSON data, with error detection."""

    what = "a stream event"

    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        self._done = False

    @property
    def done(self) -> bool:
        return self._done

    def _payload(self, event: ServerSentEvent, headers: Mapping[str, str]) -> Any:
        data = event.data
        payload = _parse_json(data, self._settings, self.what)
        details = error_details_in_body(payload)
        if details is None and event.event == "error":
            details = ErrorDetails(message=_snippet(self._settings.redact(data)))
        if details is not None:
            raise error_from_reply(
                200, payload, data, headers, redact=self._settings.redact, details=details
            )
        if not isinstance(payload, dict):
            raise InvalidResponseError(f"{self.what} is a JSON {type(payload).__name__}")
        return payload


class ChatChunkDecoder(_JsonEventDecoder[ChatCompletionChunk]):
    """Decodes ``chat.completion.chunk`` events: ``[DONE]`` ends the stream.

    Comment lines and multi-line ``data:`` are handled by the SSE parser; chunks may
    lack ``id``/``model``/``created``/``index``; an error object inside the stream is
    raised as the matching typed error.
    """

    what = "a chat completion chunk"

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__(settings)
        self._finished = False
        self._any_choice = False

    def decode(
        self, event: ServerSentEvent, headers: Mapping[str, str]
    ) -> ChatCompletionChunk | None:
        """The chunk an event carries; None for ``[DONE]`` and empty events."""
        data = event.data.strip()
        if not data:
            return None
        if data == "[DONE]":
            if not self._any_choice:  # as a plain reply with "choices": [] would be
                raise InvalidResponseError("the chat stream ended ([DONE]) without any choice")
            self._done = True
            return None
        chunk = _fast_validate(ChatCompletionChunk, data) if event.event != "error" else None
        if chunk is None:
            # Anything unusual (an error object, a non-object, JSON pydantic's parser
            # refuses) takes the general path, which raises the precise error.
            chunk = _validate(
                ChatCompletionChunk, self._payload(event, headers), self._settings, self.what
            )
        if not self._any_choice and chunk.choices:
            self._any_choice = True
        if not self._finished:
            for choice in chunk.choices:
                if choice.finish_reason:
                    self._finished = True
                    break
        return chunk

    def plain_reply(self, response: httpx.Response) -> list[ChatCompletionChunk]:
        """A plain JSON completion answered to a stream request, as one chunk."""
        self._done = True
        return [completion_as_chunk(decode_chat_completion(response, self._settings))]

    def end(self) -> None:
        """Accept a stream without ``[DONE]`` only if a choice already finished."""
        if not self._done and not self._finished:
            raise IncompleteStreamError(
                "the chat stream ended before the server finished it (no finish_reason, no [DONE])"
            )


class MessageEventDecoder(_JsonEventDecoder[MessageStreamEvent]):
    """Decodes Anthropic-style stream events; ``message_stop`` ends the stream."""

    what = "a messages stream event"

    def decode(
        self, event: ServerSentEvent, headers: Mapping[str, str]
    ) -> MessageStreamEvent | None:
        """The event, or None for ``ping`` and empty events; ``error`` events raise."""
        data = event.data
        if not data.strip():
            return None
        # A data object without "type" (it then comes from the event name) fails
        # validation and takes the general path, as does an ``error`` event.
        item = _fast_validate(MessageStreamEvent, data) if event.event != "error" else None
        if item is None:
            payload = self._payload(event, headers)
            payload.setdefault("type", event.event or "")
            item = _validate(MessageStreamEvent, payload, self._settings, self.what)
        if item.type == "ping":
            return None
        if item.type == "message_stop":
            self._done = True
        return item

    def plain_reply(self, response: httpx.Response) -> list[MessageStreamEvent]:
        """A plain JSON message answered to a stream request, as the events it implies."""
        self._done = True
        return message_as_events(decode_message(response, self._settings))

    def end(self) -> None:
        """Raise unless ``message_stop`` was seen."""
        if not self._done:
            raise IncompleteStreamError("the messages stream ended before message_stop")


class MessagesAsChatDecoder:
    """Decodes a Messages stream into chat-completion chunks (``api="messages"``)."""

    def __init__(self, settings: ClientSettings) -> None:
        self._events = MessageEventDecoder(settings)
        self._translator = MessageEventTranslator()

    @property
    def done(self) -> bool:
        """True once ``message_stop`` was seen."""
        return self._events.done

    def decode(
        self, event: ServerSentEvent, headers: Mapping[str, str]
    ) -> ChatCompletionChunk | None:
        """The chunk an event amounts to, if any."""
        item = self._events.decode(event, headers)
        return None if item is None else self._translator.translate(item)

    def plain_reply(self, response: httpx.Response) -> list[ChatCompletionChunk]:
        """A plain Messages reply to a stream request, as chunks."""
        chunks = (self._translator.translate(e) for e in self._events.plain_reply(response))
        return [chunk for chunk in chunks if chunk is not None]

    def end(self) -> None:
        """Raise unless ``message_stop`` was seen."""
        self._events.end()


def transport_error(
    exc: httpx.HTTPError, settings: ClientSettings, *, streaming: bool = False
) -> ModelsLabError:
    """The typed error for an httpx failure to reach or read the server.

    A request the HTTP stack itself refused before sending it (``LocalProtocolError``: a
    header or URL it cannot write) is a ``LocalRequestError``: not retried, and not
    reported as a failure to reach the server.
    """
    detail = settings.redact(str(exc)) or type(exc).__name__
    if isinstance(exc, httpx.LocalProtocolError):
        # h11 quotes the offending bytes ("Illegal header value b'...'"): keep only what
        # kind of problem it is, since the bytes may be a credential, escaped past redact.
        kind = detail.split(" b'", 1)[0].split(' b"', 1)[0]
        return LocalRequestError(
            f"the HTTP library refused to send the request ({kind}); nothing reached the "
            "server. Check default_headers and the headers of the http_client you gave"
        )
    if isinstance(exc, httpx.TimeoutException):
        if isinstance(exc, httpx.ConnectTimeout):
            return APITimeoutError(f"timed out connecting to the server: {detail}", retryable=True)
        if isinstance(exc, httpx.PoolTimeout):
            return APITimeoutError(
                f"timed out waiting for a free connection: {detail}", retryable=True
            )
        if streaming:
            return APITimeoutError(
                f"the stream sent nothing for {settings.stream_chunk_timeout} s "
                f"(stream_chunk_timeout): {detail}"
            )
        return APITimeoutError(f"timed out waiting for the server: {detail}")
    if isinstance(exc, httpx.TransportError):
        if streaming:
            return APIConnectionError(f"the connection broke during the stream: {detail}")
        return APIConnectionError(f"could not reach the server: {detail}", retryable=True)
    return APIConnectionError(f"HTTP failure: {detail}")
