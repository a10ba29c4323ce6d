"""Whether a reply is whole: read once from the finish / stop reason of either protocol.

Reasons read as "not finished" (compared without case), by source:

- ``length`` (OpenAI, vLLM, llama.cpp, Ollama, TGI), ``max_tokens`` (Anthropic, Cohere,
  Amazon Bedrock), ``max_output_tokens`` (Gemini), ``max_length`` (Hugging Face
  pipelines): the token limit.
- ``model_context_window_exceeded`` (Anthropic, Bedrock), ``model_length`` (Mistral),
  ``error_limit`` (Cohere): the context window.
- ``content_filter`` (OpenAI, Azure), ``refusal`` (Anthropic), ``safety``, ``recitation``,
  ``blocklist``, ``prohibited_content``, ``spii``, ``image_safety``,
  ``image_prohibited_content``, ``image_recitation`` (Gemini), ``error_toxic`` (Cohere),
  ``content_filtered``, ``guardrail_intervened`` (Amazon Bedrock): the provider's filter.
- ``malformed_function_call``, ``unexpected_tool_call``, ``too_many_tool_calls`` (Gemini):
  a tool call the server could not use.
- ``pause_turn`` (Anthropic): a paused turn; ``abort``, ``error`` (vLLM, OpenRouter, Mistral),
  ``insufficient_system_resource`` (DeepSeek), ``other``, ``language`` (Gemini),
  ``timeout``, ``user_cancel`` (Cohere), ``cancelled``: stopped by the server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelslab_transport.chat.tool_calls import ToolArgumentsError, parse_tool_arguments

if TYPE_CHECKING:
    from modelslab_transport.wire.chat import ResponseToolCall

__all__ = [
    "IncompleteReplyError",
    "Incompleteness",
    "incompleteness",
    "judge_tool_calls",
    "require_whole",
    "standing_reason",
]

_TOKEN_LIMIT = frozenset(("length", "max_tokens", "max_output_tokens", "max_length"))
_CONTEXT_WINDOW = frozenset(("model_context_window_exceeded", "model_length", "error_limit"))
_FILTERED = frozenset(
    (
        "content_filter",
        "refusal",
        "safety",
        "recitation",
        "blocklist",
        "prohibited_content",
        "spii",
        "image_safety",
        "image_prohibited_content",
        "image_recitation",
        "error_toxic",
        "content_filtered",
        "guardrail_intervened",
    )
)
_TOOL_CALL = frozenset(("malformed_function_call", "unexpected_tool_call", "too_many_tool_calls"))
_PAUSED = frozenset(("pause_turn",))
_STOPPED = frozenset(
    (
        "abort",
        "error",
        "insufficient_system_resource",
        "other",
        "language",
        "timeout",
        "user_cancel",
        "cancelled",
        "canceled",
    )
)


@dataclass(frozen=True)
class Incompleteness:
    """Why a reply did not finish, and what to change.

    ``finish_reason`` is as sent; ``cause`` is ``"max_tokens"``, ``"context_window"``,
    ``"content_filter"``, ``"tool_call"``, ``"pause_turn"`` or ``"stopped"``; ``setting``
    changes it, or None.
    """

    finish_reason: str
    cause: str
    setting: str | None

    @property
    def message(self) -> str:
        """One sentence: what happened (the finish reason quoted) and what to do."""
        said = f"finish_reason {self.finish_reason!r}"
        if self.cause == "max_tokens":
            return f"the reply was cut off at the max_tokens limit ({said}): raise max_tokens"
        if self.cause == "context_window":
            return (
                f"the reply was cut off when the model's context window filled ({said}): "
                "shorten the conversation or lower max_tokens"
            )
        if self.cause == "content_filter":
            return f"the reply was cut off by the provider's content filter ({said})"
        if self.cause == "tool_call":
            return (
                f"the server stopped the reply at a tool call it could not use ({said}): "
                "check the tool schemas, or retry"
            )
        if self.cause == "pause_turn":
            return (
                f"the server paused the turn before it finished ({said}): send it back to continue"
            )
        return f"the server stopped the reply before it finished ({said})"


class IncompleteReplyError(ValueError):
    """A reply that did not finish (or whose JSON is not whole) was needed whole.

    Attributes:
        incomplete: Why it did not finish, or None when it finished with invalid JSON.
        setting: The setting that changes it (``"max_tokens"``), or None.
    """

    def __init__(self, message: str, incomplete: Incompleteness | None = None) -> None:
        super().__init__(message)
        self.incomplete = incomplete
        self.setting = incomplete.setting if incomplete is not None else None


def incompleteness(finish_reason: str | None) -> Incompleteness | None:
    """The :class:`Incompleteness` a finish (or stop) reason means, or None if it finished."""
    if not finish_reason:
        return None
    reason = finish_reason.strip().lower()
    for reasons, cause, setting in (
        (_TOKEN_LIMIT, "max_tokens", "max_tokens"),
        (_CONTEXT_WINDOW, "context_window", "max_tokens"),
        (_FILTERED, "content_filter", None),
        (_TOOL_CALL, "tool_call", None),
        (_PAUSED, "pause_turn", None),
        (_STOPPED, "stopped", None),
    ):
        if reason in reasons:
            return Incompleteness(finish_reason, cause, setting)
    return None


def standing_reason(current: str | None, new: str | None) -> str | None:
    """The finish reason that stands when a choice reports ``new`` after ``current``.

    Some servers and proxies repeat it, or add a closing chunk of their own: the first
    reason stands, unless a later one says the reply did not finish.
    """
    if not new or (current and (incompleteness(current) or not incompleteness(new))):
        return current or new or None
    return new


def judge_tool_calls(
    calls: Sequence[ResponseToolCall], incomplete: Incompleteness | None
) -> list[dict[str, Any] | IncompleteReplyError]:
    """Each call's arguments parsed strictly, or the error; a cut reply's last call is cut."""
    judged: list[dict[str, Any] | IncompleteReplyError] = []
    for position, call in enumerate(calls):
        name = call.function.name or "?"
        if incomplete is not None and position == len(calls) - 1:
            judged.append(
                IncompleteReplyError(
                    f"the arguments of the call to {name!r} did not arrive whole: "
                    f"{incomplete.message}",
                    incomplete,
                )
            )
            continue
        try:
            judged.append(parse_tool_arguments(call.function.arguments))
        except ToolArgumentsError as exc:
            judged.append(IncompleteReplyError(f"the call to {name!r} is unusable: {exc}"))
    return judged


def require_whole(incomplete: Incompleteness | None, what: str) -> None:
    """Raise :class:`IncompleteReplyError` naming ``what`` when the reply did not finish."""
    if incomplete is not None:
        raise IncompleteReplyError(f"{what} cannot be read: {incomplete.message}", incomplete)
