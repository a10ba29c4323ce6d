"""JSON schemas closed the way OpenAI's strict mode requires, for tools and ``json_schema``.

Source: OpenAI's "Structured Outputs" guide, section "Supported schemas".
:func:`drop_nulls_of_optional` undoes the one change a reply sees.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["StrictSchemaError", "drop_nulls_of_optional", "strict_json_schema"]

_UNSUPPORTED = (
    "patternProperties",
    "unevaluatedProperties",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "not",
    "if",
    "then",
    "else",
)
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "$defs", "definitions")


class StrictSchemaError(ValueError):
    """A schema that OpenAI's strict mode cannot express (the message names the part)."""


def _refuse(path: str, what: str) -> StrictSchemaError:
    return StrictSchemaError(
        f"strict mode cannot express {what} at {path or '<root>'} (strict schemas allow "
        "only closed objects, whose properties are all listed): change the schema, or "
        "leave strict out (strict=False) to send it as it is"
    )


def _is_nullable(schema: Mapping[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    options = schema.get("anyOf")
    return isinstance(options, list) and any(
        isinstance(option, Mapping) and _is_nullable(option) for option in options
    )


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if _is_nullable(schema):
        return schema
    kind = schema.get("type")
    if isinstance(kind, str) and "enum" not in schema and "const" not in schema:
        return {**schema, "type": [kind, "null"]}
    if isinstance(kind, list):
        return {**schema, "type": [*kind, "null"]}
    description = schema.pop("description", None)
    wrapped: dict[str, Any] = {"anyOf": [schema, {"type": "null"}]}
    if description is not None:
        wrapped["description"] = description
    return wrapped


def _close(schema: Any, path: str) -> Any:
    if not isinstance(schema, dict):
        return schema
    for keyword in _UNSUPPORTED:
        if keyword in schema:
            raise _refuse(path, f"the keyword {keyword!r}")
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) != 1 or not isinstance(all_of[0], dict):
            raise _refuse(path, "'allOf' with more than one schema")
        del schema["allOf"]  # pydantic wraps a described $ref so: the one part is the schema
        schema = {**all_of[0], **schema}
    if "default" in schema and schema["default"] is None:
        del schema["default"]
    for keyword in _SUBSCHEMA_MAPS:
        members = schema.get(keyword)
        if isinstance(members, dict):
            for name, member in members.items():
                members[name] = _close(member, f"{path}.{keyword}.{name}".lstrip("."))
    for keyword in _SUBSCHEMA_LISTS:
        options = schema.get(keyword)
        if isinstance(options, list):
            schema[keyword] = [
                _close(option, f"{path}.{keyword}[{index}]".lstrip("."))
                for index, option in enumerate(options)
            ]
    if isinstance(schema.get("items"), dict):
        schema["items"] = _close(schema["items"], f"{path}.items".lstrip("."))
    kind = schema.get("type")
    if kind == "object" or (isinstance(kind, list) and "object" in kind) or "properties" in schema:
        extra = schema.get("additionalProperties", False)
        if extra is not False:
            raise _refuse(path, "an object with open or typed additionalProperties (a map)")
        properties: dict[str, Any] = schema.setdefault("properties", {})
        required = set(schema.get("required") or ())
        for name, member in properties.items():
            if name not in required and isinstance(member, dict) and "default" not in member:
                properties[name] = _nullable(member)
        schema["required"] = list(properties)
        schema["additionalProperties"] = False
    return schema


def strict_json_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` in the form OpenAI's strict mode requires.

    Every object gets ``additionalProperties: false`` and all its properties in
    ``required``; an optional property without a default becomes nullable, one with a
    default keeps its type; ``"default": null`` is dropped, a one-part ``allOf`` inlined.

    Raises:
        StrictSchemaError: for a non-object root, open ``additionalProperties``, ``allOf``
            of several schemas, or an unsupported keyword (``patternProperties``, ``not``...).
    """
    closed = _close(copy.deepcopy(dict(schema)), "")
    if closed.get("type") != "object":
        raise _refuse("", "a root that is not an object (type 'object')")
    return dict(closed)


def _resolve(schema: Any, root: Mapping[str, Any]) -> Any:
    for _ in range(32):  # a chain of $refs, never a loop
        ref = schema.get("$ref") if isinstance(schema, Mapping) else None
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, Mapping) else None
        schema = target
    return schema


def _drop(value: Any, schema: Any, root: Mapping[str, Any], depth: int) -> Any:
    schema = _resolve(schema, root)
    if depth > 64 or not isinstance(schema, Mapping):
        return value
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1:
        return _drop(value, all_of[0], root, depth + 1)
    if isinstance(value, dict) and isinstance(schema.get("properties"), Mapping):
        required = set(schema.get("required") or ())
        result = {}
        for name, item in value.items():
            member = _resolve(schema["properties"].get(name), root)
            absent = item is None and name not in required and isinstance(member, Mapping)
            if absent and not _is_nullable(member):
                continue
            result[name] = _drop(item, member, root, depth + 1)
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [_drop(item, schema["items"], root, depth + 1) for item in value]
    return value


def drop_nulls_of_optional(value: Any, schema: Mapping[str, Any]) -> Any:
    """``value``, a reply to the strict form of ``schema``, without nulls of absent optionals."""
    return _drop(value, schema, schema, 0)
