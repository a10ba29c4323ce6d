"""The request encoder of ``/v1/messages``: the one place its histories are normalised.

After :func:`~modelslab_transport.protocols.history.normalise_history`, ``system`` is a
string when every system message is one, else text blocks; tool results open a user turn
as ``tool_result`` blocks; tool calls become ``tool_use`` blocks after the turn's signed
thinking; turns of one role are merged; a final assistant turn loses trailing
whitespace; documents become ``document`` blocks (PDF, text, URL or file id). A
request-wide ``cache_control`` (per call, or ``bind_tools(..., cache_control=...)``) marks
the last block of the last turn, as ``langchain-anthropic`` places it, caching all before.

Refused with :class:`~modelslab_transport.protocols.history.UnsupportedContentError`: images
and documents in system and assistant messages, inline documents other than PDF or text;
with ``ToolArgumentsError`` (a ``ValueError``): a tool call in the history whose arguments
are not a JSON object.
Chat-completions-only parameters (``n > 1``, ``seed``, penalties, ``response_format``,
``logprobs``) raise ``ValueError``; ``temperature`` is capped at 1
(:mod:`modelslab_transport.protocols.table`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from modelslab_transport import wire
from modelslab_transport.chat.tool_calls import ToolArgumentsError, parse_tool_arguments
from modelslab_transport.protocols.history import (
    UnsupportedContentError,
    normalise_history,
    nothing_to_send,
    part_kind,
    request_cache_control,
)
from modelslab_transport.wire.protocols import CHAT_ONLY_PARAMS, check_messages_params

__all__ = [
    "chat_request_to_count_tokens",
    "chat_request_to_messages",
    "count_tokens_request",
    "messages_tool_id",
]

API = "messages"

_VALID_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_INVALID_CHARACTER = re.compile(r"[^a-zA-Z0-9_-]")


def messages_tool_id(call_id: str) -> str:
    """``call_id`` as the Messages protocol accepts it (``^[a-zA-Z0-9_-]+$``, 64 at most).

    Any other id becomes its first 47 characters with invalid ones as ``_``, then ``_``
    and 16 hex digits of its SHA-256: the same for a call and its result in every request.
    """
    if _VALID_ID.fullmatch(call_id):
        return call_id
    digest = hashlib.sha256(call_id.encode()).hexdigest()[:16]
    return f"{_INVALID_CHARACTER.sub('_', call_id)[:47]}_{digest}"


def _image_block(part: wire.ImagePart) -> wire.ImageBlockParam:
    url = part.image_url.url
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        media_type = header[5:].split(";")[0] or "image/png"
        if ";base64" not in header:
            data = base64.b64encode(data.encode()).decode()
        source = wire.ImageSource(type="base64", media_type=media_type, data=data)
    else:
        source = wire.ImageSource(type="url", url=url)
    return wire.ImageBlockParam(source=source, cache_control=part.cache_control)


def _document_source(part: wire.FilePart, role: str) -> wire.DocumentSource:
    file = part.file
    if file.url is not None:
        return wire.DocumentSource(type="url", url=file.url)
    if file.file_id is not None:
        return wire.DocumentSource(type="file", file_id=file.file_id)
    assert file.file_data is not None  # checked by FileData
    header, _, data = file.file_data.partition(",")
    media_type = header[5:].split(";")[0] or "application/octet-stream"
    encoded = ";base64" in header
    if media_type == "application/pdf":
        if not encoded:
            data = base64.b64encode(data.encode()).decode()
        return wire.DocumentSource(type="base64", media_type=media_type, data=data)
    if media_type.startswith("text/"):
        try:
            text = base64.b64decode(data, validate=True).decode() if encoded else data
        except (binascii.Error, UnicodeDecodeError):
            raise UnsupportedContentError(
                f"{media_type} file that is not UTF-8 text", role, API
            ) from None
        return wire.DocumentSource(type="text", media_type="text/plain", data=text)
    raise UnsupportedContentError(
        f"{media_type} file",
        role,
        API,
        "its documents are PDF (application/pdf) or plain text; convert the file, or "
        "use api='chat_completions', which sends any file part",
    )


def _document_block(part: wire.FilePart, role: str) -> wire.DocumentBlockParam:
    return wire.DocumentBlockParam(
        source=_document_source(part, role),
        title=part.file.filename,
        cache_control=part.cache_control,
    )


ContentBlock = wire.TextBlockParam | wire.ImageBlockParam | wire.DocumentBlockParam


def _content_blocks(message: wire.ChatMessage, *, text_only: bool = False) -> list[ContentBlock]:
    content = message.content
    if content is None:
        return []
    if isinstance(content, str):
        return [wire.TextBlockParam(text=content)] if content else []
    blocks: list[ContentBlock] = []
    for part in content:
        if isinstance(part, wire.TextPart):
            blocks.append(wire.TextBlockParam(text=part.text, cache_control=part.cache_control))
        elif text_only:
            raise UnsupportedContentError(
                part_kind(part), message.role, API, "send it in a user message or a tool result"
            )
        elif isinstance(part, wire.ImagePart):
            blocks.append(_image_block(part))
        else:
            blocks.append(_document_block(part, message.role))
    return blocks


def _reasoning_block(
    block: wire.SignedReasoning,
) -> wire.ThinkingBlockParam | wire.RedactedThinkingBlockParam:
    if block.type == "redacted_thinking":
        assert block.data is not None  # checked by SignedReasoning
        return wire.RedactedThinkingBlockParam(data=block.data)
    assert block.signature is not None  # checked by SignedReasoning
    return wire.ThinkingBlockParam(thinking=block.thinking or "", signature=block.signature)


_REASONING_BLOCKS = (wire.ThinkingBlockParam, wire.RedactedThinkingBlockParam)


def _assistant_blocks(message: wire.ChatMessage) -> list[wire.RequestBlock]:
    blocks: list[wire.RequestBlock] = []
    if message.tool_calls:
        # See modelslab_transport.chat.reasoning_history.
        blocks += [_reasoning_block(block) for block in message.signed_reasoning or []]
    blocks += _content_blocks(message, text_only=True)
    for call in message.tool_calls or []:
        blocks.append(
            wire.ToolUseBlockParam(
                id=messages_tool_id(call.id),
                name=call.function.name,
                input=_tool_input(call),
            )
        )
    return blocks


def _tool_input(call: wire.ToolCall) -> dict[str, Any]:
    try:
        return parse_tool_arguments(call.function.arguments)
    except ToolArgumentsError as exc:
        raise ToolArgumentsError(
            f"the tool call {call.id!r} ({call.function.name!r}) in the history cannot be sent "
            f"on api='messages', whose tool_use input is a JSON object: {exc}; fix the call's "
            "arguments, or drop the call and its result (api='chat_completions' sends the "
            "text as it is)"
        ) from None


def _tool_result(message: wire.ChatMessage) -> wire.ToolResultBlockParam:
    assert message.tool_call_id is not None  # checked by ChatMessage
    content: str | list[ContentBlock] | None
    if isinstance(message.content, str):
        content = message.content or None
    else:
        content = _content_blocks(message) or None
    return wire.ToolResultBlockParam(
        tool_use_id=messages_tool_id(message.tool_call_id),
        content=content,
        is_error=message.is_error or None,
    )


def _turn_blocks(message: wire.ChatMessage) -> list[wire.RequestBlock]:
    if message.role == "tool":
        return [_tool_result(message)]
    if message.role == "assistant":
        return _assistant_blocks(message)
    return list(_content_blocks(message))


def _merge(previous: list[wire.RequestBlock], blocks: list[wire.RequestBlock]) -> None:
    """Add ``blocks`` to a turn of one role; reasoning and tool results stay at its start."""
    for leading in (_REASONING_BLOCKS, (wire.ToolResultBlockParam,)):
        opening = 0
        while opening < len(previous) and isinstance(previous[opening], leading):
            opening += 1
        previous[opening:opening] = [b for b in blocks if isinstance(b, leading)]
        blocks = [b for b in blocks if not isinstance(b, leading)]
    previous.extend(blocks)


def _turns(messages: Iterable[wire.ChatMessage]) -> list[wire.MessageParam]:
    turns: list[wire.MessageParam] = []
    for message in messages:
        role = "assistant" if message.role == "assistant" else "user"
        blocks = _turn_blocks(message)
        if turns and turns[-1].role == role:
            previous = turns[-1].content
            assert isinstance(previous, list)
            _merge(previous, blocks)
        else:
            turns.append(wire.MessageParam(role=role, content=blocks))
    if turns and turns[-1].role == "assistant":
        _strip_final_text(turns[-1])
    return turns


def _strip_final_text(turn: wire.MessageParam) -> None:
    """The protocol refuses a final assistant turn whose text ends with whitespace."""
    assert isinstance(turn.content, list)
    last = turn.content[-1] if turn.content else None
    if isinstance(last, wire.TextBlockParam) and last.text != last.text.rstrip():
        turn.content[-1] = last.model_copy(update={"text": last.text.rstrip()})


def _mark_last_block(turn: wire.MessageParam, marker: dict[str, Any]) -> None:
    """Put ``marker`` on the last block of ``turn`` unless that block has one already."""
    assert isinstance(turn.content, list)  # built by _turns, never empty
    last = turn.content[-1]
    if isinstance(last, _REASONING_BLOCKS):
        raise ValueError(
            "cache_control marks the last block of the last turn, and that is a thinking "
            "block, which takes no marker: put cache_control on a content block instead"
        )
    if last.cache_control is None:
        turn.content[-1] = last.model_copy(update={"cache_control": marker})


def _system(system: Sequence[wire.ChatMessage]) -> str | list[wire.TextBlockParam] | None:
    if not system:
        return None
    if all(isinstance(message.content, str) for message in system):
        return "\n\n".join(str(message.content) for message in system)
    blocks: list[wire.TextBlockParam] = []
    for message in system:
        found = _content_blocks(message, text_only=True)
        blocks += [block for block in found if isinstance(block, wire.TextBlockParam)]
    return blocks


def _system_and_turns(
    messages: Sequence[wire.ChatMessage], *, pair: bool = True
) -> tuple[str | list[wire.TextBlockParam] | None, list[wire.MessageParam]]:
    conversation = normalise_history(messages, pair=pair)
    if not conversation.system and not conversation.turns:
        raise nothing_to_send(len(messages))
    return _system(conversation.system), _turns(conversation.turns)


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
        cache_control=tool.cache_control,
    )


def _tools(tools: Iterable[wire.Tool] | None) -> list[wire.MessagesTool] | None:
    return [_messages_tool(tool) for tool in tools or []] or None


def chat_request_to_messages(request: wire.ChatCompletionRequest) -> wire.MessagesRequest:
    """Express a chat-completions request as a Messages request (see module doc).

    Raises:
        UnsupportedContentError: for content the Messages protocol has no form for.
        ToolPairingError: when tool calls and results do not pair up.
        ValueError: for chat-only parameters, a conversation with no turn to send, or a
            ``cache_control`` that is not a dict.
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
    marker = request_cache_control(extra)
    if marker is not None:
        extra = {k: v for k, v in extra.items() if k != "cache_control"}
        _mark_last_block(turns[-1], marker)
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
    model: str, messages: Sequence[wire.ChatMessage], tools: Iterable[wire.Tool] | None = None
) -> wire.CountTokensRequest:
    """The count_tokens request for a conversation, encoded as :func:`chat_request_to_messages`.

    Tool calls and results are not paired: any part of a history can be counted.

    Raises:
        UnsupportedContentError: as :func:`chat_request_to_messages`.
        ValueError: when every message is empty or whitespace only.
    """
    offered = _tools(tools)
    if not messages and offered:
        # The endpoint needs a turn: tools alone are counted with one empty user turn.
        empty = wire.MessageParam(role="user", content=[wire.TextBlockParam(text="")])
        return wire.CountTokensRequest(model=model, messages=[empty], tools=offered)
    system, turns = _system_and_turns(messages, pair=False)
    return wire.CountTokensRequest(model=model, messages=turns, system=system, tools=offered)
