"""The chat protocols ModelsLab speaks, as one table.

ModelsLab carries a chat over OpenAI-style ``/chat/completions`` or Anthropic-style
``/v1/messages`` (modelslab-api.md §2, §3). Everything that differs between the two is
one :class:`ChatProtocol` entry in :data:`CHAT_PROTOCOLS`: the path, how the body is
built, how replies and streams are decoded, which request parameters the protocol has
no counterpart for, how structured output is asked for, and which auth header it
takes. Nothing else in the project compares protocol names; a third protocol is one
more entry.

This module imports neither httpx2 nor the wire types: the body builders and decoders
import what they need when first called, so the framework integrations can check a
configuration against the table when a model is built, at no import cost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import httpx2

    from modelslab_transport.decoding import EventDecoder
    from modelslab_transport.settings import ClientSettings
    from modelslab_transport.wire.chat import (
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionRequest,
    )

__all__ = [
    "CHAT_ONLY_PARAMS",
    "CHAT_PROTOCOLS",
    "MESSAGES_MAX_TEMPERATURE",
    "AuthStyle",
    "ChatAPI",
    "ChatProtocol",
    "StructuredOutputMode",
    "chat_protocol",
    "check_messages_params",
    "check_protocol_params",
    "supports_response_format",
]

ChatAPI = Literal["chat_completions", "messages"]
"""Which protocol carries a chat: OpenAI-style ``/chat/completions`` or ``/v1/messages``."""

AuthStyle = Literal["bearer", "x-api-key"]
"""How the key travels: ``Authorization: Bearer <key>``, or ``x-api-key: <key>`` plus an
``anthropic-version`` header (the Anthropic-style endpoints)."""

StructuredOutputMode = Literal["response_format", "tool_call"]
"""How JSON mode / json_schema structured output is asked for: a ``response_format``, or
(on a protocol without one) by forcing a tool call whose input schema is the schema."""

CHAT_ONLY_PARAMS = (
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "response_format",
    "logprobs",
    "top_logprobs",
)
"""Chat-completions parameters the Messages protocol has no counterpart for."""

MESSAGES_MAX_TEMPERATURE = 1.0
"""The highest ``temperature`` the Messages protocol accepts (chat completions: 2)."""

BodyBuilder = Callable[["ChatCompletionRequest", "ClientSettings", bool], dict[str, Any]]
"""``(request, settings, stream) -> JSON body`` for one protocol."""
ReplyDecoder = Callable[["httpx2.Response", "ClientSettings"], "ChatCompletion"]
"""``(response, settings) -> chat completion`` for a whole (non-streamed) reply."""
StreamDecoderFactory = Callable[
    ["ClientSettings", "ChatCompletionRequest"], "EventDecoder[ChatCompletionChunk]"
]
"""``(settings, request) -> decoder`` turning one protocol's SSE events into chat-completion
chunks; usage is reported when the request asks for it (``stream_options.include_usage``)."""


@dataclass(frozen=True)
class ChatProtocol:
    """Everything that differs between two ways of carrying a chat.

    Attributes:
        name: The ``api=`` value that selects it.
        path: The endpoint, relative to the base URL.
        auth: Which header carries the key.
        build_body: Builds the JSON body from a chat-completions request.
        decode_reply: Decodes a whole reply into a chat completion.
        stream_decoder: Builds the decoder of its event stream (chat-completion chunks).
        unsupported_params: Request parameters it has no counterpart for (refused,
            never dropped).
        max_temperature: The highest ``temperature`` it accepts.
        multiple_choices: Whether ``n > 1`` is possible.
        structured_output: How JSON-mode / json_schema structured output is asked for.
    """

    name: ChatAPI
    path: str
    auth: AuthStyle
    build_body: BodyBuilder
    decode_reply: ReplyDecoder
    stream_decoder: StreamDecoderFactory
    unsupported_params: tuple[str, ...] = ()
    max_temperature: float = 2.0
    multiple_choices: bool = True
    structured_output: StructuredOutputMode = "response_format"


def _chat_completions_body(
    request: ChatCompletionRequest, settings: ClientSettings, stream: bool
) -> dict[str, Any]:
    update: dict[str, Any] = (
        {"stream": True} if stream else {"stream": None, "stream_options": None}
    )
    from modelslab_transport.encode_chat import encode_chat_request

    body = encode_chat_request(request).model_copy(update=update).to_payload()
    if settings.legacy_auth:
        body.setdefault("model_id", request.model)
        if settings.api_key is not None:
            body["key"] = settings.api_key.get_secret_value()
    return body


def _decode_chat_completion(response: httpx2.Response, settings: ClientSettings) -> ChatCompletion:
    from modelslab_transport.decoding import decode_chat_completion

    return decode_chat_completion(response, settings)


def _wants_usage(request: ChatCompletionRequest) -> bool:
    """Whether a streamed chat asked for usage (``stream_options.include_usage``)."""
    return bool(request.stream_options and request.stream_options.include_usage)


def _chat_chunk_decoder(
    settings: ClientSettings, request: ChatCompletionRequest
) -> EventDecoder[ChatCompletionChunk]:
    from modelslab_transport.decoding import ChatChunkDecoder

    return ChatChunkDecoder(settings)


def _messages_body(
    request: ChatCompletionRequest, settings: ClientSettings, stream: bool
) -> dict[str, Any]:
    from modelslab_transport.encode_messages import chat_request_to_messages

    messages = chat_request_to_messages(request)
    return messages.model_copy(update={"stream": True if stream else None}).to_payload()


def _decode_message(response: httpx2.Response, settings: ClientSettings) -> ChatCompletion:
    from modelslab_transport.decoding import decode_message
    from modelslab_transport.protocol_bridge import message_to_completion

    return message_to_completion(decode_message(response, settings))


def _messages_chunk_decoder(
    settings: ClientSettings, request: ChatCompletionRequest
) -> EventDecoder[ChatCompletionChunk]:
    from modelslab_transport.decoding import MessagesAsChatDecoder

    # The Messages stream always reports usage; it is passed on only when asked for, as
    # chat completions does (the body carries no stream_options on this protocol).
    return MessagesAsChatDecoder(settings, include_usage=_wants_usage(request))


CHAT_PROTOCOLS: Mapping[ChatAPI, ChatProtocol] = {
    "chat_completions": ChatProtocol(
        name="chat_completions",
        path="/chat/completions",
        auth="bearer",
        build_body=_chat_completions_body,
        decode_reply=_decode_chat_completion,
        stream_decoder=_chat_chunk_decoder,
    ),
    "messages": ChatProtocol(
        name="messages",
        path="/v1/messages",
        auth="x-api-key",
        build_body=_messages_body,
        decode_reply=_decode_message,
        stream_decoder=_messages_chunk_decoder,
        unsupported_params=CHAT_ONLY_PARAMS,
        max_temperature=MESSAGES_MAX_TEMPERATURE,
        multiple_choices=False,
        structured_output="tool_call",
    ),
}
"""Every chat protocol, by its ``api=`` name."""


def chat_protocol(api: str) -> ChatProtocol:
    """The table entry for ``api``.

    Raises:
        ValueError: naming the known protocols, for an unknown name.
    """
    try:
        return CHAT_PROTOCOLS[api]  # type: ignore[index]
    except KeyError:
        raise ValueError(f"api must be one of {sorted(CHAT_PROTOCOLS)}, got {api!r}") from None


def check_protocol_params(api: str, params: Mapping[str, Any]) -> None:
    """Refuse request parameters protocol ``api`` cannot carry.

    ``params`` are chat-completions request parameters (a constructor's fields, a
    call's keyword arguments); ``None`` values count as unset. Called when a model is
    built (so a wrong combination fails then, not on its first request) and for every
    request.

    Raises:
        ValueError: naming each parameter the protocol has no counterpart for, ``n > 1``
            where only one choice is possible, or a ``temperature`` above its maximum.
    """
    protocol = chat_protocol(api)
    used = [name for name in protocol.unsupported_params if params.get(name) is not None]
    n = params.get("n")
    if not protocol.multiple_choices and isinstance(n, int) and n > 1:
        used.append("n > 1")
    if used:
        raise ValueError(
            f"{', '.join(used)} cannot be sent with api={api!r} (that protocol has no such "
            "parameter); use api='chat_completions' or leave it unset"
        )
    temperature = params.get("temperature")
    if isinstance(temperature, (int, float)) and temperature > protocol.max_temperature:
        raise ValueError(
            f"temperature {temperature} is above {protocol.max_temperature:g}, the maximum of "
            f"api={api!r}; use a value in [0, {protocol.max_temperature:g}] or "
            "api='chat_completions' (0-2)"
        )


def check_messages_params(params: Mapping[str, Any]) -> None:
    """:func:`check_protocol_params` for the Messages protocol.

    Raises:
        ValueError: as :func:`check_protocol_params`.
    """
    check_protocol_params("messages", params)


def supports_response_format(api: str) -> bool:
    """Whether ``api`` has ``response_format`` (JSON mode, json_schema).

    On a protocol without one the framework integrations ask for structured output by
    forcing a tool call whose input schema is the requested schema instead.
    """
    return chat_protocol(api).structured_output == "response_format"
