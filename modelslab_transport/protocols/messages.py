"""The Anthropic-style Messages protocol, spoken in chat-completions terms.

Requests are encoded by :mod:`modelslab_transport.protocols.encode_messages` (re-exported
here); this module turns the replies back into chat completions and chunks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from modelslab_transport import wire
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.events import (
    MessageEventDecoder,
)
from modelslab_transport.wire.chat import ChatCompletionChunk

if TYPE_CHECKING:
    import httpx2

    from modelslab_transport.wire.sse import ServerSentEvent


__all__ = [
    "STOP_REASONS",
    "MessageEventTranslator",
    "MessagesAsChatDecoder",
    "message_to_completion",
]

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Messages ``stop_reason`` -> chat-completions ``finish_reason``; others pass as sent.

The translated choice keeps the reason as sent in its ``stop_reason`` member too.
"""


def _usage(usage: wire.MessagesUsage | None) -> wire.Usage | None:
    if usage is None:
        return None
    prompt = (
        (usage.input_tokens or 0)
        + (usage.cache_read_input_tokens or 0)
        + (usage.cache_creation_input_tokens or 0)
    )
    # Cache reads -> cached_tokens, cache writes -> cache_creation_tokens; both in prompt_tokens.
    details = {
        name: value
        for name, value in (
            ("cached_tokens", usage.cache_read_input_tokens),
            ("cache_creation_tokens", usage.cache_creation_input_tokens),
        )
        if value
    } or None
    completion = usage.output_tokens or 0
    return wire.Usage(
        prompt_tokens=prompt,
        completion_tokens=completion,
        total_tokens=prompt + completion,
        prompt_tokens_details=details,
    )


def _reasoning_blocks(message: wire.Message) -> list[wire.ReasoningBlock]:
    return [
        wire.ReasoningBlock(
            type=block.type,
            index=index,
            thinking=block.thinking,
            signature=block.signature,
            data=block.data,
        )
        for index, block in enumerate(message.content)
        if block.type in ("thinking", "redacted_thinking")
    ]


def message_to_completion(message: wire.Message) -> wire.ChatCompletion:
    """Express a Messages reply as a chat completion (thinking blocks in ``reasoning_blocks``)."""
    text = message.text
    thinking = "".join(b.thinking or "" for b in message.content if b.type == "thinking")
    calls = [
        wire.ResponseToolCall(
            index=i,
            id=b.id,
            type="function",
            function=wire.ResponseFunctionCall(name=b.name, arguments=json.dumps(b.input or {})),
        )
        for i, b in enumerate(b for b in message.content if b.type == "tool_use")
    ]
    return wire.ChatCompletion(
        id=message.id,
        object="chat.completion",
        model=message.model,
        choices=[
            wire.Choice(
                message=wire.ResponseMessage(
                    content=text if text or not calls else None,
                    reasoning_content=thinking or None,
                    reasoning_blocks=_reasoning_blocks(message) or None,
                    tool_calls=calls or None,
                ),
                finish_reason=STOP_REASONS.get(message.stop_reason or "", message.stop_reason),
                **_stop_reason(message.stop_reason),
            )
        ],
        usage=_usage(message.usage),
    )


def _stop_reason(reason: str | None) -> dict[str, str]:
    """The ``stop_reason`` member a translated choice keeps, as sent (none without one)."""
    return {"stop_reason": reason} if reason else {}


class MessageEventTranslator:
    """Translates a Messages event stream into chat-completion chunks, event by event.

    A ``tool_use`` block's ``index`` counts tool calls, not content blocks; thinking
    blocks become ``reasoning_blocks`` fragments; usage arrives in a final usage-only
    chunk (``choices == []``) unless ``include_usage`` is False.
    """

    def __init__(self, *, include_usage: bool = True) -> None:
        self._include_usage = include_usage
        self._id: str | None = None
        self._model: str | None = None
        self._usage = wire.MessagesUsage()
        self._tool_index: dict[int, int] = {}
        # Inputs sent whole in content_block_start, by block index, sent at content_block_stop.
        self._whole_input: dict[int, Any] = {}

    def _chunk(
        self,
        delta: wire.Delta | None = None,
        finish_reason: str | None = None,
        usage: wire.Usage | None = None,
        stop_reason: str | None = None,
    ) -> wire.ChatCompletionChunk:
        choices = (
            [
                wire.ChunkChoice(
                    delta=delta or wire.Delta(),
                    finish_reason=finish_reason,
                    **_stop_reason(stop_reason),
                )
            ]
            if delta is not None or finish_reason is not None
            else []
        )
        return wire.ChatCompletionChunk(
            id=self._id,
            object="chat.completion.chunk",
            model=self._model,
            choices=choices,
            usage=usage,
        )

    def _merge_usage(self, usage: wire.MessagesUsage | None) -> None:
        if usage is None:
            return
        for name, value in usage.model_dump(exclude_none=True).items():
            if isinstance(value, int):
                setattr(self._usage, name, value)

    def translate(self, event: wire.MessageStreamEvent) -> wire.ChatCompletionChunk | None:
        """The chunk one event amounts to, or None (block stops, empty deltas, pings)."""
        if event.type == "message_start" and event.message is not None:
            self._id, self._model = event.message.id, event.message.model
            self._merge_usage(event.message.usage)
            return self._chunk(wire.Delta(role="assistant", content=""))
        if event.type == "content_block_start" and event.content_block is not None:
            block = event.content_block
            if block.type in ("thinking", "redacted_thinking"):
                fragment = wire.ReasoningBlock(
                    type=block.type,
                    index=event.index,
                    thinking=block.thinking or None,
                    signature=block.signature or None,
                    data=block.data,
                )
                return self._chunk(
                    wire.Delta(
                        reasoning_content=block.thinking or None, reasoning_blocks=[fragment]
                    )
                )
            if block.type != "tool_use":
                return None
            index = self._tool_index.setdefault(event.index or 0, len(self._tool_index))
            if block.input:
                self._whole_input[event.index or 0] = block.input
            call = wire.ResponseToolCall(
                index=index,
                id=block.id,
                type="function",
                function=wire.ResponseFunctionCall(name=block.name, arguments=""),
            )
            return self._chunk(wire.Delta(tool_calls=[call]))
        if event.type == "content_block_stop":
            whole = self._whole_input.pop(event.index or 0, None)
            if whole is None:
                return None
            index = self._tool_index.setdefault(event.index or 0, len(self._tool_index))
            arguments = json.dumps(whole, ensure_ascii=False)
            call = wire.ResponseToolCall(
                index=index, function=wire.ResponseFunctionCall(arguments=arguments)
            )
            return self._chunk(wire.Delta(tool_calls=[call]))
        if event.type == "content_block_delta" and event.delta is not None:
            delta = event.delta
            if delta.type == "text_delta" and delta.text:
                return self._chunk(wire.Delta(content=delta.text))
            if delta.type == "thinking_delta" and delta.thinking:
                fragment = wire.ReasoningBlock(
                    type="thinking", index=event.index, thinking=delta.thinking
                )
                return self._chunk(
                    wire.Delta(reasoning_content=delta.thinking, reasoning_blocks=[fragment])
                )
            if delta.type == "signature_delta" and delta.signature:
                fragment = wire.ReasoningBlock(
                    type="thinking", index=event.index, signature=delta.signature
                )
                return self._chunk(wire.Delta(reasoning_blocks=[fragment]))
            if delta.type == "input_json_delta" and delta.partial_json:
                self._whole_input.pop(event.index or 0, None)  # the deltas are the input
                index = self._tool_index.setdefault(event.index or 0, len(self._tool_index))
                call = wire.ResponseToolCall(
                    index=index, function=wire.ResponseFunctionCall(arguments=delta.partial_json)
                )
                return self._chunk(wire.Delta(tool_calls=[call]))
            return None
        if event.type == "message_delta":
            self._merge_usage(event.usage)
            reason = event.delta.stop_reason if event.delta is not None else None
            if reason is None:
                return None
            return self._chunk(wire.Delta(), STOP_REASONS.get(reason, reason), stop_reason=reason)
        if event.type == "message_stop":
            return self._chunk(usage=_usage(self._usage)) if self._include_usage else None
        return None


class MessagesAsChatDecoder:
    """Decodes a Messages stream into chat-completion chunks (``api="messages"``)."""

    def __init__(self, settings: ClientSettings, *, include_usage: bool = True) -> None:
        self._events = MessageEventDecoder(settings)
        self._translator = MessageEventTranslator(include_usage=include_usage)

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

    def plain_reply(self, response: httpx2.Response) -> list[ChatCompletionChunk]:
        """A plain Messages reply to a stream request, as chunks."""
        chunks = (self._translator.translate(e) for e in self._events.plain_reply(response))
        return [chunk for chunk in chunks if chunk is not None]

    def end(self) -> ChatCompletionChunk | None:
        """Raise unless the stream finished; the usage chunk if ``message_stop`` was implied."""
        stop = self._events.end()
        return None if stop is None else self._translator.translate(stop)
