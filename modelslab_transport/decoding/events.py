"""Stream events into wire types: one decoder per protocol, and streams added up.

A decoder sees one SSE event at a time (or a plain reply answered to a stream request),
returns the typed item it carries or raises the typed error it reports, and says at the
end whether the server finished the stream.
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
from modelslab_transport.decoding.replies import (
    decode_chat_completion,
    decode_message,
    fast_validate,
    parse_json,
    snippet,
    validated,
)
from modelslab_transport.errors import IncompleteStreamError, InvalidResponseError
from modelslab_transport.wire import json_text
from modelslab_transport.wire.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChunkChoice,
    Delta,
)
from modelslab_transport.wire.messages import Message, MessageStreamEvent, StreamDelta
from modelslab_transport.wire.sse import SSEDecoder
from modelslab_transport.wire.surrogates import SurrogateJoiner

if TYPE_CHECKING:
    from modelslab_transport.wire.sse import ServerSentEvent

__all__ = [
    "ChatChunkDecoder",
    "EventDecoder",
    "MessageEventDecoder",
    "completion_as_chunk",
    "completion_from_events",
    "message_as_events",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


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
                said = body_message(payload) or snippet(self._settings.redact(data))
                details = ErrorDetails(
                    message=said or "the server reported an error without a message"
                )
        else:
            payload = parse_json(data, self._settings, self.what)
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
        """The event through :func:`fast_validate`, unless it must take the general path.

        It must for an ``error`` event, and while half a surrogate pair waits for the
        rest of its text (only the general path sees lone surrogates).
        """
        if event.event == "error" or self._surrogates.holding:
            return None
        return fast_validate(model, event.data)


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
            chunk = validated(ChatCompletionChunk, payload, self._settings, self.what)
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
            choice.delta = validated(Delta, message, self._settings, "a chunk choice's 'message'")

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
            item = validated(MessageStreamEvent, payload, self._settings, self.what)
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
