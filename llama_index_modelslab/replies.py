"""ModelsLab replies -> LlamaIndex responses and tool selections.

Pure data conversion, no HTTP: wire ``ChatCompletion``/``ChatCompletionChunk`` ->
``ChatResponse`` (and ``CompletionResponse``), tool calls -> ``ToolSelection``; what the
messages carry is described in :mod:`llama_index_modelslab.conversions`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    LogProb,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.llm import ToolSelection

from llama_index_modelslab.conversions import wire_tool_calls
from modelslab_transport import wire
from modelslab_transport.chat import (
    TOOL_CALL_FIELDS_KEY,
    ChatStreamAccumulator,
    Incompleteness,
    IncompleteReplyError,
    ThinkTagStream,
    ToolArgumentsError,
    incompleteness,
    judge_tool_calls,
    parse_partial_json,
    parse_tool_arguments,
    split_completion,
)
from modelslab_transport.wire import ChatCompletionChunk

if TYPE_CHECKING:
    pass

__all__ = [
    "FINISH_REASON_KEY",
    "TOOL_CALL_ERRORS_KEY",
    "StreamConverter",
    "completion_from_wire",
    "completion_response_from_chat",
    "keep_first_tool_call",
    "reply_incompleteness",
    "tool_selections",
    "usage_from_wire",
]

FINISH_REASON_KEY = "finish_reason"
"""``additional_kwargs`` key of a finished reply's finish reason (None if the server sent
none). A streamed message has it from the chunk that finished it on; a message without
it is still being streamed (or was not built from a reply)."""
TOOL_CALL_ERRORS_KEY = "tool_call_errors"
"""``additional_kwargs`` key, on a finished reply, of the tool calls that cannot be used:
call id -> why (cut off by ``max_tokens`` or a filter, or not valid JSON)."""

_IN_PROGRESS = object()
"""The finish reason of a message still being streamed."""


# -------------------------------------------------------------------- replies


def usage_from_wire(usage: wire.Usage | None) -> dict[str, int]:
    """Token counts in the flat shape LlamaIndex users read from ``additional_kwargs``."""
    if usage is None:
        return {}
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total,
    }


def _fallback_call_id(index: int, name: str) -> str:
    """A stable id for a tool call of a message made without one (replies have ids)."""
    digest = hashlib.sha256(f"{index}|{name}".encode()).hexdigest()
    return f"call_{digest[:24]}"


def _tool_kwargs(arguments: str) -> dict[str, Any] | str:
    """Parsed arguments once they form a complete JSON object, else the raw text."""
    end = arguments.rstrip()[-1:]
    if end and end != "}" and arguments.strip() != "null":
        # Not a JSON object (whose text ends with "}"), nor empty: the parse would fail.
        # A stream's partial arguments are this on nearly every chunk.
        return arguments
    try:
        return parse_tool_arguments(arguments)
    except ToolArgumentsError:
        return arguments


def _thinking_blocks(
    blocks: Sequence[wire.ReasoningBlock], reasoning: str | None
) -> list[ThinkingBlock]:
    """The message's ThinkingBlocks: one per signed block if any, else the reasoning text."""
    thinking: list[ThinkingBlock] = []
    for block in blocks:
        if block.type == "redacted_thinking":
            info = {"type": "redacted_thinking", "data": block.data or ""}
            thinking.append(ThinkingBlock(content=None, additional_information=info))
        elif block.signature:
            thinking.append(
                ThinkingBlock(
                    content=block.thinking or "",
                    additional_information={"signature": block.signature},
                )
            )
    if not any(block.content for block in thinking) and reasoning:
        thinking.insert(0, ThinkingBlock(content=reasoning))
    return thinking


def _assistant_message(
    text: str,
    reasoning: str | None,
    calls: Sequence[wire.ResponseToolCall],
    completion_id: str | None,
    signed: Sequence[wire.ReasoningBlock] = (),
    finish_reason: Any = _IN_PROGRESS,
) -> ChatMessage:
    """The assistant message; ``finish_reason`` is the reply's once it finished.

    A finished reply's tool calls are judged once, here
    (:func:`~modelslab_transport.chat.completeness.judge_tool_calls`): a call that is cut off
    or not valid JSON keeps its raw text as ``tool_kwargs`` and is listed, with why, in
    ``additional_kwargs["tool_call_errors"]``.
    """
    final = finish_reason is not _IN_PROGRESS
    if not calls and not signed and not reasoning:  # text only: most stream chunks
        return ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[TextBlock(text=text)],
            additional_kwargs={FINISH_REASON_KEY: finish_reason} if final else {},
        )
    blocks: list[Any] = list(_thinking_blocks(signed, reasoning))
    if text or not calls:
        blocks.append(TextBlock(text=text))
    legacy: list[dict[str, Any]] = []
    provider_fields: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    judged = judge_tool_calls(calls, incompleteness(finish_reason)) if final and calls else []
    for position, call in enumerate(calls):
        name = call.function.name or ""
        call_id = call.id or ""  # the decoder gives every call an id
        arguments = call.function.arguments or ""
        kwargs: dict[str, Any] | str
        if judged and isinstance(judged[position], IncompleteReplyError):
            errors[call_id] = str(judged[position])
            kwargs = arguments
        else:
            kwargs = _tool_kwargs(arguments)
        blocks.append(ToolCallBlock(tool_call_id=call_id, tool_name=name, tool_kwargs=kwargs))
        legacy.append(
            {
                **(call.model_extra or {}),
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        )
        if call.model_extra:
            provider_fields[call_id] = dict(call.model_extra)
    extra: dict[str, Any] = {"tool_calls": legacy} if legacy else {}
    if provider_fields:
        extra[TOOL_CALL_FIELDS_KEY] = provider_fields
    if final:
        extra[FINISH_REASON_KEY] = finish_reason
    if errors:
        extra[TOOL_CALL_ERRORS_KEY] = errors
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def reply_incompleteness(message: ChatMessage) -> Incompleteness | None:
    """Why the reply ``message`` holds did not finish, or None (finished or in progress)."""
    return incompleteness(message.additional_kwargs.get(FINISH_REASON_KEY))


def _logprob_lists(logprobs: Any) -> list[list[LogProb]] | None:
    """Per-token logprobs as LlamaIndex wants them: one list of candidates per token.

    Each token's list holds its ``top_logprobs`` candidates when the server sent them
    (as llama-index-llms-openai reads them), else the chosen token alone.
    """
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("content"), list):
        return None
    lists: list[list[LogProb]] = []
    for entry in logprobs["content"]:
        if not isinstance(entry, dict):
            continue
        candidates = entry.get("top_logprobs") or [entry]
        lists.append(
            [
                LogProb(
                    token=str(item.get("token", "")),
                    logprob=float(item.get("logprob", 0.0)),
                    bytes=list(item.get("bytes") or []),
                )
                for item in candidates
                if isinstance(item, dict)
            ]
        )
    return lists


def completion_from_wire(
    completion: wire.ChatCompletion, *, split_think_tags: bool = True
) -> ChatResponse:
    """A ``ChatResponse`` for a whole (non-streamed) completion.

    ``raw`` is the wire completion; ``additional_kwargs`` holds the token counts;
    ``logprobs`` the per-token logprobs, when the server sent them. With
    ``split_think_tags``, reasoning written inline as a leading ``<think>...</think>``
    becomes a ThinkingBlock instead of text.
    """
    if split_think_tags:
        completion = split_completion(completion)
    logprobs = None
    if completion.choices:
        choice = completion.choices[0]
        reply = choice.message
        message = _assistant_message(
            reply.text,
            reply.reasoning_content,
            reply.tool_calls or [],
            completion.id,
            reply.reasoning_blocks or (),
            choice.finish_reason,
        )
        logprobs = _logprob_lists(choice.logprobs)
    else:
        message = _assistant_message("", None, [], completion.id, (), None)
    return ChatResponse(
        message=message,
        raw=completion,
        additional_kwargs=usage_from_wire(completion.usage),
        logprobs=logprobs,
    )


class StreamConverter:
    """Turns each streamed chunk into the ``ChatResponse`` LlamaIndex yields for it.

    Every response carries the whole message so far (text, reasoning, tool calls whose
    arguments may still be partial JSON), the text this chunk added as ``delta``, the
    chunk as ``raw``, the per-token logprobs so far, and, once the server has sent
    them, the token counts. With ``split_think_tags``, leading inline ``<think>``
    reasoning becomes a ThinkingBlock wherever the chunks cut the tags; call
    :meth:`finish` when the stream ends.
    """

    def __init__(self, *, split_think_tags: bool = True) -> None:
        self._accumulator = ChatStreamAccumulator()
        self._think_tags = ThinkTagStream() if split_think_tags else None
        # Running strings, not lists joined per chunk: every response needs the whole
        # text, and one copy of it is cheaper than joining every piece again.
        self._text = ""
        self._reasoning = ""
        # Whether the first choice has had tool calls, signed reasoning blocks or logprobs:
        # until then the accumulator has none to rebuild for every response.
        self._calls = self._blocks = self._logprobs = False
        self._ended = False
        # Nothing but text so far (no reasoning, tool calls, blocks, logprobs, finish
        # reason or usage), and the first choice past any leading <think> reasoning: a
        # text-only chunk then makes a text-only response (see :meth:`convert`).
        self._plain = True
        self._through = self._think_tags is None

    def convert(self, chunk: ChatCompletionChunk, *, split: bool = True) -> ChatResponse:
        """Fold ``chunk`` in and return the response to yield for it."""
        text = chunk.plain_text() if self._plain and self._through and chunk.usage is None else None
        if text is not None:
            # The usual chunk: a piece of text for the first choice, nothing else. The
            # response is the one the general path below builds for it, built directly;
            # the think-tag splitter would pass it unchanged, and the accumulator needs
            # only its id (this converter reads no text, role or model from it).
            if chunk.id and not self._accumulator.id:
                self._accumulator.add(chunk)
            if text:
                self._text += text
            message = ChatMessage(
                role=MessageRole.ASSISTANT,
                blocks=[TextBlock(text=self._text)],
                additional_kwargs={},
            )
            return ChatResponse(message=message, delta=text, raw=chunk)
        if split and self._think_tags is not None:
            chunk = self._think_tags.split(chunk)
            if not self._through:
                self._through = self._think_tags.passing_through(0)
        accumulator = self._accumulator
        accumulator.add(chunk)
        delta = ""
        for choice in chunk.choices:
            if choice.index == 0:
                added = choice.delta
                delta = added.text
                if delta:
                    self._text += delta
                if added.reasoning_content:
                    self._reasoning += added.reasoning_content
                if added.tool_calls:
                    self._calls = True
                if added.reasoning_blocks:
                    self._blocks = True
                if choice.logprobs is not None:
                    self._logprobs = True
        reason = accumulator.finish_reason(0)
        self._plain = not (
            self._calls
            or self._blocks
            or self._logprobs
            or self._reasoning
            or self._ended
            or reason is not None
            or accumulator.usage is not None
        )
        message = _assistant_message(
            self._text,
            self._reasoning or None,
            accumulator.tool_calls(0) if self._calls else [],
            accumulator.id,
            accumulator.reasoning_blocks(0) if self._blocks else [],
            reason if reason is not None or self._ended else _IN_PROGRESS,
        )
        # Only the fields that hold something: each keyword costs validation, and the
        # others are the defaults (no usage and no logprobs: most chunks).
        fields: dict[str, Any] = {}
        if accumulator.usage is not None:
            fields["additional_kwargs"] = usage_from_wire(accumulator.usage)
        if self._logprobs:
            fields["logprobs"] = _logprob_lists(accumulator.logprobs(0))
        return ChatResponse(message=message, delta=delta, raw=chunk, **fields)

    def finish(self) -> ChatResponse | None:
        """The last response, when the stream's end adds one; call it when the stream ends.

        It carries text the think-tag splitter still held, or, for a stream that ended
        without a finish reason (the decoder accepted its ``[DONE]``), the message marked
        finished, so that its tool calls are judged (see ``tool_selections``).
        """
        self._ended = True
        self._plain = False
        rest = self._think_tags.flush() if self._think_tags is not None else None
        if rest is not None:
            return self.convert(rest, split=False)
        if self._accumulator.finish_reason(0) is None:
            return self.convert(ChatCompletionChunk(choices=[]), split=False)
        return None


def completion_response_from_chat(response: ChatResponse) -> CompletionResponse:
    """The ``CompletionResponse`` that ``complete`` returns for a chat reply.

    Its ``additional_kwargs`` hold the token counts and, once the reply finished, its
    ``finish_reason`` (as the chat message's do: ``"length"`` says it was cut off).
    """
    extra = response.additional_kwargs
    message_extra = response.message.additional_kwargs
    if FINISH_REASON_KEY in message_extra:
        extra = {**extra, FINISH_REASON_KEY: message_extra[FINISH_REASON_KEY]}
    return CompletionResponse(
        text=response.message.content or "",
        raw=response.raw,
        additional_kwargs=extra,
        delta=response.delta,
        logprobs=response.logprobs,
    )


# ----------------------------------------------------------------- tool calls


def tool_selections(message: ChatMessage) -> list[ToolSelection]:
    """The tool calls a message makes, as LlamaIndex ``ToolSelection`` objects.

    A message still being streamed (no ``additional_kwargs["finish_reason"]``) shows its
    partial arguments as far as they can be read, without raising. A finished reply's
    calls are final: one listed in ``additional_kwargs["tool_call_errors"]`` (cut off by
    ``max_tokens`` or a filter, or not valid JSON) raises.

    Raises:
        IncompleteReplyError: for a finished reply's call that did not arrive whole; its
            message names the cause and the setting to change (``max_tokens``).
    """
    blocks = [block for block in message.blocks if isinstance(block, ToolCallBlock)]
    if not blocks:
        blocks = [
            ToolCallBlock(
                tool_call_id=call.id,
                tool_name=call.function.name,
                tool_kwargs=call.function.arguments,
            )
            for call in wire_tool_calls(message)
        ]
    final = FINISH_REASON_KEY in message.additional_kwargs
    errors = message.additional_kwargs.get(TOOL_CALL_ERRORS_KEY) or {}
    selections: list[ToolSelection] = []
    for index, block in enumerate(blocks):
        if final and block.tool_call_id in errors:
            raise IncompleteReplyError(
                str(errors[block.tool_call_id]), reply_incompleteness(message)
            )
        raw = block.tool_kwargs
        if isinstance(raw, dict):
            kwargs = raw
        elif final:
            kwargs = _final_arguments(raw, block.tool_name)
        else:
            kwargs = parse_partial_json(raw)
        selections.append(
            ToolSelection(
                tool_id=block.tool_call_id or _fallback_call_id(index, block.tool_name),
                tool_name=block.tool_name,
                tool_kwargs=kwargs,
            )
        )
    return selections


def _final_arguments(text: str, name: str) -> dict[str, Any]:
    """A finished reply's arguments, parsed strictly."""
    try:
        return parse_tool_arguments(text)
    except ToolArgumentsError as exc:
        raise IncompleteReplyError(f"the call to {name!r} is unusable: {exc}") from None


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
