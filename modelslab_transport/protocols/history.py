"""What both protocol encoders do to a conversation before sending it.

Blank text is dropped (a cache marker moves to the part before), and turns left empty,
except tool results and assistant tool calls. A ``system`` / ``developer`` message after
the first other turn joins the leading system prompt, as chat templates that take one
system message only first (Qwen3, Gemma) and the Messages protocol need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from modelslab_transport.wire.chat import ChatMessage, ContentPart, FilePart, ImagePart, TextPart

__all__ = [
    "SYSTEM_ROLES",
    "Conversation",
    "UnsupportedContentError",
    "normalise_history",
    "nothing_to_send",
    "part_kind",
]

SYSTEM_ROLES = ("system", "developer")


class UnsupportedContentError(ValueError):
    """A message holds content the chosen protocol has no form for; nothing was sent.

    Attributes:
        part: What the content is (``"image"``, ``"file given by URL"``...).
        role: The role of the message that holds it (``"tool"`` for a tool result).
        api: The protocol (``"chat_completions"`` or ``"messages"``).
    """

    def __init__(self, part: str, role: str, api: str, hint: str = "") -> None:
        where = "a tool result" if role == "tool" else f"a {role} message"
        message = f"api={api!r} has no form for a {part} in {where}"
        super().__init__(f"{message}: {hint}" if hint else message)
        self.part = part
        self.role = role
        self.api = api


def part_kind(part: ContentPart) -> str:
    """A content part's kind as error messages name it: text, image, file given by URL, file."""
    if isinstance(part, ImagePart):
        return "image"
    if isinstance(part, FilePart):
        return "file given by URL" if part.file.url is not None else "file"
    return "text"


@dataclass
class Conversation:
    """A normalised history: the system messages (``leading``: how many opened it), other turns."""

    system: list[ChatMessage] = field(default_factory=list)
    turns: list[ChatMessage] = field(default_factory=list)
    leading: int = 0


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


def normalise_history(messages: Sequence[ChatMessage]) -> Conversation:
    """``messages`` (not modified) without blank text and empty turns, system messages apart."""
    conversation = Conversation()
    for message in messages:
        kept = _without_blank_text(message)
        if kept is None:
            continue
        if kept.role in SYSTEM_ROLES:
            conversation.system.append(kept)
            if not conversation.turns:
                conversation.leading += 1
        else:
            conversation.turns.append(kept)
    return conversation


def nothing_to_send(count: int) -> ValueError:
    """The error for a history whose every message is empty or whitespace only."""
    return ValueError(
        f"there is nothing to send: all {count} message(s) are empty or whitespace only; "
        "add the user's message"
    )
