"""JSON text from the network, parsed so that every failure (deep nesting too) is a ValueError."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "loads"]

MAX_DEPTH = 100
"""The deepest nesting of arrays and objects accepted (levels)."""


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers more than ``limit`` levels (no recursion)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads(text: str | bytes) -> Any:
    """Parse JSON ``text`` as ``json.loads`` does.

    Raises:
        ValueError: for text that is not JSON or nests over :data:`MAX_DEPTH` levels.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to parse") from None
    if isinstance(value, dict | list) and _depth_exceeds(value, MAX_DEPTH):
        raise ValueError(f"the JSON nests arrays and objects over {MAX_DEPTH} levels deep")
    return value
