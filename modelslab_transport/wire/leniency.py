"""Replies whose optional members come in another JSON type than the spec's.

A reply that fails validation is repaired and validated again: metadata of the wrong type
is removed (it takes its default), a single content block becomes a list of one. Members
that carry the answer are removed only when ``null``; otherwise validation still fails.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["NULL_MEANS_ABSENT", "OPTIONAL_METADATA", "validate_leniently"]

M = TypeVar("M", bound=BaseModel)

OPTIONAL_METADATA = frozenset(
    (
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
    """Fix what the errors point at, in place; True when anything changed."""
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
    """``model`` validated from ``payload`` (modified), repairing optional members.

    Raises:
        ValidationError: when what fails is not optional metadata.
    """
    for _ in range(_ROUNDS):
        try:
            return model.model_validate(payload)
        except ValidationError as exc:
            locations = [tuple(error["loc"]) for error in exc.errors()]
            if not _repair(payload, locations):
                raise
    return model.model_validate(payload)
