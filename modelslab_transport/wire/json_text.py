"""JSON text from the network, parsed so that every failure is a ``ValueError``.

``json.loads`` raises ``RecursionError`` for arrays or objects nested deeper than the
interpreter's recursion limit (``[[[[...]]]]``, a few hundred kilobytes), and a value
that parses but is nested nearly that deep makes any recursive reader of it fail the
same way (the error-body lookup, pydantic, ``repr``). A server or a model can send
either, so :func:`loads` refuses both as bad JSON: no reply of any API is nested
:data:`MAX_DEPTH` levels deep.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["MAX_DEPTH", "loads"]

MAX_DEPTH = 100
"""The deepest nesting of arrays and objects accepted (levels)."""


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers more than ``limit`` levels (walked without recursion)."""
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
    """Parse JSON ``text`` as ``json.loads`` does, refusing nesting over :data:`MAX_DEPTH`.

    Raises:
        ValueError: for text that is not JSON (``json.JSONDecodeError``), and for JSON
            nested more than :data:`MAX_DEPTH` levels (or too deeply for the parser).
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to parse") from None
    if isinstance(value, dict | list) and _depth_exceeds(value, MAX_DEPTH):
        raise ValueError(f"the JSON nests arrays and objects over {MAX_DEPTH} levels deep")
    return value
