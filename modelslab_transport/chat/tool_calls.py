"""Framework-neutral helpers for tool calling and structured output.

Both framework integrations need the same decisions: how a ``tool_choice`` given in
a framework's vocabulary maps onto the wire, how tool-call arguments are parsed
(strictly when a reply is complete, leniently while a stream is still running), and
how a JSON schema becomes a ``response_format``. They live here, once.
"""

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
"""``additional_kwargs`` key, in both frameworks, of the opaque provider fields of tool calls.

Its value maps each tool call's id to the fields the server sent on that call beyond
id, type and function (a Gemini ``thought_signature``, say), which must go back
unchanged with the call in the next request.
"""


def stored_provider_fields(
    additional_kwargs: Mapping[str, Any], call_id: str | None
) -> dict[str, Any]:
    """The provider fields kept for the tool call ``call_id`` (a copy; ``{}`` when none).

    ``additional_kwargs`` is the framework message's; the fields are read from its
    :data:`TOOL_CALL_FIELDS_KEY` entry, and anything not shaped as written there is
    ignored.
    """
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

    ``"any"``, ``"required"`` and ``True`` mean "call some tool" (``"required"``);
    ``"auto"``, ``"none"`` and None pass through (``False`` means ``"none"``); the name of
    one of ``tool_names`` forces that tool; a dict in OpenAI shape passes through after a
    check that it names a known tool.

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
    """Parse a complete tool call's arguments into a dict, strictly.

    Empty arguments (``""``, ``"null"``, None) mean no arguments. Nesting deeper than
    pydantic-core's parser allows (200 levels) is refused like any other bad JSON.

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


def parse_partial_json(text: str | None) -> dict[str, Any]:
    """Parse possibly incomplete JSON-object text, only to show a stream in progress.

    Returns the object parsed so far (a trailing string as far as it went; a dangling
    key or half-written number or literal dropped); never raises. Never use it for a
    final result: a finished reply is parsed with :func:`parse_tool_arguments`.
    """
    if text is None or not text.strip():
        return {}
    try:
        value = from_json(text, allow_partial="trailing-strings")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def json_schema_response_format(
    schema: dict[str, Any], *, name: str | None = None, strict: bool | None = None
) -> dict[str, Any]:
    """The ``response_format`` asking for JSON that follows ``schema``.

    The name defaults to the schema's ``title``, made safe for the wire.
    """
    raw_name = name or str(schema.get("title") or "response")
    spec: dict[str, Any] = {"name": _NAME.sub("_", raw_name)[:64] or "response", "schema": schema}
    if strict is not None:
        spec["strict"] = strict
    return {"type": "json_schema", "json_schema": spec}
