"""Reading replies whose optional members come in another JSON type than the spec's.

ModelsLab routes to many upstream servers, and some send values of another JSON type
than OpenAI or Anthropic do: ``null`` token counts, ``created`` as a date string, an
``index`` of ``null``, a message ``content`` that is a single block rather than a list.
None of these may cost the caller the answer. A reply that fails validation is repaired
and validated again: a member that is only metadata (the list below) and has a value
of the wrong type is removed, so it takes its default; a single content block becomes a
one-block list. Members that carry the answer (text, tool names, arguments) are never
removed unless they are ``null`` (which means absent): if they cannot be read,
validation still fails and the caller gets a typed error naming them.

Values whose meaning is unambiguous are converted where they are read instead (see
``ResponseFunctionCall.arguments``: an object becomes its JSON text).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["NULL_MEANS_ABSENT", "OPTIONAL_METADATA", "validate_leniently"]

M = TypeVar("M", bound=BaseModel)

OPTIONAL_METADATA = frozenset(
    (
        # chat completions
        "id",
        "object",
        "created",
        "model",
        "system_fingerprint",
        "index",
        "finish_reason",
        "logprobs",
        "role",
        "usage",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
        "reasoning_content",
        # messages
        "stop_reason",
        "stop_sequence",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    )
)
"""Members that are dropped (to their default) when their value has the wrong type."""

NULL_MEANS_ABSENT = frozenset(("choices", "delta", "message", "function", "tool_calls", "content"))
"""Members that carry the answer: dropped to their default only when they are ``null``."""

_ROUNDS = 4


def _repair(payload: Any, error_locations: list[tuple[int | str, ...]]) -> bool:
    """Fix, in place, what the validation errors point at; True when anything changed."""
    changed = False
    for loc in error_locations:
        node: Any = payload
        target: tuple[dict[str, Any], str] | None = None
        for position, part in enumerate(loc):
            if not isinstance(node, (dict, list)):
                break
            if isinstance(node, dict) and isinstance(part, str) and part in node:
                in_tool_call = "tool_calls" in loc[:position]
                if part == "content" and isinstance(node[part], dict):
                    node[part] = [node[part]]  # one content block: a list of one
                    changed = True
                    target = None
                    break
                optional = part in OPTIONAL_METADATA and not (part == "index" and in_tool_call)
                if optional or (part in NULL_MEANS_ABSENT and node[part] is None):
                    target = (node, part)  # the deepest one wins
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
            else:
                break
        if target is not None:
            container, name = target
            if name in container:
                del container[name]
                changed = True
    return changed


def validate_leniently(model: type[M], payload: Any) -> M:
    """``model`` validated from ``payload``, repairing optional members that do not fit.

    ``payload`` (parsed JSON) may be modified. Raises the last ``ValidationError`` when
    what fails is not optional metadata.
    """
    for _ in range(_ROUNDS):
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            locations = [tuple(error["loc"]) for error in exc.errors()]
            if not _repair(payload, locations):
                raise
    return model.model_validate(payload)
