"""UTF-16 surrogates in replies: pairs a stream splits across events, and lone halves.

A split pair is joined (:class:`SurrogateJoiner`); any other lone surrogate becomes U+FFFD,
as invalid UTF-8 does with ``errors="replace"``.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "SurrogateJoiner",
    "lone_surrogate_error",
    "well_formed",
    "well_formed_pairs",
    "well_formed_strings",
]

_SURROGATE = re.compile("[\ud800-\udfff]")

Path = tuple[str | int, ...]


def well_formed(text: str) -> str:
    """``text`` with its surrogate pairs as characters and any lone surrogate as U+FFFD."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def well_formed_strings(value: Any) -> Any:
    """:func:`well_formed` applied to every string in decoded JSON (in place)."""
    if isinstance(value, str):
        return well_formed(value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = well_formed_strings(item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = well_formed_strings(item)
    return value


class SurrogateJoiner:
    """Joins surrogate pairs a stream splits between two events (one per stream).

    A high surrogate ending a string is held for the string at the same JSON path in the
    next event; if that event has none there, the half becomes U+FFFD in its place.
    """

    __slots__ = ("_held",)

    def __init__(self) -> None:
        self._held: dict[Path, str] = {}

    @property
    def holding(self) -> bool:
        """Whether a half waits for the next event."""
        return bool(self._held)

    def join(self, payload: Any) -> Any:
        """``payload`` (decoded JSON) with well-formed strings, pairs joined (in place)."""
        held, self._held = self._held, {}
        payload = self._walk(payload, (), held)
        for path, half in held.items():  # no string at its place this time
            parent = _at(payload, path[:-1])
            if isinstance(parent, dict) and parent.get(path[-1]) is None:
                parent[path[-1]] = well_formed(half)
        return payload

    def _walk(self, value: Any, path: Path, held: dict[Path, str]) -> Any:
        if isinstance(value, str):
            value = held.pop(path, "") + value
            if value and "\ud800" <= value[-1] <= "\udbff":
                self._held[path] = value[-1]
                value = value[:-1]
            return well_formed(value)
        if isinstance(value, dict):
            for key, item in value.items():
                value[key] = self._walk(item, (*path, key), held)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = self._walk(item, (*path, index), held)
        return value


def _at(payload: Any, path: Path) -> Any:
    for step in path:
        if isinstance(payload, dict) and isinstance(step, str):
            payload = payload.get(step)
        elif isinstance(payload, list) and isinstance(step, int) and step < len(payload):
            payload = payload[step]
        else:
            return None
    return payload


def lone_surrogate_error(payload: Any) -> ValueError:
    """The error for a request text with a lone surrogate: its path and code point, not the text."""
    for path, text in _strings(payload, ""):
        found = _SURROGATE.search(well_formed_pairs(text))
        if found is not None:
            return ValueError(
                f"{path or 'the request'} has a lone UTF-16 surrogate "
                f"(U+{ord(found.group()):04X} at index {found.start()}), which UTF-8 cannot "
                "carry: remove it, or decode the text with errors='replace'"
            )
    return ValueError("the request's text cannot be encoded as UTF-8")


def well_formed_pairs(text: str) -> str:
    """``text`` with its surrogate pairs as characters (lone ones kept)."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _strings(value: Any, path: str) -> Any:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")
