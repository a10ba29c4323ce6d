"""Tool-choice mapping, tool-argument parsing (strict and partial), response formats."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelslab_transport.chat.tool_calls import (
    TOOL_CALL_FIELDS_KEY,
    ToolArgumentsError,
    chat_tool_choice,
    json_schema_response_format,
    parse_partial_json,
    parse_tool_arguments,
    stored_provider_fields,
)

TOOLS = ["get_weather", "get_time"]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, None),
        (True, "required"),
        (False, "none"),
        ("any", "required"),
        ("required", "required"),
        ("auto", "auto"),
        ("none", "none"),
        ("get_weather", {"type": "function", "function": {"name": "get_weather"}}),
        (
            {"type": "function", "function": {"name": "get_time"}},
            {"type": "function", "function": {"name": "get_time"}},
        ),
        (
            {"type": "tool", "name": "get_time"},
            {"type": "function", "function": {"name": "get_time"}},
        ),
        ({"type": "auto"}, "auto"),
        ({"type": "none"}, "none"),
        ({"type": "any"}, "required"),
        ({"type": "required"}, "required"),
    ],
)
def test_chat_tool_choice_maps_every_vocabulary(choice: Any, expected: Any) -> None:
    assert chat_tool_choice(choice, TOOLS) == expected


@pytest.mark.parametrize(
    "choice",
    [
        "get_stock",
        {"type": "function", "function": {"name": "get_stock"}},
        {"type": "mystery"},
        42,
    ],
)
def test_chat_tool_choice_rejects_unknown_values(choice: Any) -> None:
    with pytest.raises(ValueError, match=r"tool_choice|unrecognised"):
        chat_tool_choice(choice, TOOLS)


def test_chat_tool_choice_dict_without_bound_tools_passes() -> None:
    assert chat_tool_choice({"type": "function", "function": {"name": "x"}}, []) == {
        "type": "function",
        "function": {"name": "x"},
    }


def test_unknown_tool_name_lists_the_bound_tools() -> None:
    with pytest.raises(ValueError, match="neither") as caught:
        chat_tool_choice("nope", TOOLS)
    assert "get_time" in str(caught.value)
    assert "get_weather" in str(caught.value)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (None, {}),
        ("", {}),
        ("  ", {}),
        ("null", {}),
        ('{"city": "Paris"}', {"city": "Paris"}),
        ({"already": "parsed"}, {"already": "parsed"}),
        ('{"n": [1, 2, {"x": null}]}', {"n": [1, 2, {"x": None}]}),
    ],
)
def test_parse_tool_arguments(arguments: Any, expected: dict[str, Any]) -> None:
    assert parse_tool_arguments(arguments) == expected


@pytest.mark.parametrize("arguments", ['{"city": ', "[1, 2]", '"text"', "{'single': 1}"])
def test_parse_tool_arguments_rejects_non_objects(arguments: str) -> None:
    with pytest.raises(ToolArgumentsError) as caught:
        parse_tool_arguments(arguments)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, {}),
        ("", {}),
        ("{", {}),
        ('{"city', {}),
        ('{"city"', {}),
        ('{"city": ', {}),
        ('{"city": "Par', {"city": "Par"}),
        ('{"city": "Paris"', {"city": "Paris"}),
        ('{"city": "Paris", "units": ["c', {"city": "Paris", "units": ["c"]}),
        ('{"a": {"b": {"c": 1', {"a": {"b": {"c": 1}}}),
        ('{"a": {"b": tr', {"a": {}}),
        ('{"s": "quote \\"in', {"s": 'quote "in'}),
        ('{"s": "ends with backslash \\', {"s": "ends with backslash "}),
        ('{"x": 1, "y"', {"x": 1}),
        ('{"k": "a, b: c", "z": nu', {"k": "a, b: c"}),
        ("[1, 2", {}),
        ('{"done": true}', {"done": True}),
    ],
)
def test_parse_partial_json(text: str | None, expected: dict[str, Any]) -> None:
    assert parse_partial_json(text) == expected


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=4))
def test_parse_partial_json_never_raises_on_any_prefix(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    for end in range(len(text) + 1):
        assert isinstance(parse_partial_json(text[:end]), dict)
    assert parse_partial_json(text) == document


def test_json_schema_response_format() -> None:
    schema = {"title": "Weather Report!", "type": "object", "properties": {}}
    assert json_schema_response_format(schema) == {
        "type": "json_schema",
        "json_schema": {"name": "Weather_Report_", "schema": schema},
    }
    named = json_schema_response_format(schema, name="w", strict=True)
    assert named["json_schema"] == {"name": "w", "schema": schema, "strict": True}
    untitled = json_schema_response_format({"type": "object"})
    assert untitled["json_schema"]["name"] == "response"
    long_name = json_schema_response_format({"title": "x" * 100})
    assert len(long_name["json_schema"]["name"]) == 64


def test_stored_provider_fields() -> None:
    stored = {TOOL_CALL_FIELDS_KEY: {"call_1": {"extra_content": {"sig": "abc"}}, "bad": 3}}
    found = stored_provider_fields(stored, "call_1")
    assert found == {"extra_content": {"sig": "abc"}}
    found["x"] = 1  # a copy: the message's own fields are left alone
    assert stored[TOOL_CALL_FIELDS_KEY]["call_1"] == {"extra_content": {"sig": "abc"}}
    assert stored_provider_fields(stored, "bad") == {}
    assert stored_provider_fields(stored, "other") == {}
    assert stored_provider_fields(stored, None) == {}
    assert stored_provider_fields({TOOL_CALL_FIELDS_KEY: "junk"}, "call_1") == {}
    assert stored_provider_fields({}, "call_1") == {}
