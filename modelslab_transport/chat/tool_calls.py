"""Framework-neutral helpers for tool calling and structured output."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import from_json

__all__ = [
    "TOOL_CALL_FIELDS_KEY",
    "ToolArgumentsError",
    "chat_tool_choice",
    "json_schema_response_format",
    "parse_partial_json",
    "parse_tool_arguments",
    "stored_provider_fields",
]

_NAME = re.compile(r"[^a-zA-Z0-9_-]+")

TOOL_CALL_FIELDS_KEY = "tool_call_provider_fields"
"""``additional_kwargs`` key: tool call id -> the server's extra fields on it, sent back as is."""


def stored_provider_fields(
    additional_kwargs: Mapping[str, Any], call_id: str | None
) -> dict[str, Any]:
    """The provider fields kept for the tool call ``call_id`` (a copy; ``{}`` when none)."""
    fields = additional_kwargs.get(TOOL_CALL_FIELDS_KEY)
    if not isinstance(fields, Mapping) or call_id is None:
        return {}
    extra = fields.get(call_id)
    return dict(extra) if isinstance(extra, Mapping) else {}


class ToolArgumentsError(ValueError):
    """Tool-call arguments that are not a JSON object."""


def chat_tool_choice(
    choice: str | bool | dict[str, Any] | None, tool_names: Sequence[str]
) -> str | dict[str, Any] | None:
    """Map a tool choice in any framework's vocabulary onto the chat-completions wire.

    ``"any"`` and ``True`` mean ``"required"``, ``False`` ``"none"``; a name forces that tool;
    an OpenAI-shaped dict passes if it names a known tool.

    Raises:
        ValueError: for a name that is not among ``tool_names`` or an unknown value.
    """
    if choice is None:
        return None
    if choice is True:
        return "required"
    if choice is False:
        return "none"
    if isinstance(choice, str):
        if choice in ("any", "required"):
            return "required"
        if choice in ("auto", "none"):
            return choice
        if choice in tool_names:
            return {"type": "function", "function": {"name": choice}}
        raise ValueError(
            f"tool_choice {choice!r} is neither 'auto', 'none', 'any', 'required' nor the name "
            f"of a bound tool (bound: {sorted(tool_names)})"
        )
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") or choice.get("name")
        if choice.get("type") in ("function", "tool") and isinstance(name, str):
            if tool_names and name not in tool_names:
                raise ValueError(
                    f"tool_choice names {name!r}, which is not a bound tool "
                    f"(bound: {sorted(tool_names)})"
                )
            return {"type": "function", "function": {"name": name}}
        if choice.get("type") in ("auto", "none"):
            return str(choice["type"])
        if choice.get("type") in ("any", "required"):
            return "required"
        raise ValueError(f"unrecognised tool_choice dict: {choice!r}")
    raise ValueError(f"unrecognised tool_choice: {choice!r}")


def parse_tool_arguments(arguments: str | dict[str, Any] | None) -> dict[str, Any]:
    """Parse a complete tool call's arguments into a dict, strictly (``""``, None: ``{}``).

    Raises:
        ToolArgumentsError: when the text is not JSON or not a JSON object.
    """
    if arguments is None:
        return {}
    if isinstance(arguments, dict):
        return arguments
    if not arguments.strip() or arguments.strip() == "null":
        return {}
    try:
        value = from_json(arguments)
    except ValueError as exc:
        raise ToolArgumentsError(f"tool-call arguments are not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ToolArgumentsError(
            f"tool-call arguments must be a JSON object, got {type(value).__name__}"
        )
    return value


_OPEN_ESCAPE = re.compile(r"(\\+)(?:u[0-9a-fA-F]{0,3})?$")
"""Backslashes (and a partial ``\\uXXXX``) at the end of incomplete JSON."""


def parse_partial_json(text: str | None) -> dict[str, Any]:
    """The object parsed so far from incomplete JSON, to show a stream in progress; never raises."""
    if text is None or not text.strip():
        return {}
    escape = _OPEN_ESCAPE.search(text)
    if escape is not None and len(escape.group(1)) % 2 == 1:
        text = text[: escape.end(1) - 1]  # an escape cut in half: pydantic-core versions differ
    try:
        value = from_json(text, allow_partial="trailing-strings")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def json_schema_response_format(
    schema: dict[str, Any], *, name: str | None = None, strict: bool | None = None
) -> dict[str, Any]:
    """The ``response_format`` asking for JSON that follows ``schema`` (name: its ``title``)."""
    raw_name = name or str(schema.get("title") or "response")
    spec: dict[str, Any] = {"name": _NAME.sub("_", raw_name)[:64] or "response", "schema": schema}
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}
