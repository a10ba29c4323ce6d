"""Turning ModelsLab replies into wire types, for both the sync and the async client.

Everything here is pure: it sees a status, headers and bytes (or one SSE event)
and returns a typed object or raises a typed error. The clients only move bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import httpx2
from pydantic import BaseModel, ValidationError

from modelslab_transport.chat.accumulate import ChatStreamAccumulator
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.error_bodies import (
    ERROR_MEMBERS,
    ErrorDetails,
    body_message,
    error_details_in_body,
    error_from_reply,
)
from modelslab_transport.decoding.not_found import (
    describe_not_found,
    is_web_page,
    wrong_place_hint,
)
from modelslab_transport.decoding.redirects import redirect_error
from modelslab_transport.errors import (
    APIStatusError,
    IncompleteStreamError,
    InvalidResponseError,
    NotFoundError,
)
from modelslab_transport.wire import json_text
from modelslab_transport.wire.catalog import ModelList
from modelslab_transport.wire.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChunkChoice,
    Delta,
    ResponseMessage,
)
from modelslab_transport.wire.leniency import validate_leniently
from modelslab_transport.wire.messages import (
    CountTokensResponse,
    Message,
    MessageStreamEvent,
    StreamDelta,
)
from modelslab_transport.wire.sse import SSEDecoder
from modelslab_transport.wire.surrogates import SurrogateJoiner, well_formed_strings

if TYPE_CHECKING:
    from modelslab_transport.wire.sse import ServerSentEvent

__all__ = [
    "ChatChunkDecoder",
    "EventDecoder",
    "MessageEventDecoder",
    "body_text",
    "completion_as_chunk",
    "completion_from_events",
    "decode_chat_completion",
    "decode_count_tokens",
    "decode_message",
    "decode_model_list",
    "error_for_status",
    "is_event_stream",
    "message_as_events",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


def is_event_stream(response: httpx2.Response) -> bool:
    """True when the reply is Server-Sent Events (else it is a plain body)."""
    content_type = response.headers.get("content-type", "")
    return "text/event-stream" in content_type.lower()


def _snippet(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def body_text(response: httpx2.Response) -> str:
    """The reply's body as text, without a leading UTF-8 byte order mark.

    JSON forbids sending a BOM but lets a reader ignore one (RFC 8259, section 8.1);
    some servers and proxies add one. Every plain body is read as JSON through this.
    """
    return response.text.removeprefix("\ufeff")


# The errors below are raised after their ``except`` block, not inside it: raised inside,
# even ``from None`` keeps the parser's exception as ``__context__``, and that holds the
# server's text (``JSONDecodeError.doc``, pydantic's ``input_value``), which may echo the key.


def _parse_json(text: str, settings: ClientSettings, what: str, hint: str | None = None) -> Any:
    """``text`` parsed, or :class:`InvalidResponseError` quoting it (and ``hint``, if given)."""
    try:
        return json_text.loads(text)
    except ValueError:
        pass
    message = f"{what} is not valid JSON: {_snippet(settings.redact(text))!r}"
    raise InvalidResponseError(settings.redact(f"{message}; {hint}" if hint else message))


def error_for_status(response: httpx2.Response, settings: ClientSettings) -> APIStatusError:
    """The typed error for a reply with an HTTP error status (its body already read).

    A 3xx (never followed: see :mod:`modelslab_transport.decoding.redirects`) is a
    ``RedirectError``.
    """
    if 300 <= response.status_code < 400:
        return redirect_error(response, settings.redact)
    try:
        text = body_text(response)
    except httpx2.ResponseNotRead:  # the connection broke while the body was being read
        text = ""
    try:
        payload: Any = json_text.loads(text) if text.strip() else None
    except ValueError:
        payload = None
    error = error_from_reply(
        response.status_code, payload, text, response.headers, redact=settings.redact
    )
    describe_not_found(error, response, settings)
    return error


def _raise_body_error(
    payload: Any, text: str, headers: Mapping[str, str], settings: ClientSettings
) -> None:
    details = error_details_in_body(payload)
    if details is not None:
        raise error_from_reply(200, payload, text, headers, redact=settings.redact, details=details)


def _validate(model: type[M], payload: Any, settings: ClientSettings, what: str) -> M:
    try:
        return validate_leniently(model, payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()[:3]
        )
    raise InvalidResponseError(settings.redact(f"{what} has an unexpected shape: {problems}"))


def _decode_object(
    response: httpx2.Response, settings: ClientSettings, what: str, required: str
) -> dict[str, Any]:
    """Parse a 2xx JSON body, raise the error it reports, and check its key member."""
    try:
        return _checked_object(response, settings, what, required)
    except NotFoundError as error:  # "Model not found" in a 200 body: say where and why
        describe_not_found(error, response, settings)
        raise


def _checked_object(
    response: httpx2.Response, settings: ClientSettings, what: str, required: str
) -> dict[str, Any]:
    text = body_text(response)
    hint = wrong_place_hint(response, settings) if is_web_page(response, text) else None
    payload = well_formed_strings(_parse_json(text, settings, what, hint))
    _raise_body_error(payload, text, response.headers, settings)
    if not isinstance(payload, dict):
        raise InvalidResponseError(f"{what} is a JSON {type(payload).__name__}, not an object")
    if required not in payload:
        message = body_message(payload)
        if message:
            # ModelsLab reports some failures as a bare {"message": ...} with HTTP 200.
            raise error_from_reply(
                200,
                payload,
                text,
                response.headers,
                redact=settings.redact,
                details=ErrorDetails(message=message),
            )
        raise InvalidResponseError(
            settings.redact(f"{what} has no {required!r}: {_snippet(settings.redact(text))!r}")
        )
    return payload


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
    if extra and not ERROR_MEMBERS.isdisjoint(extra):
        return None
    return item


def _fast_completion(response: httpx2.Response) -> ChatCompletion | None:
    """A UTF-8 body through :func:`_fast_validate`; one without ``choices`` is left too."""
    if response.headers.get("content-type", "").lower() not in _PLAIN_JSON:
        return None  # another charset, or a type the general path should judge
    completion = _fast_validate(ChatCompletion, response.content)
    if completion is None or "choices" not in completion.model_fields_set:
        return None
    return completion


def completion_from_events(
    response: httpx2.Response, decoder: EventDecoder[ChatCompletionChunk]
) -> ChatCompletion:
    """A stream's body (read already) added up into one completion, read by ``decoder``.

    For a request that asked for no stream: some servers and proxies stream whatever
    ``stream`` says. An error event raises its error; a stream cut short raises
    :class:`IncompleteStreamError`, as when streaming.
    """
    accumulator = ChatStreamAccumulator()
    framing = SSEDecoder(max_event_size=None)
    for event in [*framing.feed(response.content), *framing.end()]:
        if decoder.done:
            break
        chunk = decoder.decode(event, response.headers)
        if chunk is not None:
            accumulator.add(chunk)
    last = decoder.end()
    if last is not None:
        accumulator.add(last)
    return accumulator.completion()


def decode_chat_completion(response: httpx2.Response, settings: ClientSettings) -> ChatCompletion:
    """Decode a non-streamed chat completion, raising the error a 200 body may carry."""
    completion = _fast_completion(response)
    if completion is None:
        payload = _decode_object(response, settings, "the chat completion reply", "choices")
        completion = _validate(ChatCompletion, payload, settings, "the chat completion reply")
    if not completion.choices:
        raise InvalidResponseError("the chat completion reply has an empty 'choices' list")
    for choice in completion.choices:
        if "message" not in choice.model_fields_set:  # absent or null
            extra = choice.__pydantic_extra__ or {}
            delta = extra.get("delta")
            if not isinstance(delta, dict):
                members = sorted({*choice.model_fields_set, *extra})
                raise InvalidResponseError(
                    f"choice {choice.index} of the chat completion reply has no 'message' "
                    f"to read the answer from (its members: {', '.join(members) or 'none'})"
                )
            # Some servers shape a whole reply's choice as a stream chunk's: read it so.
            choice.message = _validate(ResponseMessage, delta, settings, "a choice's 'delta'")
    return completion


def decode_message(response: httpx2.Response, settings: ClientSettings) -> Message:
    """Decode a non-streamed Messages reply."""
    payload = _decode_object(response, settings, "the messages reply", "content")
    return _validate(Message, payload, settings, "the messages reply")


def decode_count_tokens(response: httpx2.Response, settings: ClientSettings) -> CountTokensResponse:
    """Decode a count_tokens reply."""
    payload = _decode_object(response, settings, "the count_tokens reply", "input_tokens")
    return _validate(CountTokensResponse, payload, settings, "the count_tokens reply")


def decode_model_list(response: httpx2.Response, settings: ClientSettings) -> ModelList:
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
                reasoning_blocks=choice.message.reasoning_blocks,
                # A whole message lists each call once: its position is its index (some
                # servers give every call "index": 0).
                tool_calls=[
                    call.model_copy(update={"index": i})
                    for i, call in enumerate(choice.message.tool_calls or [])
                ]
                or None,
            ),
            finish_reason=choice.finish_reason,
            logprobs=choice.logprobs,
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
        elif block.type == "thinking":
            opening = block.model_copy(update={"thinking": "", "signature": None})
            delta = StreamDelta(type="thinking_delta", thinking=block.thinking or "")
        else:
            opening, delta = block, None
        events.append(
            MessageStreamEvent(type="content_block_start", index=index, content_block=opening)
        )
        if delta is not None:
            events.append(MessageStreamEvent(type="content_block_delta", index=index, delta=delta))
        if block.type == "thinking" and block.signature:
            signature = StreamDelta(type="signature_delta", signature=block.signature)
            events.append(
                MessageStreamEvent(type="content_block_delta", index=index, delta=signature)
            )
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


def _code(payload: Mapping[str, Any]) -> str | None:
    code = payload.get("code")
    return str(code) if isinstance(code, (str, int)) and not isinstance(code, bool) else None


class EventDecoder(Protocol[T]):
    """Turns the events of one stream into items, and says when the stream is complete."""

    @property
    def done(self) -> bool:
        """True once the server marked the stream complete."""

    def decode(self, event: ServerSentEvent, headers: Mapping[str, str]) -> T | None:
        """The item an event carries, None for events that carry none; raises on errors."""

    def plain_reply(self, response: httpx2.Response) -> list[T]:
        """The items of a plain (non-SSE) reply to a stream request."""

    def end(self) -> T | None:
        """Called when the bytes ran out: raises if the stream was cut short.

        Returns the last item a stream that ended early but whole implies (None: none).
        """


class _JsonEventDecoder(Generic[M]):
    """Shared parsing of one SSE event's JSON data, with error detection."""

    what = "a stream event"

    def __init__(self, settings: ClientSettings) -> None:
        self._settings = settings
        self._done = False
        self._surrogates = SurrogateJoiner()

    @property
    def done(self) -> bool:
        return self._done

    def _payload(self, event: ServerSentEvent, headers: Mapping[str, str]) -> Any:
        data = event.data
        if event.event == "error":  # an error whatever its data: JSON, text or nothing
            try:
                payload: Any = json_text.loads(data) if data.strip() else None
            except ValueError:
                payload = None
            details = error_details_in_body(payload)
            if details is None:
                said = body_message(payload) or _snippet(self._settings.redact(data))
                details = ErrorDetails(
                    message=said or "the server reported an error without a message"
                )
        else:
            payload = _parse_json(data, self._settings, self.what)
            details = error_details_in_body(payload)
        if details is not None:
            raise error_from_reply(
                200,
                payload,
                data,
                headers,
                redact=self._settings.redact,
                details=details,
                in_stream=True,
            )
        if not isinstance(payload, dict):
            raise InvalidResponseError(f"{self.what} is a JSON {type(payload).__name__}")
        return self._surrogates.join(payload)

    def _fast(self, model: type[M], event: ServerSentEvent) -> M | None:
        """The event through :func:`_fast_validate`, unless it must take the general path.

        It must for an ``error`` event, and while half a surrogate pair waits for the
        rest of its text (only the general path sees lone surrogates).
        """
        if event.event == "error" or self._surrogates.holding:
            return None
        return _fast_validate(model, event.data)


class ChatChunkDecoder(_JsonEventDecoder[ChatCompletionChunk]):
    """Decodes ``chat.completion.chunk`` events: ``[DONE]`` ends the stream.

    Comment lines and multi-line ``data:`` are handled by the SSE parser; chunks may
    lack ``id``/``model``/``created``/``index``; an error object inside the stream is
    raised as the matching typed error.
    """

    what = "a chat completion chunk"

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__(settings)
        # The choices that brought a finish_reason, and those seen without one yet.
        self._finished: set[int] = set()
        self._open: set[int] = set()
        self._any_choice = False
        self._validate_json = ChatCompletionChunk.__pydantic_validator__.validate_json

    def decode(
        self, event: ServerSentEvent, headers: Mapping[str, str]
    ) -> ChatCompletionChunk | None:
        """The chunk an event carries; None for ``[DONE]`` and empty events."""
        data = event.data
        if data[:1] == "{":  # the usual chunk: no blank space to strip
            chunk = self._fast(ChatCompletionChunk, event)
        else:
            data = data.strip()
            if not data and event.event != "error":
                return None
            if data == "[DONE]":
                if not self._any_choice:  # as a plain reply with "choices": [] would be
                    raise InvalidResponseError("the chat stream ended ([DONE]) without any choice")
                self._done = True
                return None
            chunk = self._fast(ChatCompletionChunk, event)
        if chunk is None or "choices" not in chunk.__pydantic_fields_set__:
            # Anything unusual (an error object, a non-object, JSON pydantic's parser
            # refuses, a chunk without choices) takes the general path, which raises the
            # precise error.
            payload = self._payload(event, headers)
            if "choices" not in payload:
                self._raise_stated_error(payload, event, headers)
            chunk = _validate(ChatCompletionChunk, payload, self._settings, self.what)
        return self._checked(chunk)

    def decode_usual(self, data: bytes) -> ChatCompletionChunk | None:
        """The chunk an unnamed event's ``data`` (UTF-8) carries, if it is the usual one.

        The usual one is a JSON object that validates as a chunk with ``choices``,
        reports no error and does not follow half a surrogate pair; it gives the chunk
        :meth:`decode` gives for the event. For anything else returns None, having read
        nothing: pass the event to :meth:`decode`, which reads it (and raises what it
        reports).
        """
        if data[:1] != b"{" or self._surrogates.holding:
            return None
        try:
            chunk = self._validate_json(data)
        except ValidationError:
            return None
        extra = chunk.__pydantic_extra__
        if (extra and not ERROR_MEMBERS.isdisjoint(extra)) or (
            "choices" not in chunk.__pydantic_fields_set__
        ):
            return None
        return self._checked(chunk)

    def _checked(self, chunk: ChatCompletionChunk) -> ChatCompletionChunk:
        choices = chunk.choices
        if choices:
            self._any_choice = True
            for choice in choices:
                if "delta" not in choice.__pydantic_fields_set__:
                    self._delta_from_message(choice)
                if choice.finish_reason:
                    self._finished.add(choice.index)
                    self._open.discard(choice.index)
                elif choice.index not in self._finished:
                    self._open.add(choice.index)
        return chunk

    def _raise_stated_error(
        self, payload: dict[str, Any], event: ServerSentEvent, headers: Mapping[str, str]
    ) -> None:
        """Raise the error a chunk without ``choices`` states in a message member.

        As a plain reply without ``choices`` that says something is an error (ModelsLab's
        bare ``{"message": ...}``, FastAPI's ``{"detail": ...}``), so is such a chunk:
        dropping it would pass the reply so far off as whole.
        """
        message = body_message(payload)
        if message:
            raise error_from_reply(
                200,
                payload,
                event.data,
                headers,
                redact=self._settings.redact,
                details=ErrorDetails(message=message, code=_code(payload)),
                in_stream=True,
            )

    def _delta_from_message(self, choice: ChunkChoice) -> None:
        """Read a chunk choice that carries ``message`` (as a whole reply's) as its delta.

        Some servers shape stream chunks so; a choice with neither (a last chunk with
        only ``finish_reason``) is left as it is.
        """
        extra = choice.__pydantic_extra__
        message = extra.get("message") if extra else None
        if isinstance(message, dict):
            choice.delta = _validate(Delta, message, self._settings, "a chunk choice's 'message'")

    def plain_reply(self, response: httpx2.Response) -> list[ChatCompletionChunk]:
        """A plain JSON completion answered to a stream request, as one chunk."""
        self._done = True
        return [completion_as_chunk(decode_chat_completion(response, self._settings))]

    def end(self) -> None:
        """Accept a stream without ``[DONE]`` only if every choice in it finished."""
        if self._done:
            return None
        if not self._finished:
            raise IncompleteStreamError(
                "the chat stream ended before the server finished it (no finish_reason, no [DONE])"
            )
        if self._open:
            raise IncompleteStreamError(
                "the chat stream ended before the server finished it (no [DONE], and no "
                f"finish_reason for choice {min(self._open)})"
            )
        return None


class MessageEventDecoder(_JsonEventDecoder[MessageStreamEvent]):
    """Decodes Anthropic-style stream events; ``message_stop`` ends the stream.

    As a chat stream that ends without ``[DONE]`` after a ``finish_reason`` is whole,
    so is a Messages stream that ends without ``message_stop`` after the
    ``message_delta`` that brought its ``stop_reason``.
    """

    what = "a messages stream event"

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__(settings)
        self._stopped = False

    def decode(
        self, event: ServerSentEvent, headers: Mapping[str, str]
    ) -> MessageStreamEvent | None:
        """The event, or None for ``ping`` and empty events; ``error`` events raise."""
        data = event.data
        if not data.strip() and event.event != "error":
            return None
        # A data object without "type" (it then comes from the event name) fails
        # validation and takes the general path, as does an ``error`` event.
        item = self._fast(MessageStreamEvent, event)
        if item is None:
            payload = self._payload(event, headers)
            payload.setdefault("type", event.event or "")
            item = _validate(MessageStreamEvent, payload, self._settings, self.what)
        if item.type == "ping":
            return None
        if item.type == "message_stop":
            self._done = True
        elif item.type == "message_delta" and item.delta is not None and item.delta.stop_reason:
            self._stopped = True
        return item

    def plain_reply(self, response: httpx2.Response) -> list[MessageStreamEvent]:
        """A plain JSON message answered to a stream request, as the events it implies."""
        self._done = True
        return message_as_events(decode_message(response, self._settings))

    def end(self) -> MessageStreamEvent | None:
        """Raise unless ``message_stop``, or a ``stop_reason``, was seen.

        After a ``stop_reason`` without ``message_stop``, returns the ``message_stop``
        event the stream implies.
        """
        if self._done:
            return None
        if not self._stopped:
            raise IncompleteStreamError(
                "the messages stream ended before the server finished it (no stop_reason, "
                "no message_stop)"
            )
        self._done = True
        return MessageStreamEvent(type="message_stop")
