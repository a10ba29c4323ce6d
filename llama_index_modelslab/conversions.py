"""LlamaIndex messages and tools -> ModelsLab chat-completions wire types.

Pure data conversion, no HTTP: LlamaIndex ``ChatMessage``/``BaseTool`` -> wire
``ChatMessage``/``Tool``. Replies go the other way in :mod:`llama_index_modelslab.replies`.

An assistant message that calls tools carries them twice, as LlamaIndex expects of a
function-calling LLM: as :class:`~llama_index.core.base.llms.types.ToolCallBlock`
blocks (what agents and :meth:`ModelsLabLLM.get_tool_calls_from_response` read) and as
OpenAI-shaped dicts in ``additional_kwargs["tool_calls"]`` (what older LlamaIndex
components such as the streaming structured-output program look for).

Reasoning is a :class:`ThinkingBlock` opening the message: its ``content`` is the
reasoning text, and a signed Messages-protocol block keeps its signature in
``additional_information["signature"]`` (as llama-index-llms-anthropic does); a
redacted block is a ``ThinkingBlock`` with ``additional_information`` ``{"type":
"redacted_thinking", "data": ...}``. Fields a provider attached to a tool call
(Gemini's ``extra_content``) are kept on its legacy dict and, by call id, in
``additional_kwargs["tool_call_provider_fields"]``. All of it goes back where each
provider wants it (:mod:`modelslab_transport.chat.reasoning_history`). Per-token logprobs
fill ``ChatResponse.logprobs``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    BaseRecursiveContentBlock,
    CachePoint,
    ChatMessage,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)

from modelslab_transport import wire
from modelslab_transport.chat import (
    TOOL_CALL_FIELDS_KEY,
    apply_reasoning_rules,
    stored_provider_fields,
    strict_json_schema,
)

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = [
    "TOOL_CALL_FIELDS_KEY",
    "message_to_wire",
    "messages_to_wire",
    "tool_to_wire",
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


def messages_to_wire(messages: Sequence[ChatMessage]) -> list[wire.ChatMessage]:
    """Convert a LlamaIndex conversation into chat-completions messages.

    The input messages are not modified.

    Raises:
        ValueError: for a block neither protocol carries (audio, video), a document
            whose media type is unknown, a ``CachePoint`` with no block before it, or a
            tool result that names no ``tool_call_id``.
    """
    return apply_reasoning_rules([message_to_wire(message) for message in messages])


def _reasoning_fields(message: ChatMessage) -> dict[str, Any]:
    """``reasoning_content`` and ``signed_reasoning`` from a message's ThinkingBlocks."""
    texts: list[str] = []
    signed: list[wire.SignedReasoning] = []
    for block in message.blocks:
        if not isinstance(block, ThinkingBlock):
            continue
        info = block.additional_information
        if info.get("type") == "redacted_thinking":
            if isinstance(info.get("data"), str) and info["data"]:
                signed.append(wire.SignedReasoning(type="redacted_thinking", data=info["data"]))
            continue
        if block.content:
            texts.append(block.content)
        signature = info.get("signature")
        if isinstance(signature, str) and signature:
            signed.append(
                wire.SignedReasoning(
                    type="thinking", thinking=block.content or "", signature=signature
                )
            )
    fields: dict[str, Any] = {}
    if texts:
        fields["reasoning_content"] = "".join(texts)
    if signed:
        fields["signed_reasoning"] = signed
    return fields


def message_to_wire(message: ChatMessage) -> wire.ChatMessage:
    """One LlamaIndex message as a wire message, with all its content.

    Text blocks join into one string (separated by newlines, as ``ChatMessage.content``
    joins them) unless the message holds images, documents or cache points; a
    ``CachePoint`` becomes the ``cache_control`` of the block before it. What a protocol
    has no form for is refused by its encoder (:mod:`modelslab_transport.protocols.encode_chat`,
    :mod:`modelslab_transport.protocols.encode_messages`).
    """
    role = _WIRE_ROLES.get(message.role, "user")
    parts = _content_parts(message.blocks)
    content: str | list[wire.ContentPart] | None
    if all(isinstance(part, wire.TextPart) and part.cache_control is None for part in parts):
        content = "\n".join(part.text for part in parts if isinstance(part, wire.TextPart))
    else:
        content = parts
    fields: dict[str, Any] = {"role": role, "content": content}
    name = message.additional_kwargs.get("name")
    if isinstance(name, str) and name:
        fields["name"] = name
    if role == "assistant":
        fields.update(_reasoning_fields(message))
        calls = wire_tool_calls(message)
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
    return wire.ChatMessage(**fields)


def _document_part(block: DocumentBlock) -> wire.FilePart:
    if block.url is not None and block.data is None and block.path is None:
        return wire.FilePart(file=wire.FileData(filename=block.title, url=str(block.url)))
    if not block.document_mimetype:
        raise ValueError(
            f"DocumentBlock {block.title!r}: its media type could not be told from its "
            "bytes; set document_mimetype (e.g. 'application/pdf', 'text/plain')"
        )
    return wire.FilePart(file=wire.FileData(filename=block.title, file_data=block.inline_url()))


def _mark_cache_point(parts: list[wire.ContentPart], point: CachePoint) -> None:
    if not parts:
        raise ValueError(
            "a CachePoint marks the content block before it, and this one has none in its "
            "message: put it after the block the cache should end with"
        )
    marker = point.cache_control.model_dump(exclude_none=True)
    parts[-1] = parts[-1].model_copy(update={"cache_control": marker})


def _content_parts(blocks: Iterable[Any]) -> list[wire.ContentPart]:
    parts: list[wire.ContentPart] = []
    for block in blocks:
        if isinstance(block, TextBlock):
            parts.append(wire.TextPart(text=block.text))
        elif isinstance(block, ImageBlock):
            url = str(block.url) if block.url is not None else block.inline_url()
            detail = block.detail if block.detail in _IMAGE_DETAILS else None
            parts.append(wire.ImagePart(image_url=wire.ImageURL(url=url, detail=detail)))
        elif isinstance(block, DocumentBlock):
            parts.append(_document_part(block))
        elif isinstance(block, CachePoint):
            _mark_cache_point(parts, block)
        elif isinstance(block, BaseRecursiveContentBlock):
            parts.extend(_content_parts(block.nested_blocks))
        elif isinstance(block, (ToolCallBlock, ThinkingBlock)):
            continue  # tool calls travel separately; reasoning by its provider's rule
        else:
            kind = getattr(block, "block_type", type(block).__name__)
            raise ValueError(
                f"ModelsLab's chat models take text, image and document content (over "
                f"either api), not {kind!r} blocks: send the text, or an image of it"
            )
    return parts


def wire_tool_calls(message: ChatMessage) -> list[wire.ToolCall]:
    """A message's tool calls in wire form, from its ``ToolCallBlock``s or legacy dicts."""
    blocks = [block for block in message.blocks if isinstance(block, ToolCallBlock)]
    if blocks:
        return [
            wire.ToolCall(
                id=block.tool_call_id or "",  # refused by the encoder, naming the call
                function=wire.FunctionCall(name=block.tool_name, arguments=_arguments_text(block)),
                **stored_provider_fields(message.additional_kwargs, block.tool_call_id),
            )
            for block in blocks
        ]
    legacy = message.additional_kwargs.get("tool_calls") or []
    return [_legacy_tool_call(call) for call in legacy]


def _arguments_text(block: ToolCallBlock) -> str:
    if isinstance(block.tool_kwargs, str):
        return block.tool_kwargs
    return json.dumps(block.tool_kwargs, ensure_ascii=False)


def _legacy_tool_call(call: Any) -> wire.ToolCall:
    """A tool call from ``additional_kwargs["tool_calls"]``: a dict or an SDK-like object."""
    data = call.model_dump() if hasattr(call, "model_dump") else call
    if not isinstance(data, dict):
        raise ValueError(f"unrecognised tool call in additional_kwargs: {call!r}")
    function = data.get("function") or {}
    name = str(function.get("name") or "")
    arguments = function.get("arguments")
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments or {}, ensure_ascii=False)
    call_id = data.get("id") or ""
    extra = {k: v for k, v in data.items() if k not in ("id", "type", "function", "index")}
    return wire.ToolCall(
        id=str(call_id), function=wire.FunctionCall(name=name, arguments=arguments), **extra
    )


def tool_to_wire(tool: BaseTool, *, strict: bool | None = None) -> wire.Tool:
    """Describe a LlamaIndex tool as a chat-completions function tool.

    With ``strict=True`` its parameters are closed as strict mode requires
    (:func:`~modelslab_transport.chat.strict_schema.strict_json_schema`).

    Raises:
        ValueError: for a tool without a name; ``StrictSchemaError`` (a ``ValueError``)
            with ``strict=True`` for parameters strict mode cannot express.
    """
    metadata = tool.metadata
    if not metadata.name:
        raise ValueError(f"tool {tool!r} has no name; give it one to offer it to the model")
    parameters = metadata.get_parameters_dict()
    return wire.Tool(
        function=wire.FunctionDefinition(
            name=metadata.name,
            description=metadata.description or None,
            parameters=strict_json_schema(parameters) if strict else parameters,
            strict=strict,
        )
    )
