"""What both protocol encoders do to a conversation before sending it.

Blank text is dropped (a cache marker moves to the part before), and turns left empty,
except tool results and assistant tool calls. System and developer messages, wherever they
stand, become one system prompt, as chat templates that take one system message only, and
first (Qwen3, Gemma), and the Messages protocol need.

Tool calls and tool results are paired as both protocols need (OpenAI: "An assistant
message with 'tool_calls' must be followed by tool messages responding to each
'tool_call_id'"; Anthropic: each ``tool_use`` answered by a ``tool_result`` in the next
user turn): the results of an assistant turn's calls follow it directly, in the order of
the calls, ahead of any user or system message that stood between; assistant turns that
directly follow a turn with tool calls join it (as parallel calls). A call id used again
by a later turn becomes ``<id>_<n>`` (its n-th use) on that turn's call and results.
A result that answers no call of the turn before it, a call without a result before the
next assistant turn, two results for one call, and a call or result without an id raise
:class:`ToolPairingError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelslab_transport.errors import ToolPairingError, UnsupportedContentError
from modelslab_transport.wire.chat import ChatMessage, ContentPart, FilePart, ImagePart, TextPart

__all__ = [
    "SYSTEM_ROLES",
    "Conversation",
    "ToolPairingError",
    "UnsupportedContentError",
    "normalise_history",
    "nothing_to_send",
    "part_kind",
    "request_cache_control",
]

SYSTEM_ROLES = ("system", "developer")


def part_kind(part: ContentPart) -> str:
    """A content part's kind as error messages name it: text, image, file given by URL, file."""
    if isinstance(part, ImagePart):
        return "image"
    if isinstance(part, FilePart):
        return "file given by URL" if part.file.url is not None else "file"
    return "text"


@dataclass
class Conversation:
    """A normalised history: its system messages, and the other turns with tools paired."""

    system: list[ChatMessage] = field(default_factory=list)
    turns: list[ChatMessage] = field(default_factory=list)


def _is_blank(text: str) -> bool:
    return not text.strip()


def _without_blank_parts(parts: Sequence[ContentPart]) -> list[ContentPart]:
    kept: list[ContentPart] = []
    for part in parts:
        if isinstance(part, TextPart) and _is_blank(part.text):
            marker = part.cache_control
            if marker is not None and kept and kept[-1].cache_control is None:
                kept[-1] = kept[-1].model_copy(update={"cache_control": marker})
            continue
        kept.append(part)
    return kept


def _without_blank_text(message: ChatMessage) -> ChatMessage | None:
    """``message`` without blank text; None when nothing worth sending is left."""
    content = message.content
    new: str | list[ContentPart] | None
    if isinstance(content, str):
        new = None if _is_blank(content) else content
    elif content is not None:
        new = _without_blank_parts(content) or None
    else:
        new = None
    if new is None:
        if message.role == "tool":
            new = ""  # a tool result is always sent: its call needs an answer
        elif not (message.role == "assistant" and message.tool_calls):
            return None
    if new is content:
        return message
    update: dict[str, Any] = {"content": new}
    return message.model_copy(update=update)


def _names(ids: Sequence[str]) -> str:
    return ", ".join(repr(call_id) for call_id in ids)


def _orphan(result: ChatMessage, called: set[str]) -> ToolPairingError:
    call_id = result.tool_call_id or ""
    if not call_id:
        return ToolPairingError(
            "a tool result has an empty tool_call_id: give it the id of the tool call it answers",
            [call_id],
        )
    where = (
        "answers a call of an earlier assistant turn, after another assistant turn"
        if call_id in called
        else "answers no tool call in the history (the turn that made it was trimmed away?)"
    )
    return ToolPairingError(
        f"the tool result for tool_call_id {call_id!r} {where}: both protocols need each "
        "result right after the assistant turn that made its call; keep that turn in the "
        "history, or drop this result",
        [call_id],
    )


def _call_ids(message: ChatMessage, taken: set[str]) -> list[str]:
    """The ids the calls of ``message`` go out with (an id in ``taken`` gets ``_<n>``)."""
    given = [call.id for call in message.tool_calls or []]
    sent: list[str] = []
    for position, call_id in enumerate(given):
        if not call_id:
            name = (message.tool_calls or [])[position].function.name
            raise ToolPairingError(
                f"tool call {position} ({name!r}) of an assistant turn has no id: give it "
                "the id that its tool result names",
                [""],
            )
        if call_id in given[:position]:
            raise ToolPairingError(
                f"an assistant turn has two tool calls with the id {call_id!r}: give each "
                "call an id of its own",
                [call_id],
            )
        new, uses = call_id, 1
        while new in taken:
            uses += 1
            new = f"{call_id}_{uses}"
        taken.add(new)
        sent.append(new)
    return sent


def _one_assistant_turn(run: Sequence[ChatMessage]) -> ChatMessage:
    """Consecutive assistant turns, the first with tool calls, as one turn, in order."""
    if len(run) == 1:
        return run[0]
    parts: list[ContentPart] = []
    for message in run:
        if isinstance(message.content, str):
            parts += [TextPart(text=message.content)] if message.content else []
        else:
            parts += message.content or []
    content: str | list[ContentPart] | None = parts or None
    if all(isinstance(part, TextPart) and part.cache_control is None for part in parts):
        content = "\n\n".join(part.text for part in parts if isinstance(part, TextPart)) or None
    reasoning = [message.reasoning_content for message in run if message.reasoning_content]
    return ChatMessage(
        role="assistant",
        content=content,
        name=run[0].name,
        reasoning_content="".join(reasoning) or None,
        tool_calls=[call for message in run for call in message.tool_calls or []],
        signed_reasoning=[b for message in run for b in message.signed_reasoning or []] or None,
    )


def _paired(turns: Sequence[ChatMessage]) -> list[ChatMessage]:
    """``turns`` with each call turn's results right after it, in call order (module doc)."""
    paired: list[ChatMessage] = []
    called: set[str] = set()
    taken: set[str] = set()
    position = 0
    while position < len(turns):
        message = turns[position]
        position += 1
        if message.role == "tool":
            raise _orphan(message, called)
        if message.role != "assistant" or not message.tool_calls:
            paired.append(message)
            continue
        run = [message]
        while position < len(turns) and turns[position].role == "assistant":
            run.append(turns[position])
            position += 1
        message = _one_assistant_turn(run)
        assert message.tool_calls  # the run's first turn has some
        given = [call.id for call in message.tool_calls]
        sent = _call_ids(message, taken)
        called.update(given)
        if sent != given:
            calls = [
                c.model_copy(update={"id": i})
                for c, i in zip(message.tool_calls, sent, strict=True)
            ]
            message = message.model_copy(update={"tool_calls": calls})
        end = position
        while end < len(turns) and turns[end].role != "assistant":
            end += 1
        results: dict[str, ChatMessage] = {}
        others: list[ChatMessage] = []
        for turn in turns[position:end]:
            if turn.role != "tool":
                others.append(turn)
                continue
            call_id = turn.tool_call_id or ""
            if call_id not in given:
                raise _orphan(turn, called)
            if call_id in results:
                raise ToolPairingError(
                    f"two tool results answer the tool call {call_id!r}: send one result "
                    "per call (join their content)",
                    [call_id],
                )
            results[call_id] = turn
        missing = [call_id for call_id in given if call_id not in results]
        if missing:
            raise ToolPairingError(
                f"the tool call(s) {_names(missing)} have no tool result before the next "
                "assistant turn: both protocols need every call answered; add a tool "
                "message for each (its content may say the call was not run), or drop "
                "the calls from the assistant turn",
                missing,
            )
        paired.append(message)
        for call_id, new in zip(given, sent, strict=True):
            result = results[call_id]
            paired.append(
                result if new == call_id else result.model_copy(update={"tool_call_id": new})
            )
        paired += others
        position = end
    return paired


def normalise_history(messages: Sequence[ChatMessage], *, pair: bool = True) -> Conversation:
    """``messages`` (not modified) normalised as the module doc says, system messages apart.

    With ``pair=False`` tool calls and results stay as they are: a token count may be
    asked for any part of a history (LangChain's ``trim_messages`` counts partial ones).

    Raises:
        ToolPairingError: when tool calls and results do not pair up (module doc).
    """
    conversation = Conversation()
    turns: list[ChatMessage] = []
    for message in messages:
        kept = _without_blank_text(message)
        if kept is None:
            continue
        if kept.role in SYSTEM_ROLES:
            conversation.system.append(kept)
        else:
            turns.append(kept)
    conversation.turns = _paired(turns) if pair else turns
    return conversation


def request_cache_control(extra: dict[str, Any] | None) -> dict[str, Any] | None:
    """The request-wide prompt-cache marker among a request's extra fields, or None.

    It comes from a per-call or ``bind_tools(..., cache_control=...)`` ``cache_control``.

    Raises:
        ValueError: when it is not a dict (``{"type": "ephemeral"}``).
    """
    marker = (extra or {}).get("cache_control")
    if marker is not None and not isinstance(marker, dict):
        raise ValueError(
            f"cache_control must be a dict such as {{'type': 'ephemeral'}}, got {marker!r}"
        )
    return marker


def nothing_to_send(count: int) -> ValueError:
    """The error for a history whose every message is empty or whitespace only."""
    return ValueError(
        f"there is nothing to send: all {count} message(s) are empty or whitespace only; "
        "add the user's message"
    )
