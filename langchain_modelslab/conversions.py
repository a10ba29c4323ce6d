"""LangChain messages <-> ModelsLab chat-completions wire types.

One direction turns LangChain's message history into :class:`ChatMessage` objects
(text, images as ``image_url`` parts, tool calls and tool results); the other turns
a :class:`ChatCompletion` or a stream of :class:`ChatCompletionChunk` objects into
LangChain messages with ``tool_calls``, ``usage_metadata`` and ``response_metadata``.
Nothing here sends a request.

Reasoning is kept on the ``AIMessage`` where LangChain users look for it and sent
back where each provider wants it (:mod:`modelslab_transport.chat.reasoning_history`):

* ``additional_kwargs["reasoning_content"]``: the reasoning text (ChatDeepSeek's
  key); ``content_blocks`` shows it as a standard ``reasoning`` block.
* ``additional_kwargs["thinking_blocks"]``: the signed ``thinking`` and
  ``redacted_thinking`` blocks of a Messages reply, in Anthropic's shape
  (``{"type": "thinking", "thinking": ..., "signature": ...}``); ``content_blocks``
  shows them as ``reasoning`` blocks with ``extras["signature"]`` (redacted ones as
  ``non_standard``). ChatAnthropic-style thinking blocks in ``content`` and v1
  ``reasoning`` blocks are read back as well.
* ``additional_kwargs["tool_call_provider_fields"]``: per tool-call id, the fields a
  provider attached to the call beyond id/type/function (Gemini's ``extra_content``),
  sent back unchanged.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    FunctionMessage,
    HumanMessage,
    InvalidToolCall,
    SystemMessage,
    ToolCallChunk,
    ToolMessage,
)
from langchain_core.messages import ChatMessage as LangChainChatMessage
from langchain_core.messages import ToolCall as LangChainToolCall
from langchain_core.messages import content as types
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.block_translators import register_translator
from langchain_core.messages.block_translators.openai import convert_to_openai_image_block
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from modelslab_transport import wire
from modelslab_transport.chat import (
    TOOL_CALL_FIELDS_KEY,
    ChatStreamAccumulator,
    Incompleteness,
    IncompleteReplyError,
    ThinkTagStream,
    ToolCallDelta,
    apply_reasoning_rules,
    incompleteness,
    judge_tool_calls,
    split_completion,
    stored_provider_fields,
)
from modelslab_transport.wire import ChatCompletionChunk

__all__ = [
    "MODEL_PROVIDER",
    "REASONING_KEY",
    "THINKING_BLOCKS_KEY",
    "TOOL_CALL_FIELDS_KEY",
    "StreamConverter",
    "completion_from_wire",
    "message_to_wire",
    "messages_to_wire",
    "tool_cache_control",
    "usage_from_wire",
    "whole_reply_problem",
]

MODEL_PROVIDER = "modelslab"
"""The ``model_provider`` written into every message's ``response_metadata``."""

REASONING_KEY = "reasoning_content"
"""``additional_kwargs`` key of the reasoning text (as ChatDeepSeek and ChatOllama use)."""
THINKING_BLOCKS_KEY = "thinking_blocks"
"""``additional_kwargs`` key of the signed / redacted thinking blocks (Anthropic shape)."""

_ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant"}
_WIRE_ROLES = ("system", "developer", "user", "assistant", "tool")
_SKIPPED_IN_ASSISTANT = ("tool_use", "tool_call", "thinking", "reasoning", "redacted_thinking")

# ------------------------------------------------------------- LangChain -> wire


def tool_cache_control(tool: Any) -> dict[str, Any] | None:
    """A tool's prompt-cache marker, or None.

    Read from a tool dict's ``cache_control`` or a LangChain tool's
    ``extras["cache_control"]``.
    """
    holder = tool if isinstance(tool, dict) else getattr(tool, "extras", None)
    found = holder.get("cache_control") if isinstance(holder, dict) else None
    return dict(found) if isinstance(found, dict) else None


def _cache_control(block: dict[str, Any]) -> dict[str, Any] | None:
    """A block's prompt-cache marker: ``cache_control``, or in a v1 block's ``extras``."""
    found = block.get("cache_control")
    extras = block.get("extras")
    if found is None and isinstance(extras, dict):
        found = extras.get("cache_control")
    return dict(found) if isinstance(found, dict) else None


def _image_part(block: dict[str, Any]) -> wire.ImagePart:
    """An ``image_url`` part from any of the image block shapes LangChain users write."""
    marker = _cache_control(block)
    if block.get("type") == "image_url":
        image_url = block["image_url"]
        if isinstance(image_url, str):
            return wire.ImagePart(image_url=wire.ImageURL(url=image_url), cache_control=marker)
        return wire.ImagePart(
            image_url=wire.ImageURL(url=image_url["url"], detail=image_url.get("detail")),
            cache_control=marker,
        )
    source = block.get("source")
    if isinstance(source, dict):  # Anthropic shape
        if source.get("type") == "base64":
            url = f"data:{source['media_type']};base64,{source['data']}"
        elif source.get("type") == "url":
            url = source["url"]
        else:
            raise ValueError(f"unsupported image source type {source.get('type')!r}")
        return wire.ImagePart(image_url=wire.ImageURL(url=url), cache_control=marker)
    converted = convert_to_openai_image_block(block)  # LangChain standard blocks
    return wire.ImagePart(
        image_url=wire.ImageURL(url=converted["image_url"]["url"]), cache_control=marker
    )


def _filename(block: dict[str, Any]) -> str | None:
    extras = block.get("extras")
    # A v0 block's metadata ends in extras["metadata"] once LangChain normalises it.
    nested = extras.get("metadata") if isinstance(extras, dict) else None
    for holder in (block, extras, block.get("metadata"), nested):
        if isinstance(holder, dict) and isinstance(holder.get("filename"), str):
            return str(holder["filename"])
    title = block.get("title")
    return title if isinstance(title, str) else None


def _data_uri(mime_type: Any, data: str, kind: str) -> str:
    if not isinstance(mime_type, str) or not mime_type:
        raise ValueError(
            f"a {kind!r} block given inline needs its mime_type (e.g. 'application/pdf')"
        )
    return f"data:{mime_type};base64,{data}"


def _text_data_uri(text: str) -> str:
    return "data:text/plain;base64," + base64.b64encode(text.encode()).decode()


def _file_source(block: dict[str, Any]) -> dict[str, str]:
    """``file_data`` / ``file_id`` / ``url`` of a file, text-plain or document block."""
    kind = block.get("type")
    openai = block.get("file")
    if kind == "file" and isinstance(openai, dict):  # OpenAI shape
        return {k: v for k, v in openai.items() if k in ("file_data", "file_id") and v}
    source = block.get("source")
    if kind == "document" and isinstance(source, dict):  # Anthropic shape
        source_type = source.get("type")
        if source_type == "base64":
            return {"file_data": _data_uri(source.get("media_type"), source["data"], kind)}
        if source_type == "text":
            return {"file_data": _text_data_uri(source["data"])}
        if source_type == "url":
            return {"url": source["url"]}
        if source_type == "file":
            return {"file_id": source["file_id"]}
        raise ValueError(f"unsupported document source type {source_type!r}")
    source_type = block.get("source_type")  # LangChain v0 data blocks
    if source_type == "base64" or "base64" in block:
        data = block["data"] if source_type == "base64" else block["base64"]
        return {"file_data": _data_uri(block.get("mime_type"), data, str(kind))}
    if source_type == "id" or "file_id" in block:
        return {"file_id": block["id"] if source_type == "id" else block["file_id"]}
    if kind == "text-plain" and isinstance(block.get("text"), str):
        return {"file_data": _text_data_uri(block["text"])}
    url = block.get("url")
    if isinstance(url, str):
        return {"file_data": url} if url.startswith("data:") else {"url": url}
    raise ValueError(f"a {kind!r} block needs base64 data, a file_id or a url")


def _file_part(block: dict[str, Any]) -> wire.FilePart:
    """A document part from a standard ``file`` / ``text-plain`` block or another shape.

    Also read: OpenAI ``file`` parts and Anthropic ``document`` blocks.
    """
    file = wire.FileData(filename=_filename(block), **_file_source(block))
    return wire.FilePart(file=file, cache_control=_cache_control(block))


def _content_parts(content: str | list[str | dict[str, Any]], role: str) -> list[wire.ContentPart]:
    """Every part of a message's content, as written (each encoder decides what it sends)."""
    if isinstance(content, str):
        return [wire.TextPart(text=content)]
    parts: list[wire.ContentPart] = []
    for block in content:
        if isinstance(block, str):
            parts.append(wire.TextPart(text=block))
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(
                wire.TextPart(text=block.get("text", ""), cache_control=_cache_control(block))
            )
        elif kind in ("image", "image_url"):
            parts.append(_image_part(block))
        elif kind in ("file", "text-plain", "document"):
            parts.append(_file_part(block))
        elif role == "assistant" and kind in _SKIPPED_IN_ASSISTANT:
            continue  # tool calls travel in tool_calls; reasoning is not sent back
        elif kind == "tool_result":
            raise ValueError(
                f"a {role} message has a 'tool_result' block: send each tool result as a "
                "ToolMessage(content, tool_call_id=...) right after the AIMessage that "
                "made the call"
            )
        else:
            raise ValueError(
                f"ModelsLab's chat models take text, image and document content (over "
                f"either api); a {role} message has a {kind!r} block: send its text, or "
                "an image of it"
            )
    return parts


def _collapse(
    parts: list[wire.ContentPart], *, keep_list: bool = False
) -> str | list[wire.ContentPart]:
    """Plain text as one string (what every server accepts), else the parts.

    The parts stay a list when they hold images, documents or cache markers, or with
    ``keep_list`` (a system prompt given as blocks).
    """
    if not keep_list and all(
        isinstance(part, wire.TextPart) and part.cache_control is None for part in parts
    ):
        return "".join(part.text for part in parts if isinstance(part, wire.TextPart))
    return parts


def _wire_tool_calls(message: AIMessage) -> list[wire.ToolCall] | None:
    calls = [
        wire.ToolCall(
            id=call["id"] or "",  # refused by the encoder, naming the call
            function=wire.FunctionCall(
                name=call["name"], arguments=json.dumps(call["args"], ensure_ascii=False)
            ),
            **stored_provider_fields(message.additional_kwargs, call["id"]),
        )
        for call in message.tool_calls
    ]
    calls += [
        wire.ToolCall(
            id=call["id"] or "",
            function=wire.FunctionCall(name=call["name"] or "", arguments=call["args"] or ""),
            **stored_provider_fields(message.additional_kwargs, call["id"]),
        )
        for call in message.invalid_tool_calls
    ]
    calls += _content_block_calls(message, {call.id for call in calls})
    return calls or None


def _content_block_calls(message: AIMessage, known: set[str]) -> list[wire.ToolCall]:
    """Calls held only as ``tool_use`` / ``tool_call`` content blocks (ids not in ``known``).

    ChatAnthropic reads such blocks as calls; a block whose id is in ``known`` is the
    same call as in ``tool_calls``, sent once.
    """
    calls: list[wire.ToolCall] = []
    for block in _content_dicts(message):
        kind = block.get("type")
        if kind not in ("tool_use", "tool_call") or block.get("id") in known:
            continue
        arguments = block.get("input" if kind == "tool_use" else "args") or {}
        calls.append(
            wire.ToolCall(
                id=block.get("id") or "",  # refused by the encoder, naming the call
                function=wire.FunctionCall(
                    name=block.get("name") or "",
                    arguments=arguments
                    if isinstance(arguments, str)
                    else json.dumps(arguments, ensure_ascii=False),
                ),
            )
        )
    return calls


def _content_dicts(message: AIMessage) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return []
    return [block for block in message.content if isinstance(block, dict)]


def _reasoning_text(message: AIMessage) -> str | None:
    """The reasoning to send back: ``additional_kwargs`` first, else content blocks."""
    text = message.additional_kwargs.get(REASONING_KEY)
    if isinstance(text, str):
        return text or None
    pieces = [
        block.get("reasoning") if block.get("type") == "reasoning" else block.get("thinking")
        for block in _content_dicts(message)
        if block.get("type") in ("reasoning", "thinking")
    ]
    return "".join(piece for piece in pieces if isinstance(piece, str)) or None


def _signed_block(block: dict[str, Any]) -> wire.SignedReasoning | None:
    """A signed block in Anthropic's shape or LangChain's v1 ``reasoning`` shape."""
    kind = block.get("type")
    if kind == "redacted_thinking" and isinstance(block.get("data"), str):
        return wire.SignedReasoning(type="redacted_thinking", data=block["data"])
    if kind == "non_standard" and isinstance(block.get("value"), dict):
        return _signed_block(block["value"])
    if kind == "thinking":
        text, signature = block.get("thinking"), block.get("signature")
    elif kind == "reasoning":
        found = block.get("extras")
        extras: dict[str, Any] = found if isinstance(found, dict) else {}
        text, signature = block.get("reasoning"), block.get("signature") or extras.get("signature")
    else:
        return None
    if not isinstance(signature, str) or not signature:
        return None  # unsigned reasoning cannot be sent back as a thinking block
    return wire.SignedReasoning(
        type="thinking", thinking=text if isinstance(text, str) else "", signature=signature
    )


def _signed_reasoning(message: AIMessage) -> list[wire.SignedReasoning] | None:
    stored = message.additional_kwargs.get(THINKING_BLOCKS_KEY)
    blocks = stored if isinstance(stored, list) else _content_dicts(message)
    signed = [
        found
        for block in blocks
        if isinstance(block, dict) and (found := _signed_block(block)) is not None
    ]
    return signed or None


def _reasoning_fields(message: AIMessage) -> dict[str, Any]:
    """``reasoning_content`` and ``signed_reasoning`` to send back with an AI message."""
    fields: dict[str, Any] = {}
    text = _reasoning_text(message)
    if text:
        fields["reasoning_content"] = text
    signed = _signed_reasoning(message)
    if signed:
        fields["signed_reasoning"] = signed
    return fields


def message_to_wire(message: BaseMessage) -> wire.ChatMessage:
    """One LangChain message as a chat-completions message, with all its content.

    Text, images and documents are carried wherever they stand; what a protocol has no
    form for is refused by its encoder (:mod:`modelslab_transport.protocols.encode_chat`,
    :mod:`modelslab_transport.protocols.encode_messages`). A system prompt given as blocks stays
    blocks.

    Raises:
        ValueError: for message types or content blocks neither protocol carries (audio,
            video).
    """
    name = message.name or None
    if isinstance(message, SystemMessage):
        parts = _content_parts(message.content, "system")
        content = _collapse(parts, keep_list=isinstance(message.content, list))
        return wire.ChatMessage(role="system", content=content, name=name)
    if isinstance(message, HumanMessage):
        content = _collapse(_content_parts(message.content, "user"))
        return wire.ChatMessage(role="user", content=content, name=name)
    if isinstance(message, AIMessage):
        content = _collapse(_content_parts(message.content, "assistant"))
        calls = _wire_tool_calls(message)
        return wire.ChatMessage(
            role="assistant",
            content=content if content or not calls else None,
            tool_calls=calls,
            name=name,
            **_reasoning_fields(message),
        )
    if isinstance(message, ToolMessage):
        return wire.ChatMessage(
            role="tool",
            content=_collapse(_content_parts(message.content, "tool")),
            tool_call_id=message.tool_call_id,
            is_error=True if message.status == "error" else None,
        )
    if isinstance(message, LangChainChatMessage):
        role = _ROLES.get(message.role, message.role)
        if role not in _WIRE_ROLES:
            raise ValueError(f"ModelsLab has no chat role {message.role!r}")
        if role == "tool":
            raise ValueError(
                "a ChatMessage with role 'tool' names no tool call: send a "
                "ToolMessage(content, tool_call_id=...) that answers the AIMessage's call"
            )
        content = _collapse(_content_parts(message.content, role))
        return wire.ChatMessage.model_validate({"role": role, "content": content, "name": name})
    if isinstance(message, FunctionMessage):
        raise ValueError(
            "a FunctionMessage (OpenAI's legacy function role) names no tool call: send a "
            "ToolMessage(content, tool_call_id=...) that answers the AIMessage's call"
        )
    raise ValueError(f"ModelsLab's chat models cannot be sent a {type(message).__name__}")


def messages_to_wire(messages: Sequence[BaseMessage]) -> list[wire.ChatMessage]:
    """A LangChain message history as chat-completions messages, in order.

    Earlier reasoning is kept where its provider's rule wants it
    (:func:`~modelslab_transport.chat.reasoning_history.apply_reasoning_rules`).
    """
    return apply_reasoning_rules([message_to_wire(message) for message in messages])


# ------------------------------------------------------------- wire -> LangChain


def usage_from_wire(usage: wire.Usage) -> UsageMetadata:
    """Wire token counts as LangChain ``usage_metadata`` (with cache/reasoning details).

    ``prompt_tokens_details.cached_tokens`` is ``cache_read``, ``cache_creation_tokens``
    (the Messages bridge's, from Anthropic's ``cache_creation_input_tokens``)
    ``cache_creation``; ``completion_tokens_details.reasoning_tokens`` is ``reasoning``.
    """
    metadata = UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total,
    )
    prompt_details = usage.prompt_tokens_details or {}
    input_details = InputTokenDetails()
    for wire_name, name in (
        ("cached_tokens", "cache_read"),
        ("cache_creation_tokens", "cache_creation"),
    ):
        count = prompt_details.get(wire_name)
        if isinstance(count, int) and not isinstance(count, bool):
            input_details[name] = count  # type: ignore[literal-required]
    if input_details:
        metadata["input_token_details"] = input_details
    reasoning = (usage.completion_tokens_details or {}).get("reasoning_tokens")
    if isinstance(reasoning, int):
        metadata["output_token_details"] = OutputTokenDetails(reasoning=reasoning)
    return metadata


def _tool_calls(
    calls: list[wire.ResponseToolCall], incomplete: Incompleteness | None
) -> tuple[list[LangChainToolCall], list[InvalidToolCall]]:
    """Valid and invalid calls, by :func:`~modelslab_transport.chat.completeness.judge_tool_calls`.

    An invalid call's ``error`` says why (cut off, naming the setting to change, or not
    valid JSON); its ``args`` are the text as it arrived.
    """
    valid: list[LangChainToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call, judged in zip(calls, judge_tool_calls(calls, incomplete), strict=True):
        name = call.function.name or ""
        call_id = call.id  # the decoder gives every call an id
        if isinstance(judged, IncompleteReplyError):
            invalid.append(
                invalid_tool_call(
                    name=name, args=call.function.arguments, id=call_id, error=str(judged)
                )
            )
        else:
            valid.append(tool_call(name=name, args=judged, id=call_id))
    return valid, invalid


def whole_reply_problem(message: AIMessage) -> IncompleteReplyError | None:
    """The error a final result built from ``message`` would hide, or None.

    A message that did not finish (its ``response_metadata["finish_reason"]`` read by
    :func:`~modelslab_transport.chat.completeness.incompleteness`), or one with invalid tool
    calls, cannot give a whole result.
    """
    incomplete = incompleteness(message.response_metadata.get("finish_reason"))
    if message.invalid_tool_calls:
        first = message.invalid_tool_calls[0]
        return IncompleteReplyError(first.get("error") or "invalid tool call", incomplete)
    if incomplete is not None:
        return IncompleteReplyError(f"the reply is not whole: {incomplete.message}", incomplete)
    return None


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


def _thinking_blocks(blocks: list[wire.ReasoningBlock]) -> list[dict[str, Any]]:
    """Signed / redacted reasoning blocks in Anthropic's shape (as ChatAnthropic keeps them)."""
    shaped: list[dict[str, Any]] = []
    for block in blocks:
        if block.type == "redacted_thinking":
            shaped.append({"type": "redacted_thinking", "data": block.data or ""})
        elif block.signature:
            shaped.append(
                {"type": "thinking", "thinking": block.thinking or "", "signature": block.signature}
            )
    return shaped


def _tool_call_fields(calls: list[wire.ResponseToolCall]) -> dict[str, dict[str, Any]]:
    """The opaque provider fields of each tool call, by the call's id."""
    fields: dict[str, dict[str, Any]] = {}
    for call in calls:
        if call.model_extra and call.id:
            fields[call.id] = dict(call.model_extra)
    return fields


def _reasoning_kwargs(
    reasoning: str | None,
    blocks: list[wire.ReasoningBlock] | None,
    calls: list[wire.ResponseToolCall] | None,
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if reasoning:
        extra[REASONING_KEY] = reasoning
    thinking = _thinking_blocks(blocks or [])
    if thinking:
        extra[THINKING_BLOCKS_KEY] = thinking
    fields = _tool_call_fields(calls or [])
    if fields:
        extra[TOOL_CALL_FIELDS_KEY] = fields
    return extra


def completion_from_wire(
    completion: wire.ChatCompletion, *, requested_model: str, split_think_tags: bool = True
) -> ChatResult:
    """A whole chat completion as a LangChain ``ChatResult`` (one generation per choice).

    ``usage_metadata`` goes on the first generation's message (it counts the whole
    request); ``llm_output`` carries the raw ``token_usage`` and the model name.
    Reasoning, signed thinking blocks and opaque tool-call fields go into
    ``additional_kwargs`` (see the module doc). With ``split_think_tags``, reasoning
    written inline as a leading ``<think>...</think>`` moves out of ``content``.
    """
    if split_think_tags:
        completion = split_completion(completion)
    model = completion.model or requested_model
    generations: list[ChatGeneration] = []
    for position, choice in enumerate(completion.choices):
        valid, invalid = _tool_calls(
            choice.message.tool_calls or [], incompleteness(choice.finish_reason)
        )
        extra = _reasoning_kwargs(
            choice.message.reasoning_content,
            choice.message.reasoning_blocks,
            choice.message.tool_calls,
        )
        message = AIMessage(
            content=choice.message.text,
            additional_kwargs=extra,
            tool_calls=valid,
            invalid_tool_calls=invalid,
            usage_metadata=(
                usage_from_wire(completion.usage)
                if completion.usage is not None and position == 0
                else None
            ),
            # The server's id stays in response_metadata["id"]: some servers repeat
            # ids, and LangGraph's add_messages would replace an earlier message with
            # this one. LangChain gives the message its own run id (lc_run-...).
            response_metadata=_response_metadata(
                model, completion.id, completion.system_fingerprint
            ),
        )
        info: dict[str, Any] = {"finish_reason": choice.finish_reason, **_stop_reason(choice)}
        if choice.logprobs is not None:
            info["logprobs"] = choice.logprobs
        generations.append(ChatGeneration(message=message, generation_info=info))
    llm_output: dict[str, Any] = {"model_name": model, "model_provider": MODEL_PROVIDER}
    if completion.usage is not None:
        llm_output["token_usage"] = completion.usage.model_dump(exclude_none=True)
    if completion.system_fingerprint:
        llm_output["system_fingerprint"] = completion.system_fingerprint
    return ChatResult(generations=generations, llm_output=llm_output)


def _stop_reason(choice: wire.Choice | wire.ChunkChoice) -> dict[str, str]:
    """``{"stop_reason": ...}`` when a choice carries the server's own as text, else ``{}``.

    That is the Messages reason as sent (``"max_tokens"``, ``"refusal"``..., under
    ChatAnthropic's key), or the stop string vLLM matched.
    """
    extra = choice.__pydantic_extra__
    reason = extra.get("stop_reason") if extra else None
    return {"stop_reason": reason} if isinstance(reason, str) else {}


def _tool_call_chunk(delta: ToolCallDelta) -> ToolCallChunk:
    """A LangChain tool-call chunk for what one wire chunk added to one call.

    The chunk that begins a call carries its id (the server's, or one the accumulator
    made); later ones only the name and argument text they add, with the index that
    joins them.
    """
    call_id = delta.id if delta.started else None
    return tool_call_chunk(
        name=delta.name or None, args=delta.arguments, id=call_id, index=delta.index
    )


class StreamConverter:
    """Turns the chunks of one chat stream into LangChain generation chunks.

    Content, reasoning and tool-call fragments are passed on as they arrive (tool-call
    fragments as ``tool_call_chunks`` with their ``index``, resolved by
    :class:`ChatStreamAccumulator`). Only the first choice is shown, as ChatOpenAI
    does (LangChain adds every chunk of a stream into one message). ``finish_reason``
    rides on the first chunk that brought one (LangChain would join a repeated one
    into a reason nothing reads); per-token ``logprobs`` ride on every chunk that has
    them (as ChatOpenAI's do), so the added-up message has them all in
    ``response_metadata["logprobs"]``. Usage, model name, id, fingerprint, signed
    thinking blocks and opaque tool-call fields are held back and sent exactly once,
    by :meth:`finish`, so that adding the chunks up never counts or concatenates them
    twice. With ``split_think_tags``, leading inline ``<think>`` reasoning moves to
    ``reasoning_content``, wherever the
    chunks cut the tags.
    """

    def __init__(self, requested_model: str, *, split_think_tags: bool = True) -> None:
        self._requested_model = requested_model
        self._accumulator = ChatStreamAccumulator()
        self._think_tags = ThinkTagStream() if split_think_tags else None
        self._finish_reason: str | None = None
        # The first choice is past any leading <think> reasoning, and the accumulator has
        # had a chunk of it (see :meth:`convert`).
        self._through = self._think_tags is None
        self._first_folded = False

    def convert(self, chunk: ChatCompletionChunk) -> list[ChatGenerationChunk]:
        """The generation chunks one wire chunk adds (none for a usage-only chunk)."""
        text = chunk.plain_text() if self._through else None
        if text is not None:
            # The usual chunk: a piece of text, nothing else. The generation chunk is the
            # one the general path below builds for it, built directly; the think-tag
            # splitter would pass it unchanged, and the accumulator needs only what it
            # brings to the closing chunk (the first choice, id, model, fingerprint,
            # usage), if anything: this converter reads no text from it.
            acc = self._accumulator
            if (
                not self._first_folded
                or chunk.usage is not None
                or (chunk.id and not acc.id)
                or (chunk.model and not acc.model)
                or (chunk.system_fingerprint and not acc.system_fingerprint)
            ):
                acc.add(chunk)
                self._first_folded = True
            if not text:
                return []
            message = AIMessageChunk(
                content=text, response_metadata={"model_provider": MODEL_PROVIDER}
            )
            return [ChatGenerationChunk(message=message)]
        if self._think_tags is not None:
            chunk = self._think_tags.split(chunk)
            if not self._through:
                self._through = self._think_tags.passing_through(0)
        tool_deltas = self._accumulator.add_with_tool_deltas(chunk)
        converted: list[ChatGenerationChunk] = []
        for choice in chunk.choices:
            if choice.index:
                continue
            delta = choice.delta
            calls = (
                [
                    _tool_call_chunk(d)
                    for d in tool_deltas
                    if d.choice == choice.index and (d.started or d.name or d.arguments)
                ]
                if tool_deltas
                else None
            )
            text = delta.text
            logprobs = choice.logprobs
            reasoning = delta.reasoning_content
            finish_reason = choice.finish_reason
            if finish_reason:
                if self._finish_reason is None:
                    self._finish_reason = finish_reason
                else:
                    finish_reason = None
            if not (text or calls or reasoning or finish_reason or logprobs):
                continue
            # Only non-empty fields are passed: each keyword costs validation, and the
            # empty ones are the defaults anyway (a text chunk is the common case).
            metadata = {"model_provider": MODEL_PROVIDER}
            if reasoning or calls:
                fields: dict[str, Any] = {"response_metadata": metadata}
                if reasoning:
                    fields["additional_kwargs"] = {"reasoning_content": reasoning}
                if calls:
                    fields["tool_call_chunks"] = calls
                message = AIMessageChunk(content=text, **fields)
            else:
                message = AIMessageChunk(content=text, response_metadata=metadata)
            info: dict[str, Any] | None = None
            if finish_reason:
                info = {"finish_reason": finish_reason, **_stop_reason(choice)}
            if logprobs is not None:
                info = {**(info or {}), "logprobs": logprobs}
            if info is None:  # no keyword for the default: each costs validation
                converted.append(ChatGenerationChunk(message=message))
            else:
                converted.append(ChatGenerationChunk(message=message, generation_info=info))
        return converted

    def finish(self) -> ChatGenerationChunk:
        """The closing chunk: usage (if the server sent any), model name, id, fingerprint.

        It also carries the first choice's signed thinking blocks and opaque tool-call
        fields, and any text the think-tag splitter still held (a stream cut short).
        """
        text = ""
        reasoning: str | None = None
        if self._think_tags is not None:
            rest = self._think_tags.flush()
            if rest is not None:
                self._accumulator.add(rest)
                for choice in rest.choices:
                    if choice.index == 0:
                        text, reasoning = choice.delta.text, choice.delta.reasoning_content
        acc = self._accumulator
        completion = acc.completion()
        first = completion.choices[0].message if completion.choices else None
        extra = _reasoning_kwargs(
            reasoning,
            first.reasoning_blocks if first is not None else None,
            first.tool_calls if first is not None else None,
        )
        message = AIMessageChunk(
            content=text,
            additional_kwargs=extra,
            usage_metadata=usage_from_wire(acc.usage) if acc.usage is not None else None,
            response_metadata=_response_metadata(
                acc.model or self._requested_model, acc.id, acc.system_fingerprint
            ),
            chunk_position="last",
        )
        return ChatGenerationChunk(message=message)

    def tool_call_problem(self) -> IncompleteReplyError | None:
        """Why the first choice's tool calls cannot be used, once the stream ended; or None.

        LangChain adds streamed tool-call chunks up by repairing partial JSON, and an
        added-up ``AIMessageChunk`` cannot carry an invalid call's error; so a stream
        whose calls were cut off (or are not valid JSON) ends with this error instead
        of a message whose tool would run on arguments that did not arrive whole.
        """
        acc = self._accumulator
        judged = judge_tool_calls(acc.tool_calls(0), acc.incomplete(0))
        return next((item for item in judged if isinstance(item, IncompleteReplyError)), None)


# ------------------------------------------------------------ content blocks


def _standard_reasoning(block: dict[str, Any]) -> types.ContentBlock:
    if block.get("type") == "redacted_thinking":
        return types.NonStandardContentBlock(type="non_standard", value=dict(block))
    return types.ReasoningContentBlock(
        type="reasoning",
        reasoning=block.get("thinking") or "",
        extras={"signature": block.get("signature")},
    )


def _with_signed_reasoning(message: AIMessage, translate: Any) -> list[types.ContentBlock]:
    """Standard blocks for a message that holds signed thinking blocks.

    Messages without them raise ``NotImplementedError``, which makes LangChain use its
    own best-effort parsing (it reads ``reasoning_content`` itself).
    """
    stored = message.additional_kwargs.get(THINKING_BLOCKS_KEY)
    if not isinstance(stored, list) or not stored:
        raise NotImplementedError
    plain = message.model_copy(
        update={
            "additional_kwargs": {
                k: v
                for k, v in message.additional_kwargs.items()
                if k not in (THINKING_BLOCKS_KEY, REASONING_KEY)
            },
            "response_metadata": {
                k: v for k, v in message.response_metadata.items() if k != "model_provider"
            },
        }
    )
    reasoning = [_standard_reasoning(block) for block in stored if isinstance(block, dict)]
    rest: list[types.ContentBlock] = translate(plain)
    return reasoning + [block for block in rest if block.get("type") != "reasoning"]


def _translate_content(message: AIMessage) -> list[types.ContentBlock]:
    return _with_signed_reasoning(message, lambda plain: plain.content_blocks)


def _translate_content_chunk(message: AIMessageChunk) -> list[types.ContentBlock]:
    return _with_signed_reasoning(message, lambda plain: plain.content_blocks)


register_translator(MODEL_PROVIDER, _translate_content, _translate_content_chunk)
