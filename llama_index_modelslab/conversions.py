"""LlamaIndex messages, tools and responses <-> ModelsLab chat-completions wire types.

Everything here is pure data conversion: no HTTP, no I/O. Requests go one way
(LlamaIndex ``ChatMessage``/``BaseTool`` -> wire ``ChatMessage``/``Tool``), replies the
other (wire ``ChatCompletion``/``ChatCompletionChunk`` -> ``ChatResponse``).

An assistant message that calls tools carries them twice, as LlamaIndex expects of a
function-calling LLM: as :class:`~llama_index.core.base.llms.types.ToolCallBlock`
blocks (what agents and :meth:`ModelsLabLLM.get_tool_calls_from_response` read) and as
OpenAI-shaped dicts in ``additional_kwargs["tool_calls"]`` (what older LlamaIndex
components such as the streaming structured-output program look for).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    BaseRecursiveContentBlock,
    CachePoint,
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection

from modelslab_transport.accumulate import ChatStreamAccumulator
from modelslab_transport.tooling import ToolArgumentsError, parse_partial_json, parse_tool_arguments
from modelslab_transport.wire.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ContentPart,
    FunctionCall,
    FunctionDefinition,
    ImagePart,
    ImageURL,
    ResponseToolCall,
    TextPart,
    Tool,
    ToolCall,
    Usage,
)
from modelslab_transport.wire.chat import ChatMessage as WireMessage

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = [
    "StreamConverter",
    "completion_response_from_chat",
    "completion_to_response",
    "keep_first_tool_call",
    "message_to_wire",
    "messages_to_wire",
    "tool_selections",
    "tool_to_wire",
    "usage_to_kwargs",
]

_WIRE_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "developer",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
}
_IMAGE_DETAILS = ("auto", "low", "high")


# ------------------------------------------------------------------- requests


def messages_to_wire(messages: Sequence[ChatMessage]) -> list[WireMessage]:
    """Convert a LlamaIndex conversation into chat-completions messages.

    The input messages are not modified.

    Raises:
        ValueError: for a block the chat-completions API cannot carry (audio, video,
            documents) or a tool result that names no ``tool_call_id``.
    """
    return [message_to_wire(message) for message in messages]


def message_to_wire(message: ChatMessage) -> WireMessage:
    """One LlamaIndex message as a wire message (tool calls and image blocks included)."""
    role = _WIRE_ROLES.get(message.role, "user")
    parts = _content_parts(message.blocks)
    content: str | list[ContentPart] | None
    if all(isinstance(part, TextPart) for part in parts):
        content = "\n".join(part.text for part in parts if isinstance(part, TextPart))
    else:
        content = parts
    fields: dict[str, Any] = {"role": role, "content": content}
    name = message.additional_kwargs.get("name")
    if isinstance(name, str) and name:
        fields["name"] = name
    if role == "assistant":
        calls = _wire_tool_calls(message)
        if calls:
            fields["tool_calls"] = calls
            if content == "":
                fields["content"] = None
    elif role == "tool":
        call_id = message.additional_kwargs.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise ValueError(
                "a tool-result message needs additional_kwargs['tool_call_id'] naming the "
                "tool call it answers"
            )
        fields["tool_call_id"] = call_id
    return WireMessage(**fields)


def _content_parts(blocks: Iterable[Any]) -> list[ContentPart]:
    parts: list[ContentPart] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            parts.append(TextPart(text=block.text))
        elif isinstance(block, ImageBlock):
            url = str(block.url) if block.url is not None else block.inline_url()
            detail = block.detail if block.detail in _IMAGE_DETAILS else None
            parts.append(ImagePart(image_url=ImageURL(url=url, detail=detail)))
        elif isinstance(block, BaseRecursiveContentBlock):
            parts.extend(_content_parts(block.nested_blocks))
        elif isinstance(block, (ToolCallBlock, ThinkingBlock, CachePoint)):
            continue  # tool calls travel separately; reasoning and cache hints are not sent
        else:
            kind = getattr(block, "block_type", type(block).__name__)
            raise ValueError(
                f"ModelsLab chat completions accept text and image content, not {kind!r} blocks"
            )
    return parts


def _wire_tool_calls(message: ChatMessage) -> list[ToolCall]:
    blocks = [block for block in message.blocks if isinstance(block, ToolCallBlock)]
    if blocks:
        return [
            ToolCall(
                id=block.tool_call_id or _fallback_call_id(None, index, block.tool_name),
                function=FunctionCall(name=block.tool_name, arguments=_arguments_text(block)),
            )
            for index, block in enumerate(blocks)
        ]
    legacy = message.additional_kwargs.get("tool_calls") or []
    return [_legacy_tool_call(call, index) for index, call in enumerate(legacy)]


def _arguments_text(block: ToolCallBlock) -> str:
    if isinstance(block.tool_kwargs, str):
        return block.tool_kwargs
    return json.dumps(block.tool_kwargs, ensure_ascii=False)


def _legacy_tool_call(call: Any, index: int) -> ToolCall:
    """A tool call from ``additional_kwargs["tool_calls"]``: a dict or an SDK-like object."""
    data = call.model_dump() if hasattr(call, "model_dump") else call
    if not isinstance(data, dict):
        raise ValueError(f"unrecognised tool call in additional_kwargs: {call!r}")
    function = data.get("function") or {}
    name = str(function.get("name") or "")
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments or {}, ensure_ascii=False)
    call_id = data.get("id") or _fallback_call_id(None, index, name)
    return ToolCall(id=str(call_id), function=FunctionCall(name=name, arguments=arguments))


def tool_to_wire(tool: BaseTool, *, strict: bool | None = None) -> Tool:
    """Describe a LlamaIndex tool as a chat-completions function tool."""
    metadata = tool.metadata
    if not metadata.name:
        raise ValueError(f"tool {tool!r} has no name; give it one to offer it to the model")
    return Tool(
        function=FunctionDefinition(
            name=metadata.name,
            description=metadata.description or None,
            parameters=metadata.get_parameters_dict(),
            strict=strict,
        )
    )


# -------------------------------------------------------------------- replies


def usage_to_kwargs(usage: Usage | None) -> dict[str, int]:
    """Token counts in the flat shape LlamaIndex users read from ``additional_kwargs``."""
    if usage is None:
        return {}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total,
    }


def _fallback_call_id(completion_id: str | None, index: int, name: str) -> str:
    """A stable id for a tool call the server sent without one.

    No randomness, so that a conversation replays to the same request bodies.
    """
    digest = hashlib.sha256(f"{completion_id}|{index}|{name}".encode()).hexdigest()
    return f"call_{digest[:24]}"


def _tool_kwargs(arguments: str) -> dict[str, Any] | str:
    """Parsed arguments once they form a complete JSON object, else the raw text."""
    try:
        return parse_tool_arguments(arguments)
    except ToolArgumentsError:
        return arguments


def _assistant_message(
    text: str,
    reasoning: str | None,
    calls: Sequence[ResponseToolCall],
    completion_id: str | None,
) -> ChatMessage:
    blocks: list[Any] = []
    if reasoning:
        blocks.append(ThinkingBlock(content=reasoning))
    if text or not calls:
        blocks.append(TextBlock(text=text))
    legacy: list[dict[str, Any]] = []
    for position, call in enumerate(calls):
        index = call.index if call.index is not None else position
        name = call.function.name or ""
        call_id = call.id or _fallback_call_id(completion_id, index, name)
        arguments = call.function.arguments or ""
        blocks.append(
            ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=_tool_kwargs(arguments))
        )
        legacy.append(
            {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        )
    extra: dict[str, Any] = {"tool_calls": legacy} if legacy else {}
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def completion_to_response(completion: ChatCompletion) -> ChatResponse:
    """A ``ChatResponse`` for a whole (non-streamed) completion.

    ``raw`` is the wire completion; ``additional_kwargs`` holds the token counts.
    """
    if completion.choices:
        reply = completion.choices[0].message
        message = _assistant_message(
            reply.text, reply.reasoning_content, reply.tool_calls or [], completion.id
        )
    else:
        message = _assistant_message("", None, [], completion.id)
    return ChatResponse(
        message=message, raw=completion, additional_kwargs=usage_to_kwargs(completion.usage)
    )


class StreamConverter:
    """Turns each streamed chunk into the ``ChatResponse`` LlamaIndex yields for it.

    Every response carries the whole message so far (text, reasoning, tool calls whose
    arguments may still be partial JSON), the text this chunk added as ``delta``, the
    chunk as ``raw``, and, once the server has sent them, the token counts.
    """

    def __init__(self) -> None:
        self._accumulator = ChatStreamAccumulator()
        # Running strings, not lists joined per chunk: every response needs the whole
        # text, and one copy of it is cheaper than joining every piece again.
        self._text = ""
        self._reasoning = ""

    def add(self, chunk: ChatCompletionChunk) -> ChatResponse:
        """Fold ``chunk`` in and return the response to yield for it."""
        self._accumulator.add(chunk)
        delta = ""
        for choice in chunk.choices:
            if choice.index == 0:
                delta = choice.delta.text
                if delta:
                    self._text += delta
                if choice.delta.reasoning_content:
                    self._reasoning += choice.delta.reasoning_content
        message = _assistant_message(
            self._text,
            self._reasoning or None,
            self._accumulator.tool_calls(0),
            self._accumulator.id,
        )
        return ChatResponse(
            message=message,
            delta=delta,
            raw=chunk,
            additional_kwargs=usage_to_kwargs(self._accumulator.usage),
        )


def completion_response_from_chat(response: ChatResponse) -> CompletionResponse:
    """The ``CompletionResponse`` that ``complete`` returns for a chat reply."""
    return CompletionResponse(
        text=response.message.content or "",
        raw=response.raw,
        additional_kwargs=response.additional_kwargs,
        delta=response.delta,
        logprobs=response.logprobs,
    )


# ----------------------------------------------------------------- tool calls


def tool_selections(message: ChatMessage) -> list[ToolSelection]:
    """The tool calls a message makes, as LlamaIndex ``ToolSelection`` objects.

    Never raises on bad arguments: complete JSON is parsed strictly, anything else
    (a stream still running, a model that wrote broken JSON) leniently, keeping what
    can be read.
    """
    blocks = [block for block in message.blocks if isinstance(block, ToolCallBlock)]
    if not blocks:
        blocks = [
            ToolCallBlock(
                tool_call_id=call.id,
                tool_name=call.function.name,
                tool_kwargs=call.function.arguments,
            )
            for call in _wire_tool_calls(message)
        ]
    selections: list[ToolSelection] = []
    for index, block in enumerate(blocks):
        raw = block.tool_kwargs
        kwargs = raw if isinstance(raw, dict) else _lenient_arguments(raw)
        selections.append(
            ToolSelection(
                tool_id=block.tool_call_id or _fallback_call_id(None, index, block.tool_name),
                tool_name=block.tool_name,
                tool_kwargs=kwargs,
            )
        )
    return selections


def _lenient_arguments(text: str) -> dict[str, Any]:
    """Complete JSON strictly, partial or broken JSON as far as it can be read."""
    try:
        return parse_tool_arguments(text)
    except ToolArgumentsError:
        return parse_partial_json(text)


def keep_first_tool_call(response: ChatResponse) -> ChatResponse:
    """Drop every tool call after the first (when parallel calls were not allowed)."""
    message = response.message
    blocks = [block for block in message.blocks if isinstance(block, ToolCallBlock)]
    if len(blocks) <= 1:
        return response
    first = blocks[0]
    kept = [b for b in message.blocks if not isinstance(b, ToolCallBlock) or b is first]
    extra = dict(message.additional_kwargs)
    if isinstance(extra.get("tool_calls"), list):
        extra["tool_calls"] = extra["tool_calls"][:1]
    trimmed = message.model_copy(update={"blocks": kept, "additional_kwargs": extra})
    return response.model_copy(update={"message": trimmed})
