"""The request encoder of ``/v1/messages``: the one place its histories are normalised.

The framework integrations build chat-completions requests; :func:`chat_request_to_messages`
(and :func:`count_tokens_request` for ``/v1/messages/count_tokens``) express them in
the Anthropic-style Messages protocol. After
:func:`~modelslab_transport.protocols.history.normalise_history` (blank text and empty turns
dropped; every system message, wherever it stands, joined in order into ``system``):

* ``system`` is a string (the texts separated by a blank line) when every system
  message is a string, else a list of text blocks (a system prompt given as blocks
  stays blocks, with their ``cache_control``);
* tool results become ``tool_result`` blocks (text, images and documents; a blank
  result has no ``content``), opening a user turn; assistant tool calls become
  ``tool_use`` blocks, preceded by the turn's signed ``thinking`` /
  ``redacted_thinking`` blocks; consecutive turns of one role are merged (the
  protocol wants alternation); the last turn, when it is the assistant's, loses
  trailing whitespace (the protocol refuses it there);
* tool-call ids that do not match ``^[a-zA-Z0-9_-]{1,64}$`` (another provider's, such
  as Kimi's ``functions.get_weather:0``) are mapped by :func:`messages_tool_id`, the
  same on a call and on its result, and the same in every request;
* images become ``image`` blocks; documents (``file`` parts) become ``document``
  blocks: a PDF as a ``base64`` source, plain text as a ``text`` source, a URL as a
  ``url`` source, a file id as a ``file`` source; ``cache_control`` on parts and on
  tools is kept.

Refused with :class:`~modelslab_transport.protocols.history.UnsupportedContentError`: images and
documents in system and assistant messages, and inline documents that are neither PDF
nor text (the protocol's document sources take only those). Request parameters that
exist on chat completions only are refused with a ``ValueError`` naming them instead of
being dropped: ``n > 1``, ``seed``, ``frequency_penalty``, ``presence_penalty``,
``response_format``, ``logprobs``, ``top_logprobs``; ``temperature`` is capped at 1
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
from modelslab_transport.chat.tool_calls import parse_tool_arguments
from modelslab_transport.protocols.history import (
    UnsupportedContentError,
    normalise_history,
    nothing_to_send,
    part_kind,
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

    A valid id is returned as it is. Any other is mapped to its characters with each
    one outside the pattern replaced by ``_`` (at most 47 of them), then ``_`` and the
    first 16 hex digits of its SHA-256: a pure function of the id, so a call and its
    result get the same id, every request sends the same one (prompt caches keep
    hitting), and two different ids stay different.
    """
    if _VALID_ID.fullmatch(call_id):
        return call_id
    digest = hashlib.sha256(call_id.encode()).hexdigest()[:16]
    return f"{_INVALID_CHARACTER.sub('_', call_id)[:47]}_{digest}"


# ------------------------------------------------------------------ content blocks


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
        # Signed thinking opens the assistant turn that calls tools (see
        # modelslab_transport.chat.reasoning_history); elsewhere the API does not need it.
        blocks += [_reasoning_block(block) for block in message.signed_reasoning or []]
    blocks += _content_blocks(message, text_only=True)
    for call in message.tool_calls or []:
        blocks.append(
            wire.ToolUseBlockParam(
                id=messages_tool_id(call.id),
                name=call.function.name,
                input=parse_tool_arguments(call.function.arguments),
            )
        )
    return blocks


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
    """Add ``blocks`` to a turn of the same role, keeping each kind where it must stand.

    Reasoning blocks stay at the start of an assistant turn; tool results at the start
    of a user turn (the protocol wants them before any text).
    """
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
    messages: Sequence[wire.ChatMessage],
) -> tuple[str | list[wire.TextBlockParam] | None, list[wire.MessageParam]]:
    conversation = normalise_history(messages)
    if not conversation.system and not conversation.turns:
        raise nothing_to_send(len(messages))
    return _system(conversation.system), _turns(conversation.turns)


# ------------------------------------------------------------------ parameters and tools


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


# ------------------------------------------------------------------ requests


def chat_request_to_messages(request: wire.ChatCompletionRequest) -> wire.MessagesRequest:
    """Express a chat-completions request as a Messages request (see module doc).

    A tool's ``strict`` flag is kept. Extra (pass-through) parameters are kept.

    Raises:
        UnsupportedContentError: for content the Messages protocol has no form for.
        ValueError: for parameters the Messages protocol does not have, a conversation
            of system messages only (no turn to send), or one whose every message is
            empty or whitespace only.
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
    model: str, messages: Sequence[wire.ChatMessage], tools: Iterable[wire.Tool] | None = None
) -> wire.CountTokensRequest:
    """The count_tokens request for a conversation in chat-completions terms.

    What the framework integrations send to count a prompt exactly: the history is
    encoded as :func:`chat_request_to_messages` encodes it.

    Tools alone are counted with one empty user turn (the endpoint needs a turn).

    Raises:
        UnsupportedContentError: as :func:`chat_request_to_messages`.
        ValueError: when every message is empty or whitespace only.
    """
    offered = _tools(tools)
    if not messages and offered:
        # The endpoint needs a turn: tools alone are counted with one empty user turn.
        empty = wire.MessageParam(role="user", content=[wire.TextBlockParam(text="")])
        return wire.CountTokensRequest(model=model, messages=[empty], tools=offered)
    system, turns = _system_and_turns(messages)
    return wire.CountTokensRequest(model=model, messages=turns, system=system, tools=offered)
