"""The Anthropic-style Messages protocol, spoken in chat-completions terms.

ModelsLab serves the same models through ``/chat/completions`` and ``/v1/messages``.
The framework integrations build one request type (:class:`ChatCompletionRequest`)
and read one reply type (:class:`ChatCompletion` / :class:`ChatCompletionChunk`);
this module converts both ways so that choosing the Messages protocol is one
argument, and the conversion exists once, here.

Features that exist on only one protocol are refused with a ``ValueError`` naming
them instead of being dropped: ``n > 1``, ``seed``, ``frequency_penalty``,
``presence_penalty``, ``response_format`` and ``stream_options`` have no Messages
counterpart; the Messages protocol caps ``temperature`` at 1.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from modelslab_transport import wire
from modelslab_transport.chat.tool_calls import parse_tool_arguments
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.replies import MessageEventDecoder
from modelslab_transport.wire.chat import ChatCompletionChunk
from modelslab_transport.wire.protocols import CHAT_ONLY_PARAMS, check_messages_params

if TYPE_CHECKING:
    import httpx2
    from httpx2 import ServerSentEvent

__all__ = [
    "STOP_REASONS",
    "MessageEventTranslator",
    "MessagesAsChatDecoder",
    "chat_request_to_count_tokens",
    "chat_request_to_messages",
    "count_tokens_request",
    "message_to_completion",
]

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Messages ``stop_reason`` -> chat-completions ``finish_reason``.

Reasons without a chat-completions counterpart (``pause_turn``,
``model_context_window_exceeded``) pass as sent; :mod:`modelslab_transport.chat.completeness`
reads them all.
"""


def _image_block(part: wire.ImagePart) -> wire.ImageBlockParam:
    url = part.image_url.url
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0] or "image/png"
        if ";base64" not in header:
            data = base64.b64encode(data.encode()).decode()
        return wire.ImageBlockParam(
            source=wire.ImageSource(type="base64", media_type=media_type, data=data)
        )
    return wire.ImageBlockParam(source=wire.ImageSource(type="url", url=url))


def _part_block(part: wire.ContentPart) -> wire.TextBlockParam | wire.ImageBlockParam:
    return (
        _image_block(part)
        if isinstance(part, wire.ImagePart)
        else wire.TextBlockParam(text=part.text)
    )


def _reasoning_block(
    block: wire.SignedReasoning,
) -> wire.ThinkingBlockParam | wire.RedactedThinkingBlockParam:
    if block.type == "redacted_thinking":
        assert block.data is not None  # checked by SignedReasoning
        return wire.RedactedThinkingBlockParam(data=block.data)
    assert block.signature is not None  # checked by SignedReasoning
    return wire.ThinkingBlockParam(thinking=block.thinking or "", signature=block.signature)


_REASONING_BLOCKS = (wire.ThinkingBlockParam, wire.RedactedThinkingBlockParam)


def _blocks(message: wire.ChatMessage) -> list[wire.RequestBlock]:
    blocks: list[wire.RequestBlock] = []
    if message.tool_calls:
        # Signed thinking opens the assistant turn that calls tools (see
        # modelslab_transport.chat.reasoning_history); elsewhere the API does not need it.
        blocks += [_reasoning_block(block) for block in message.signed_reasoning or []]
    if isinstance(message.content, str):
        if message.content:
            blocks.append(wire.TextBlockParam(text=message.content))
    elif message.content is not None:
        blocks += [_part_block(part) for part in message.content]
    for call in message.tool_calls or []:
        blocks.append(
            wire.ToolUseBlockParam(
                id=call.id,
                name=call.function.name,
                input=parse_tool_arguments(call.function.arguments),
            )
        )
    return blocks


def _tool_result(message: wire.ChatMessage) -> wire.ToolResultBlockParam:
    assert message.tool_call_id is not None  # checked by ChatMessage
    content: Any = (
        message.content
        if isinstance(message.content, str)
        else [_part_block(part) for part in message.content or []]
    )
    return wire.ToolResultBlockParam(
        tool_use_id=message.tool_call_id, content=content, is_error=message.is_error or None
    )


def _system_and_turns(
    messages: Iterable[wire.ChatMessage],
) -> tuple[str | None, list[wire.MessageParam]]:
    """Split off system text and merge consecutive same-role turns, as Messages wants."""
    system: list[str] = []
    turns: list[wire.MessageParam] = []
    for message in messages:
        if message.role in ("system", "developer"):
            text = (
                message.content
                if isinstance(message.content, str)
                else "".join(
                    p.text for p in message.content or [] if not isinstance(p, wire.ImagePart)
                )
            )
            system.append(text)
            continue
        role = "assistant" if message.role == "assistant" else "user"
        blocks: list[wire.RequestBlock] = (
            [_tool_result(message)] if message.role == "tool" else _blocks(message)
        )
        if not blocks:
            blocks = [wire.TextBlockParam(text="")]
        if turns and turns[-1].role == role:
            previous = turns[-1].content
            assert isinstance(previous, list)
            # Reasoning blocks stay at the start of the merged turn.
            reasoning = [b for b in blocks if isinstance(b, _REASONING_BLOCKS)]
            opening = 0
            while opening < len(previous) and isinstance(previous[opening], _REASONING_BLOCKS):
                opening += 1
            previous[opening:opening] = reasoning
            previous.extend(b for b in blocks if not isinstance(b, _REASONING_BLOCKS))
        else:
            turns.append(wire.MessageParam(role=role, content=blocks))
    return ("\n\n".join(system) if system else None), turns


def _tool_choice(request: wire.ChatCompletionRequest) -> dict[str, Any] | None:
    choice = request.tool_choice
    converted: dict[str, Any] | None
    if choice is None:
        converted = None
    elif choice == "auto":
        converted = {"type": "auto"}
    elif choice == "required":
        converted = {"type": "any"}
    elif choice == "none":
        converted = {"type": "none"}
    elif isinstance(choice, dict):
        converted = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise ValueError(f"tool_choice {choice!r} has no Messages equivalent")
    if request.parallel_tool_calls is False:
        converted = {**(converted or {"type": "auto"}), "disable_parallel_tool_use": True}
    return converted


def _refuse_chat_only(request: wire.ChatCompletionRequest) -> None:
    # getattr finds pass-through (extra) parameters such as ``logprobs`` too.
    names = (*CHAT_ONLY_PARAMS, "n", "temperature")
    check_messages_params({name: getattr(request, name, None) for name in names})


def _messages_tool(tool: wire.Tool) -> wire.MessagesTool:
    return wire.MessagesTool(
        name=tool.function.name,
        description=tool.function.description,
        input_schema=tool.function.parameters,
        strict=tool.function.strict,
    )


def _tools(tools: Iterable[wire.Tool] | None) -> list[wire.MessagesTool] | None:
    return [_messages_tool(tool) for tool in tools or []] or None


def chat_request_to_messages(request: wire.ChatCompletionRequest) -> wire.MessagesRequest:
    """Express a chat-completions request as a Messages request.

    System and developer messages become ``system``; tool results become
    ``tool_result`` blocks in a user turn; assistant tool calls become ``tool_use``
    blocks, preceded by the turn's signed ``thinking`` / ``redacted_thinking`` blocks;
    consecutive turns of one role are merged. A tool's ``strict`` flag is kept. Extra
    (pass-through) parameters are kept.

    Raises:
        ValueError: for parameters the Messages protocol does not have (see module doc),
            or a conversation of system messages only (no turn to send).
    """
    _refuse_chat_only(request)
    system, turns = _system_and_turns(request.messages)
    if not turns:
        raise ValueError(
            f"api='messages' needs a user turn, and these {len(request.messages)} "
            "message(s) are all system prompts, which the Messages protocol sends apart "
            "(in 'system'): add the user's message after them, or use "
            "api='chat_completions', which sends a system-only conversation as it is"
        )
    stop = [request.stop] if isinstance(request.stop, str) else request.stop
    extra = request.model_extra or {}
    return wire.MessagesRequest(
        model=request.model,
        max_tokens=request.max_tokens,
        messages=turns,
        system=system,
        temperature=request.temperature,
        top_p=request.top_p,
        stop_sequences=stop or None,
        tools=_tools(request.tools),
        tool_choice=_tool_choice(request),
        **extra,
    )


def chat_request_to_count_tokens(request: wire.ChatCompletionRequest) -> wire.CountTokensRequest:
    """The count_tokens request for the input of a chat-completions request (tools included)."""
    return count_tokens_request(request.model, request.messages, request.tools)


def count_tokens_request(
    model: str, messages: Iterable[wire.ChatMessage], tools: Iterable[wire.Tool] | None = None
) -> wire.CountTokensRequest:
    """The count_tokens request for a conversation in chat-completions terms.

    What the framework integrations send to count a prompt exactly: system messages
    become ``system``, the turns and tools are expressed as on ``/v1/messages``.
    """
    system, turns = _system_and_turns(messages)
    return wire.CountTokensRequest(model=model, messages=turns, system=system, tools=_tools(tools))


def _usage(usage: wire.MessagesUsage | None) -> wire.Usage | None:
    if usage is None:
        return None
    prompt = (
        (usage.input_tokens or 0)
        + (usage.cache_read_input_tokens or 0)
        + (usage.cache_creation_input_tokens or 0)
    )
    # OpenAI's prompt_tokens_details has cached_tokens (tokens read from the cache);
    # the tokens written to it, which Anthropic counts apart, go beside them as
    # cache_creation_tokens. Both are also counted in prompt_tokens.
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
    """Express a Messages reply as a chat completion.

    Thinking text becomes ``reasoning_content``; the thinking and redacted-thinking
    blocks themselves (signatures, encrypted data) are kept in ``reasoning_blocks``.
    """
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
            )
        ],
        usage=_usage(message.usage),
    )


class MessageEventTranslator:
    """Translates a Messages event stream into chat-completion chunks, event by event.

    Text deltas become content deltas; a ``tool_use`` block becomes a tool call whose
    ``index`` counts tool calls (not content blocks), its input JSON fragments become
    argument fragments (an input sent whole in ``content_block_start``, with no
    ``input_json_delta``, becomes the arguments at ``content_block_stop``); thinking
    and redacted-thinking blocks become ``reasoning_blocks`` fragments keyed by the
    block's index (``thinking_delta`` text also as ``reasoning_content``,
    ``signature_delta`` as the block's signature); ``message_delta`` gives the finish
    reason; the usage from ``message_start`` and ``message_delta`` arrives in a final
    usage-only chunk (``choices == []``), as with ``stream_options.include_usage``,
    unless ``include_usage`` is False.
    """

    def __init__(self, *, include_usage: bool = True) -> None:
        self._include_usage = include_usage
        self._id: str | None = None
        self._model: str | None = None
        self._usage = wire.MessagesUsage()
        self._tool_index: dict[int, int] = {}
        # tool_use blocks whose input came whole in content_block_start, by block index:
        # sent as the arguments at content_block_stop unless input_json_delta came first.
        self._whole_input: dict[int, Any] = {}

    def _chunk(
        self,
        delta: wire.Delta | None = None,
        finish_reason: str | None = None,
        usage: wire.Usage | None = None,
    ) -> wire.ChatCompletionChunk:
        choices = (
            [wire.ChunkChoice(delta=delta or wire.Delta(), finish_reason=finish_reason)]
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
            return self._chunk(wire.Delta(), STOP_REASONS.get(reason, reason))
        if event.type == "message_stop":
            return self._chunk(usage=_usage(self._usage)) if self._include_usage else None
        return None


class MessagesAsChatDecoder:
    """Decodes a Messages stream into chat-completion chunks (``api="messages"``).

    ``include_usage=False`` (a request without ``stream_options.include_usage``)
    leaves out the final usage-only chunk.
    """

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
