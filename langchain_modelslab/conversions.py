"""LangChain messages <-> ModelsLab chat-completions wire types.

One direction turns LangChain's message history into :class:`ChatMessage` objects
(text, images as ``image_url`` parts, tool calls and tool results); the other turns
a :class:`ChatCompletion` or a stream of :class:`ChatCompletionChunk` objects into
LangChain messages with ``tool_calls``, ``usage_metadata`` and ``response_metadata``.
Nothing here sends a request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCallChunk,
    ToolMessage,
)
from langchain_core.messages import ChatMessage as LangChainChatMessage
from langchain_core.messages import ToolCall as LangChainToolCall
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.block_translators.openai import convert_to_openai_image_block
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from modelslab_transport.accumulate import ChatStreamAccumulator, ToolCallDelta
from modelslab_transport.tooling import ToolArgumentsError, parse_tool_arguments
from modelslab_transport.wire.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatMessage,
    ContentPart,
    FunctionCall,
    ImagePart,
    ImageURL,
    ResponseToolCall,
    TextPart,
    ToolCall,
    Usage,
)

__all__ = [
    "MODEL_PROVIDER",
    "StreamConverter",
    "completion_to_result",
    "message_to_wire",
    "messages_to_wire",
    "usage_to_metadata",
]

MODEL_PROVIDER = "modelslab"
"""The ``model_provider`` written into every message's ``response_metadata``."""

_ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant"}
_WIRE_ROLES = ("system", "developer", "user", "assistant", "tool")
_SKIPPED_IN_ASSISTANT = ("tool_use", "tool_call", "thinking", "reasoning", "redacted_thinking")

# ------------------------------------------------------------- LangChain -> wire


def _image_part(block: dict[str, Any]) -> ImagePart:
    """An ``image_url`` part from any of the image block shapes LangChain users write."""
    if block.get("type") == "image_url":
        image_url = block["image_url"]
        if isinstance(image_url, str):
            return ImagePart(image_url=ImageURL(url=image_url))
        return ImagePart(image_url=ImageURL(url=image_url["url"], detail=image_url.get("detail")))
    source = block.get("source")
    if isinstance(source, dict):  # Anthropic shape
        if source.get("type") == "base64":
            url = f"data:{source['media_type']};base64,{source['data']}"
        elif source.get("type") == "url":
            url = source["url"]
        else:
            raise ValueError(f"unsupported image source type {source.get('type')!r}")
        return ImagePart(image_url=ImageURL(url=url))
    converted = convert_to_openai_image_block(block)  # LangChain standard blocks
    return ImagePart(image_url=ImageURL(url=converted["image_url"]["url"]))


def _content_parts(content: str | list[str | dict[str, Any]], role: str) -> list[ContentPart]:
    if isinstance(content, str):
        return [TextPart(text=content)]
    parts: list[ContentPart] = []
    for block in content:
        if isinstance(block, str):
            parts.append(TextPart(text=block))
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(TextPart(text=block.get("text", "")))
        elif kind in ("image", "image_url"):
            parts.append(_image_part(block))
        elif role == "assistant" and kind in _SKIPPED_IN_ASSISTANT:
            continue  # tool calls travel in tool_calls; reasoning is not sent back
        else:
            raise ValueError(
                f"ModelsLab chat completions take text and image content; a {role} message "
                f"has a {kind!r} block"
            )
    return parts


def _collapse(parts: list[ContentPart]) -> str | list[ContentPart]:
    """Plain text as one string (what every server accepts); a list only with images."""
    if all(isinstance(part, TextPart) for part in parts):
        return "".join(part.text for part in parts if isinstance(part, TextPart))
    return parts


def _text_only(parts: list[ContentPart], role: str) -> str:
    collapsed = _collapse(parts)
    if not isinstance(collapsed, str):
        raise ValueError(f"ModelsLab chat completions take no images in a {role} message")
    return collapsed


def _wire_tool_calls(message: AIMessage) -> list[ToolCall] | None:
    calls = [
        ToolCall(
            id=call["id"] or f"call_{index}",
            function=FunctionCall(
                name=call["name"], arguments=json.dumps(call["args"], ensure_ascii=False)
            ),
        )
        for index, call in enumerate(message.tool_calls)
    ]
    calls += [
        ToolCall(
            id=call["id"] or f"call_{len(calls) + index}",
            function=FunctionCall(name=call["name"] or "", arguments=call["args"] or ""),
        )
        for index, call in enumerate(message.invalid_tool_calls)
    ]
    return calls or None


def message_to_wire(message: BaseMessage) -> ChatMessage:
    """One LangChain message as a chat-completions message.

    Raises:
        ValueError: for message types or content blocks chat completions cannot carry
            (audio, files, images outside user messages).
    """
    name = message.name or None
    if isinstance(message, SystemMessage):
        text = _text_only(_content_parts(message.content, "system"), "system")
        return ChatMessage(role="system", content=text, name=name)
    if isinstance(message, HumanMessage):
        content = _collapse(_content_parts(message.content, "user"))
        return ChatMessage(role="user", content=content, name=name)
    if isinstance(message, AIMessage):
        text = _text_only(_content_parts(message.content, "assistant"), "assistant")
        calls = _wire_tool_calls(message)
        return ChatMessage(
            role="assistant",
            content=text if text or not calls else None,
            tool_calls=calls,
            name=name,
        )
    if isinstance(message, ToolMessage):
        text = _text_only(_content_parts(message.content, "tool"), "tool")
        return ChatMessage(role="tool", content=text, tool_call_id=message.tool_call_id)
    if isinstance(message, LangChainChatMessage):
        role = _ROLES.get(message.role, message.role)
        if role not in _WIRE_ROLES:
            raise ValueError(f"ModelsLab has no chat role {message.role!r}")
        content = _collapse(_content_parts(message.content, role))
        return ChatMessage.model_validate({"role": role, "content": content, "name": name})
    raise ValueError(f"ModelsLab chat completions cannot send a {type(message).__name__}")


def messages_to_wire(messages: Sequence[BaseMessage]) -> list[ChatMessage]:
    """A LangChain message history as chat-completions messages, in order."""
    return [message_to_wire(message) for message in messages]


# ------------------------------------------------------------- wire -> LangChain


def usage_to_metadata(usage: Usage) -> UsageMetadata:
    """Wire token counts as LangChain ``usage_metadata`` (with cache/reasoning details)."""
    metadata = UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total,
    )
    cached = (usage.prompt_tokens_details or {}).get("cached_tokens")
    if isinstance(cached, int):
        metadata["input_token_details"] = InputTokenDetails(cache_read=cached)
    reasoning = (usage.completion_tokens_details or {}).get("reasoning_tokens")
    if isinstance(reasoning, int):
        metadata["output_token_details"] = OutputTokenDetails(reasoning=reasoning)
    return metadata


def _tool_calls(
    calls: list[ResponseToolCall],
) -> tuple[list[LangChainToolCall], list[InvalidToolCall]]:
    valid: list[LangChainToolCall] = []
    invalid: list[InvalidToolCall] = []
    for index, call in enumerate(calls):
        name = call.function.name or ""
        call_id = call.id or f"call_{index}"
        try:
            args = parse_tool_arguments(call.function.arguments)
        except ToolArgumentsError as exc:
            invalid.append(
                invalid_tool_call(
                    name=name, args=call.function.arguments, id=call_id, error=str(exc)
                )
            )
        else:
            valid.append(tool_call(name=name, args=args, id=call_id))
    return valid, invalid


def _response_metadata(
    model: str | None, completion_id: str | None, fingerprint: str | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"model_provider": MODEL_PROVIDER}
    if model:
        metadata["model_name"] = model
    if completion_id:
        metadata["id"] = completion_id
    if fingerprint:
        metadata["system_fingerprint"] = fingerprint
    return metadata


def completion_to_result(completion: ChatCompletion, *, requested_model: str) -> ChatResult:
    """A whole chat completion as a LangChain ``ChatResult`` (one generation per choice).

    ``usage_metadata`` goes on the first generation's message (it counts the whole
    request); ``llm_output`` carries the raw ``token_usage`` and the model name.
    """
    model = completion.model or requested_model
    generations: list[ChatGeneration] = []
    for position, choice in enumerate(completion.choices):
        valid, invalid = _tool_calls(choice.message.tool_calls or [])
        extra: dict[str, Any] = {}
        if choice.message.reasoning_content:
            extra["reasoning_content"] = choice.message.reasoning_content
        message = AIMessage(
            content=choice.message.text,
            additional_kwargs=extra,
            tool_calls=valid,
            invalid_tool_calls=invalid,
            usage_metadata=(
                usage_to_metadata(completion.usage)
                if completion.usage is not None and position == 0
                else None
            ),
            response_metadata=_response_metadata(
                model, completion.id, completion.system_fingerprint
            ),
            id=completion.id,
        )
        info: dict[str, Any] = {"finish_reason": choice.finish_reason}
        if choice.logprobs is not None:
            info["logprobs"] = choice.logprobs
        generations.append(ChatGeneration(message=message, generation_info=info))
    llm_output: dict[str, Any] = {"model_name": model, "model_provider": MODEL_PROVIDER}
    if completion.usage is not None:
        llm_output["token_usage"] = completion.usage.model_dump(exclude_none=True)
    if completion.system_fingerprint:
        llm_output["system_fingerprint"] = completion.system_fingerprint
    return ChatResult(generations=generations, llm_output=llm_output)


def _tool_call_chunk(delta: ToolCallDelta) -> ToolCallChunk:
    """A LangChain tool-call chunk for what one wire chunk added to one call.

    The chunk that begins a call carries its id (or ``call_<index>``); later ones only
    the name and argument text they add, with the index that joins them.
    """
    if delta.started:
        call_id: str | None = delta.id or f"call_{delta.index}"
    else:
        call_id = None
    return tool_call_chunk(
        name=delta.name or None, args=delta.arguments, id=call_id, index=delta.index
    )


class StreamConverter:
    """Turns the chunks of one chat stream into LangChain generation chunks.

    Content, reasoning and tool-call fragments are passed on as they arrive (tool-call
    fragments as ``tool_call_chunks`` with their ``index``, resolved by
    :class:`ChatStreamAccumulator`). ``finish_reason`` rides on the chunk that brought
    it. Usage, model name, id and fingerprint are held back and sent exactly once, by
    :meth:`final_chunk`, so that adding the chunks up never counts or concatenates
    them twice.
    """

    def __init__(self, requested_model: str) -> None:
        self._requested_model = requested_model
        self._accumulator = ChatStreamAccumulator()

    def convert(self, chunk: ChatCompletionChunk) -> list[ChatGenerationChunk]:
        """The generation chunks one wire chunk adds (none for a usage-only chunk)."""
        tool_deltas = self._accumulator.add_with_tool_deltas(chunk)
        converted: list[ChatGenerationChunk] = []
        for choice in chunk.choices:
            delta = choice.delta
            calls = [
                _tool_call_chunk(d)
                for d in tool_deltas
                if d.choice == choice.index and (d.started or d.name or d.arguments)
            ]
            text = delta.text
            if not (text or calls or delta.reasoning_content or choice.finish_reason):
                continue
            # Only non-empty fields are passed: each keyword costs validation, and the
            # empty ones are the defaults anyway (a text chunk is the common case).
            fields: dict[str, Any] = {"response_metadata": {"model_provider": MODEL_PROVIDER}}
            if delta.reasoning_content:
                fields["additional_kwargs"] = {"reasoning_content": delta.reasoning_content}
            if calls:
                fields["tool_call_chunks"] = calls
            message = AIMessageChunk(content=text, **fields)
            info: dict[str, Any] | None = None
            if choice.finish_reason:
                info = {"finish_reason": choice.finish_reason}
                if choice.logprobs is not None:
                    info["logprobs"] = choice.logprobs
            converted.append(ChatGenerationChunk(message=message, generation_info=info))
        return converted

    def final_chunk(self) -> ChatGenerationChunk:
        """The closing chunk: usage (if the server sent any), model name, id, fingerprint."""
        acc = self._accumulator
        message = AIMessageChunk(
            content="",
            usage_metadata=usage_to_metadata(acc.usage) if acc.usage is not None else None,
            response_metadata=_response_metadata(
                acc.model or self._requested_model, acc.id, acc.system_fingerprint
            ),
            chunk_position="last",
        )
        return ChatGenerationChunk(message=message)
