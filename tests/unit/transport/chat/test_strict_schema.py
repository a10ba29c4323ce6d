"""Schemas closed as OpenAI's strict mode requires, and the nulls of absent properties."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, Field

from modelslab_transport.chat.strict_schema import (
    StrictSchemaError,
    drop_nulls_of_optional,
    strict_json_schema,
)


class Address(BaseModel):
    """A postal address."""

    city: str
    zip_code: str | None = None


class Person(BaseModel):
    """A person."""

    name: str
    age: int = 30
    nickname: str | None = None
    home: Address
    past: list[Address] = []
    work: Address | None = Field(default=None, description="where they work")


def _objects(schema: Any) -> list[dict[str, Any]]:
    """Every object schema in ``schema`` (nested ones included)."""
    found: list[dict[str, Any]] = []
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            found.append(schema)
        for value in schema.values():
            found.extend(_objects(value))
    elif isinstance(schema, list):
        for item in schema:
            found.extend(_objects(item))
    return found


def test_every_object_is_closed_with_all_properties_required() -> None:
    closed = strict_json_schema(Person.model_json_schema())
    objects = _objects(closed)
    assert len(objects) == 2  # Person and Address (under $defs)
    for schema in objects:
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
    assert closed["$defs"]["Address"]["required"] == ["city", "zip_code"]


def test_optional_properties_are_nullable_and_defaults_keep_their_type() -> None:
    closed = strict_json_schema(Person.model_json_schema())
    properties = closed["properties"]
    assert properties["nickname"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "title": "Nickname",
    }
    assert properties["age"] == {"default": 30, "title": "Age", "type": "integer"}
    assert properties["work"] == {
        "anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}],
        "description": "where they work",
    }


def test_a_json_schema_with_optional_keys() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "integer"},
            "b": {"type": "string"},
            "c": {"type": "string", "enum": ["x", "y"]},
            "d": {"$ref": "#/definitions/D", "description": "a d"},
            "e": {
                "type": "array",
                "items": {"type": "object", "properties": {"f": {"type": "number"}}},
            },
        },
        "required": ["a"],
        "definitions": {"D": {"type": "object", "properties": {"g": {"type": "boolean"}}}},
    }
    closed = strict_json_schema(schema)
    assert closed["required"] == ["a", "b", "c", "d", "e"]
    assert closed["properties"]["a"] == {"type": "integer"}
    assert closed["properties"]["b"] == {"type": ["string", "null"]}
    assert closed["properties"]["c"] == {
        "anyOf": [{"type": "string", "enum": ["x", "y"]}, {"type": "null"}]
    }
    assert closed["properties"]["d"] == {
        "anyOf": [{"$ref": "#/definitions/D"}, {"type": "null"}],
        "description": "a d",
    }
    assert closed["properties"]["e"]["type"] == ["array", "null"]
    item = closed["properties"]["e"]["items"]
    assert item == {
        "type": "object",
        "properties": {"f": {"type": ["number", "null"]}},
        "required": ["f"],
        "additionalProperties": False,
    }
    assert closed["definitions"]["D"]["additionalProperties"] is False
    assert closed["definitions"]["D"]["properties"]["g"] == {"type": ["boolean", "null"]}
    assert schema["required"] == ["a"]  # the input is left alone


def test_a_one_part_all_of_is_inlined() -> None:
    schema = {
        "type": "object",
        "properties": {"p": {"allOf": [{"$ref": "#/$defs/P"}], "description": "x"}},
        "required": ["p"],
        "$defs": {"P": {"type": "object", "properties": {}}},
    }
    closed = strict_json_schema(schema)
    assert closed["properties"]["p"] == {"$ref": "#/$defs/P", "description": "x"}
    assert closed["$defs"]["P"] == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


class Bag(BaseModel):
    counts: dict[str, int]


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        (Bag.model_json_schema(), "properties.counts"),
        ({"type": "array", "items": {"type": "string"}}, "<root>"),
        ({"type": "object", "patternProperties": {"^x": {}}}, "'patternProperties'"),
        ({"type": "object", "properties": {"a": {"not": {"type": "string"}}}}, "properties.a"),
        ({"type": "object", "allOf": [{"type": "object"}, {"type": "object"}]}, "'allOf'"),
        ({"type": "object", "additionalProperties": True}, "additionalProperties"),
    ],
)
def test_what_strict_mode_cannot_express_is_refused(schema: dict[str, Any], named: str) -> None:
    with pytest.raises(StrictSchemaError) as caught:
        strict_json_schema(schema)
    assert named in str(caught.value)
    assert "strict=False" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_nulls_of_absent_properties_are_dropped() -> None:
    schema = Person.model_json_schema()
    reply = {
        "name": "Ada",
        "age": None,
        "nickname": None,
        "home": {"city": "Paris", "zip_code": None},
        "past": [{"city": "Oslo", "zip_code": None}],
        "work": None,
    }
    cleaned = drop_nulls_of_optional(reply, schema)
    # age is optional and not nullable: its null means "absent"; nullable members stay.
    assert cleaned == {
        "name": "Ada",
        "nickname": None,
        "home": {"city": "Paris", "zip_code": None},
        "past": [{"city": "Oslo", "zip_code": None}],
        "work": None,
    }
    assert Person.model_validate(cleaned).age == 30


def test_nulls_of_required_or_unknown_members_stay() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a"],
    }
    assert drop_nulls_of_optional({"a": None, "b": None, "z": None}, schema) == {
        "a": None,
        "z": None,
    }
    assert drop_nulls_of_optional("text", schema) == "text"
