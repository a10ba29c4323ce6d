"""Folding a chat stream back into the completion it adds up to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelslab_transport.chat.completeness import (
    Incompleteness,
    incompleteness,
    standing_reason,
)
from modelslab_transport.wire.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    Choice,
    ReasoningBlock,
    ResponseFunctionCall,
    ResponseMessage,
    ResponseToolCall,
    Usage,
    content_text,
    new_tool_call_id,
)

__all__ = ["ChatStreamAccumulator", "ToolCallDelta"]


@dataclass
class ToolCallDelta:
    """What one chunk added to one tool call (its fragments in that chunk, merged)."""

    choice: int
    """The choice the call belongs to."""
    index: int
    """The call's index (as the server gave it, or as the accumulator resolved it)."""
    started: bool
    """True when this chunk began the call."""
    id: str | None
    """The call's id (the server's, or one made when its first fragment had none)."""
    name: str
    """The part of the name this chunk added ("" if none)."""
    arguments: str
    """The argument text this chunk added ("" if none)."""


@dataclass
class _PendingCall:
    id: str | None = None
    made_id: str | None = None
    """The id made for a call whose first fragment had none; it stays the call's id."""
    type: str | None = None
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    provider_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class _PendingReasoningBlock:
    type: str
    thinking: list[str] = field(default_factory=list)
    signature: list[str] = field(default_factory=list)
    data: list[str] = field(default_factory=list)


@dataclass
class _PendingChoice:
    role: str = "assistant"
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    reasoning_blocks: dict[int, _PendingReasoningBlock] = field(default_factory=dict)
    logprobs: list[Any] = field(default_factory=list)
    calls: dict[int, _PendingCall] = field(default_factory=dict)
    finish_reason: str | None = None
    last_call: int | None = None
    by_server_index: dict[int, int] = field(default_factory=dict)
    """The server's tool-call index -> the call it currently continues."""


def _add_reasoning_fragment(pending: _PendingChoice, fragment: ReasoningBlock) -> None:
    index = fragment.index if fragment.index is not None else len(pending.reasoning_blocks)
    block = pending.reasoning_blocks.get(index)
    if block is None:
        block = pending.reasoning_blocks[index] = _PendingReasoningBlock(fragment.type)
    for parts, text in (
        (block.thinking, fragment.thinking),
        (block.signature, fragment.signature),
        (block.data, fragment.data),
    ):
        if text:
            parts.append(text)


def _logprob_tokens(logprobs: Any) -> list[Any]:
    """The per-token entries of a choice's ``logprobs`` (``{"content": [...]}``)."""
    if isinstance(logprobs, dict) and isinstance(logprobs.get("content"), list):
        return list(logprobs["content"])
    return []


class ChatStreamAccumulator:
    """Adds up chat chunks: text, reasoning, tool-call fragments, logprobs, finish reason, usage.

    A tool-call fragment continues the call at its ``index`` (or the latest, without
    one) unless it brings a new ``id``, which starts a new call (some servers send every
    parallel call with ``"index": 0``). Calls are numbered in the order they start; name
    fragments are joined (a repeated full name is not doubled). A call whose first
    fragment has no id keeps one from :func:`~modelslab_transport.wire.chat.new_tool_call_id`.
    """

    def __init__(self) -> None:
        self.id: str | None = None
        """The completion id (first one seen)."""
        self.model: str | None = None
        """The model the server says answered (first one seen)."""
        self.created: int | None = None
        """Creation time (first one seen)."""
        self.system_fingerprint: str | None = None
        """The server's fingerprint, if sent."""
        self.usage: Usage | None = None
        """Token usage (from the usage chunk, usually the last)."""
        self._choices: dict[int, _PendingChoice] = {}

    def add(self, chunk: ChatCompletionChunk) -> None:
        """Fold one chunk in."""
        self._fold(chunk, None)

    def add_with_tool_deltas(self, chunk: ChatCompletionChunk) -> list[ToolCallDelta]:
        """Fold one chunk in; return what it added to tool calls, by choice and index."""
        deltas: list[ToolCallDelta] = []
        self._fold(chunk, deltas)
        return deltas

    def _fold(self, chunk: ChatCompletionChunk, deltas: list[ToolCallDelta] | None) -> None:
        self.id = self.id or chunk.id
        self.model = self.model or chunk.model
        self.created = self.created or chunk.created
        self.system_fingerprint = self.system_fingerprint or chunk.system_fingerprint
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            pending = self._choices.get(choice.index)
            if pending is None:
                pending = self._choices[choice.index] = _PendingChoice()
            delta = choice.delta
            if delta.role:
                pending.role = delta.role
            content = delta.content  # ``delta.text``, without its two calls for a string
            text = content if type(content) is str else content_text(content)
            if text:
                pending.content.append(text)
            if delta.reasoning_content:
                pending.reasoning.append(delta.reasoning_content)
            if delta.reasoning_blocks:
                for reasoning_fragment in delta.reasoning_blocks:
                    _add_reasoning_fragment(pending, reasoning_fragment)
            if choice.logprobs is not None:
                pending.logprobs += _logprob_tokens(choice.logprobs)
            if delta.tool_calls:
                if deltas is None:
                    for fragment in delta.tool_calls:
                        self._add_fragment(pending, fragment)
                else:
                    deltas += self._add_fragments(choice.index, pending, delta.tool_calls)
            if choice.finish_reason:
                pending.finish_reason = standing_reason(pending.finish_reason, choice.finish_reason)

    @classmethod
    def _add_fragments(
        cls, choice: int, pending: _PendingChoice, fragments: list[ResponseToolCall]
    ) -> list[ToolCallDelta]:
        added: dict[int, ToolCallDelta] = {}
        for fragment in fragments:
            index, started, name, arguments = cls._add_fragment(pending, fragment)
            delta = added.get(index)
            if delta is None:
                added[index] = ToolCallDelta(choice, index, started, None, name, arguments)
            else:
                delta.name += name
                delta.arguments += arguments
        for index, delta in added.items():
            call = pending.calls[index]
            delta.id = call.made_id or call.id
        return [added[index] for index in sorted(added)]

    @staticmethod
    def _add_fragment(
        pending: _PendingChoice, fragment: ResponseToolCall
    ) -> tuple[int, bool, str, str]:
        """Fold one fragment in; return (call index, began the call, name added, args added)."""
        calls = pending.calls
        given = fragment.index
        current = pending.last_call if given is None else pending.by_server_index.get(given)
        if current is None or (
            fragment.id is not None
            and calls[current].id is not None
            and fragment.id != calls[current].id
        ):
            # A new call: keep the server's index when it is free, else take the next one.
            index = given if given is not None and given not in calls else len(calls)
            while index in calls:
                index += 1
            if given is not None:
                pending.by_server_index[given] = index
        else:
            index = current
        started = index not in pending.calls
        call = pending.calls.setdefault(index, _PendingCall())
        pending.last_call = index
        if started and fragment.id is None:
            call.made_id = new_tool_call_id()
        call.id = call.id or fragment.id
        call.type = call.type or fragment.type
        if fragment.model_extra:
            for key, value in fragment.model_extra.items():
                call.provider_fields.setdefault(key, value)
        name = fragment.function.name
        if name and name != call.name:
            call.name += name
        else:
            name = ""
        arguments = fragment.function.arguments or ""
        if arguments:
            call.arguments.append(arguments)
        return index, started, name, arguments

    def text(self, index: int = 0) -> str:
        """The text of choice ``index`` so far."""
        pending = self._choices.get(index)
        return "".join(pending.content) if pending else ""

    def tool_calls(self, index: int = 0) -> list[ResponseToolCall]:
        """The tool calls of choice ``index`` so far (arguments maybe incomplete), by index."""
        pending = self._choices.get(index)
        if pending is None:
            return []
        return [
            ResponseToolCall(
                index=i,
                id=call.made_id or call.id,
                type=call.type or "function",
                function=ResponseFunctionCall(name=call.name, arguments="".join(call.arguments)),
                **call.provider_fields,
            )
            for i, call in sorted(pending.calls.items())
        ]

    def reasoning_blocks(self, index: int = 0) -> list[ReasoningBlock]:
        """The signed / redacted reasoning blocks of choice ``index`` so far, in order."""
        pending = self._choices.get(index)
        if pending is None:
            return []
        return [
            ReasoningBlock(
                type=block.type,
                index=i,
                thinking="".join(block.thinking) if block.thinking else None,
                signature="".join(block.signature) if block.signature else None,
                data="".join(block.data) if block.data else None,
            )
            for i, block in sorted(pending.reasoning_blocks.items())
        ]

    def logprobs(self, index: int = 0) -> dict[str, Any] | None:
        """Choice ``index``'s per-token logprobs so far as ``{"content": [...]}``, or None."""
        pending = self._choices.get(index)
        if pending is None or not pending.logprobs:
            return None
        return {"content": list(pending.logprobs)}

    def finish_reason(self, index: int = 0) -> str | None:
        """The finish reason of choice ``index``, once the server sent it."""
        pending = self._choices.get(index)
        return pending.finish_reason if pending else None

    def incomplete(self, index: int = 0) -> Incompleteness | None:
        """Why choice ``index`` did not finish, or None (finished, or no reason sent yet)."""
        return incompleteness(self.finish_reason(index))

    def completion(self) -> ChatCompletion:
        """Everything folded so far, as a non-streamed completion."""
        choices = [
            Choice(
                index=i,
                message=ResponseMessage(
                    role=pending.role,
                    content="".join(pending.content) if pending.content else None,
                    reasoning_content="".join(pending.reasoning) if pending.reasoning else None,
                    reasoning_blocks=self.reasoning_blocks(i) or None,
                    tool_calls=self.tool_calls(i) or None,
                ),
                finish_reason=pending.finish_reason,
                logprobs=self.logprobs(i),
            )
            for i, pending in sorted(self._choices.items())
        ]
        return ChatCompletion(
            id=self.id,
            object="chat.completion",
            created=self.created,
            model=self.model,
            choices=choices,
            usage=self.usage,
            system_fingerprint=self.system_fingerprint,
        )
