"""The chat protocols as one table: each protocol's wire facts and the codecs that speak it.

A third protocol is one more :data:`CHAT_PROTOCOLS` entry; nothing else compares protocol names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx2

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.events import (
    ChatChunkDecoder,
    EventDecoder,
    completion_from_events,
)
from modelslab_transport.decoding.replies import (
    decode_chat_completion,
    decode_message,
    is_event_stream,
)
from modelslab_transport.protocols.encode_chat import encode_chat_request
from modelslab_transport.protocols.encode_messages import chat_request_to_messages
from modelslab_transport.protocols.messages import MessagesAsChatDecoder, message_to_completion
from modelslab_transport.wire.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionRequest
from modelslab_transport.wire.protocols import PROTOCOL_SPECS, ChatAPI, ProtocolSpec

__all__ = ["CHAT_PROTOCOLS", "ChatProtocol", "chat_protocol"]

BodyBuilder = Callable[[ChatCompletionRequest, ClientSettings, bool], dict[str, Any]]
"""``(request, settings, stream) -> JSON body`` for one protocol."""
ReplyDecoder = Callable[[httpx2.Response, ClientSettings], ChatCompletion]
"""``(response, settings) -> chat completion`` for a whole (non-streamed) reply."""
StreamDecoderFactory = Callable[
    [ClientSettings, ChatCompletionRequest], EventDecoder[ChatCompletionChunk]
]
"""``(settings, request) -> decoder`` of one protocol's SSE events into chat-completion chunks."""


@dataclass(frozen=True, kw_only=True)
class ChatProtocol(ProtocolSpec):
    """A protocol's wire facts and its codecs (body builder, reply and stream decoders)."""

    build_body: BodyBuilder
    decode_reply: ReplyDecoder
    stream_decoder: StreamDecoderFactory


def _chat_completions_body(
    request: ChatCompletionRequest, settings: ClientSettings, stream: bool
) -> dict[str, Any]:
    update: dict[str, Any] = (
        {"stream": True} if stream else {"stream": None, "stream_options": None}
    )
    body = encode_chat_request(request).model_copy(update=update).to_payload()
    if settings.legacy_auth:
        body.setdefault("model_id", request.model)
        if settings.api_key is not None:
            body["key"] = settings.api_key.get_secret_value()
    return body


def _wants_usage(request: ChatCompletionRequest) -> bool:
    """Whether a streamed chat asked for usage (``stream_options.include_usage``)."""
    return bool(request.stream_options and request.stream_options.include_usage)


def _chat_chunk_decoder(
    settings: ClientSettings, request: ChatCompletionRequest
) -> EventDecoder[ChatCompletionChunk]:
    return ChatChunkDecoder(settings)


def _messages_body(
    request: ChatCompletionRequest, settings: ClientSettings, stream: bool
) -> dict[str, Any]:
    messages = chat_request_to_messages(request)
    return messages.model_copy(update={"stream": True if stream else None}).to_payload()


def _decode_message(response: httpx2.Response, settings: ClientSettings) -> ChatCompletion:
    return message_to_completion(decode_message(response, settings))


def _messages_chunk_decoder(
    settings: ClientSettings, request: ChatCompletionRequest
) -> EventDecoder[ChatCompletionChunk]:
    # A Messages stream always reports usage: passed on only when asked for.
    return MessagesAsChatDecoder(settings, include_usage=_wants_usage(request))


def _whole_or_streamed(
    decode: ReplyDecoder, events: Callable[[ClientSettings], EventDecoder[ChatCompletionChunk]]
) -> ReplyDecoder:
    """``decode``, or the protocol's stream decoder for a reply sent as a stream.

    A reply streamed though no stream was asked for has its events added up; a JSON
    body labelled ``text/event-stream`` is read as JSON.
    """

    def decode_reply(response: httpx2.Response, settings: ClientSettings) -> ChatCompletion:
        if is_event_stream(response) and response.content.lstrip()[:1] not in (b"{", b"["):
            return completion_from_events(response, events(settings))
        return decode(response, settings)

    return decode_reply


def _entry(api: ChatAPI, **codecs: Any) -> ChatProtocol:
    spec = PROTOCOL_SPECS[api]
    facts = {name: getattr(spec, name) for name in spec.__dataclass_fields__}
    return ChatProtocol(**facts, **codecs)


CHAT_PROTOCOLS: Mapping[ChatAPI, ChatProtocol] = {
    "chat_completions": _entry(
        "chat_completions",
        build_body=_chat_completions_body,
        decode_reply=_whole_or_streamed(decode_chat_completion, ChatChunkDecoder),
        stream_decoder=_chat_chunk_decoder,
    ),
    "messages": _entry(
        "messages",
        build_body=_messages_body,
        decode_reply=_whole_or_streamed(_decode_message, MessagesAsChatDecoder),
        stream_decoder=_messages_chunk_decoder,
    ),
}
"""Every chat protocol, by its ``api=`` name."""


def chat_protocol(api: str) -> ChatProtocol:
    """The table entry for ``api``; ValueError, naming the known ones, for an unknown name."""
    try:
        return CHAT_PROTOCOLS[api]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"api must be one of {sorted(CHAT_PROTOCOLS)}, got {api!r}") from None
