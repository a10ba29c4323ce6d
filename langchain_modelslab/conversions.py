"""LangChain messages -> ModelsLab chat-completions wire types.

Turns LangChain's message history into :class:`ChatMessage` objects (text, images as
``image_url`` parts, documents, tool calls and tool results); the way back, replies to
LangChain messages, is :mod:`langchain_modelslab.replies`. Nothing here sends a request.

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
    BaseMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages import ChatMessage as LangChainChatMessage
from langchain_core.messages.block_translators.openai import convert_to_openai_image_block

from modelslab_transport import wire
from modelslab_transport.chat import (
    TOOL_CALL_FIELDS_KEY,
    apply_reasoning_rules,
    stored_provider_fields,
)

__all__ = [
    "MODEL_PROVIDER",
    "REASONING_KEY",
    "THINKING_BLOCKS_KEY",
    "TOOL_CALL_FIELDS_KEY",
    "message_to_wire",
    "messages_to_wire",
    "tool_cache_control",
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
