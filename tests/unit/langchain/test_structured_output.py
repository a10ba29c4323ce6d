"""Structured output for LangChain: the request forms (response_format, forced tool) and
the parsers, which give a result only from a whole reply, parsed strictly."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel
from typing_extensions import TypedDict

from langchain_modelslab.structured_output import (
    JSON_MODE_RESPONSE_FORMAT,
    attach_parser,
    call_response_format,
    json_schema_format,
    openai_tool,
    output_parser,
    parsed_text,
    with_parsed,
)


class Person(BaseModel):
    """A person."""

    name: str
    age: int | None = None


class Point(TypedDict):
    x: int


def _reply(
    text: str = "", *, calls: list[dict[str, Any]] | None = None, finish: str = "stop"
) -> AIMessage:
    return AIMessage(
        content=text,
        tool_calls=[{"name": c["name"], "args": c["args"], "id": "c1"} for c in calls or []],
        response_metadata={"finish_reason": finish},
    )


def _parse(parser: Any, message: AIMessage) -> Any:
    return parser.invoke(message)


def test_json_mode_format() -> None:
    assert JSON_MODE_RESPONSE_FORMAT == {"type": "json_object"}


def test_json_schema_format_names_the_schema_and_closes_it_when_strict() -> None:
    loose = json_schema_format(Person, strict=None)
    assert loose["type"] == "json_schema"
    assert loose["json_schema"]["name"] == "Person"
    assert "strict" not in loose["json_schema"]
    closed = json_schema_format(Person, strict=True)["json_schema"]
    assert closed["strict"] is True
    assert closed["schema"]["additionalProperties"] is False
    assert closed["schema"]["required"] == ["name", "age"]


def test_openai_tool_closes_the_parameters_only_when_strict() -> None:
    loose = openai_tool(Person, strict=None)["function"]
    assert "strict" not in loose
    assert loose["parameters"]["required"] == ["name"]
    strict = openai_tool(Person, strict=True)["function"]
    assert strict["strict"] is True
    assert strict["parameters"]["additionalProperties"] is False
    assert sorted(strict["parameters"]["required"]) == ["age", "name"]


def test_call_response_format_of_every_kind() -> None:
    wire = {"type": "json_object"}
    assert call_response_format(wire) == (wire, None)
    pair, parse = call_response_format({"name": "p", "schema": {"type": "object"}})
    assert pair == {
        "type": "json_schema",
        "json_schema": {"name": "p", "schema": {"type": "object"}},
    }
    assert parse is not None
    assert parse('{"a": 1}') == {"a": 1}
    formatted, parse = call_response_format(Person)
    assert formatted["json_schema"]["name"] == "Person"
    assert parse is not None
    assert parse('{"name": "Ada"}') == Person(name="Ada")
    typed, parse = call_response_format(Point)
    assert typed["type"] == "json_schema"
    assert parse is not None
    assert parse('{"x": 1}') == {"x": 1}


@pytest.mark.parametrize("value", ["json", 3, [1], None])
def test_call_response_format_refuses_other_values(value: Any) -> None:
    with pytest.raises(ValueError, match="response_format must be a pydantic class, a TypedDict"):
        call_response_format(value)


def test_parsed_text_and_with_parsed() -> None:
    assert parsed_text("  ", Person.model_validate_json) is None
    assert parsed_text('{"name": "A"}', Person.model_validate_json) == Person(name="A")
    with pytest.raises(
        OutputParserException, match="does not follow the requested response_format"
    ):
        parsed_text('{"age": 3}', Person.model_validate_json)
    result = ChatResult(generations=[ChatGeneration(message=AIMessage('{"name": "B"}'))])
    parsed = with_parsed(result, Person.model_validate_json)
    assert parsed.generations[0].message.additional_kwargs["parsed"] == Person(name="B")


def test_function_calling_parses_the_forced_tool_call() -> None:
    parser = output_parser(Person, "function_calling")
    message = _reply(calls=[{"name": "Person", "args": {"name": "Ada", "age": 36}}])
    assert _parse(parser, message) == Person(name="Ada", age=36)
    dict_parser = output_parser(Person.model_json_schema(), "function_calling")
    assert _parse(dict_parser, message) == {"name": "Ada", "age": 36}


@pytest.mark.parametrize(
    ("message", "said"),
    [
        (_reply("just text"), "it sent no tool call; it answered in text: 'just text'"),
        (_reply(""), "it sent no tool call and no text"),
        (_reply(calls=[{"name": "other", "args": {}}]), "it called ['other'] instead"),
    ],
)
def test_a_reply_without_the_forced_call_says_what_it_did(message: AIMessage, said: str) -> None:
    """(A pydantic class's parser refuses a call of another tool itself, as LangChain's does.)"""
    with pytest.raises(OutputParserException) as caught:
        _parse(output_parser(Person.model_json_schema(), "function_calling"), message)
    text = str(caught.value)
    assert "the model did not call the 'Person' tool that structured output forces" in text
    assert said in text


def test_a_reply_cut_by_the_token_limit_is_refused_not_repaired() -> None:
    cut = _reply('{"name": "A', finish="length")
    for method in ("json_schema", "json_mode"):
        with pytest.raises(OutputParserException, match="structured output cannot be read"):
            _parse(output_parser(Person, method), cut)  # type: ignore[arg-type]
    called = _reply(calls=[{"name": "Person", "args": {"name": "A"}}], finish="length")
    with pytest.raises(OutputParserException, match="cannot be read from this reply"):
        _parse(output_parser(Person, "function_calling"), called)


def test_invalid_json_in_a_finished_reply_is_refused() -> None:
    with pytest.raises(OutputParserException, match="its JSON is not whole or not valid"):
        _parse(output_parser(None, "json_mode"), _reply('{"a": "b'))
    assert _parse(output_parser(None, "json_mode"), _reply('{"a": "b"}')) == {"a": "b"}


def test_a_json_reply_is_validated_into_the_class() -> None:
    parser = output_parser(Person, "json_schema")
    assert _parse(parser, _reply('{"name": "Ada"}')) == Person(name="Ada")
    with pytest.raises(OutputParserException, match="the reply is not a valid Person"):
        _parse(parser, _reply('{"age": 1}'))
    assert parser.OutputType is Person  # type: ignore[attr-defined]


def test_strict_parsers_read_null_as_absent() -> None:
    strict_json = output_parser(Person, "json_schema", strict=True)
    assert _parse(strict_json, _reply('{"name": "Ada", "age": null}')) == Person(name="Ada")
    with pytest.raises(OutputParserException, match="the reply does not follow Person"):
        _parse(strict_json, _reply('{"name": 5}'))
    strict_tool = output_parser(Person, "function_calling", strict=True)
    message = _reply(calls=[{"name": "Person", "args": {"name": "Ada", "age": None}}])
    assert _parse(strict_tool, message) == Person(name="Ada")
    optional_age = {
        "title": "Person",
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name"],
    }
    schema_only = output_parser(optional_age, "json_schema", strict=True)
    assert _parse(schema_only, _reply('{"name": "Ada", "age": null}')) == {"name": "Ada"}


def test_a_stream_yields_partial_values_then_checks_the_whole_reply() -> None:
    parser = output_parser(None, "json_mode")
    chunks = [
        AIMessageChunk(content='{"a": '),
        AIMessageChunk(content='"b"}', response_metadata={"finish_reason": "stop"}),
    ]
    assert list(parser.transform(iter(chunks)))[-1] == {"a": "b"}
    cut = [
        AIMessageChunk(content='{"a": "b'),
        AIMessageChunk(content="", response_metadata={"finish_reason": "length"}),
    ]
    with pytest.raises(OutputParserException):
        list(parser.transform(iter(cut)))


def test_attach_parser_with_include_raw_keeps_the_error() -> None:
    good = _reply('{"name": "Ada"}')
    bad = _reply("not json")
    parser = output_parser(Person, "json_schema")
    plain = attach_parser(RunnableLambda(lambda _: good), parser, include_raw=False)
    assert plain.invoke("x") == Person(name="Ada")
    raw = attach_parser(RunnableLambda(lambda _: bad), parser, include_raw=True).invoke("x")
    assert raw["raw"] is bad
    assert raw["parsed"] is None
    assert isinstance(raw["parsing_error"], OutputParserException)
    fine = attach_parser(RunnableLambda(lambda _: good), parser, include_raw=True).invoke("x")
    assert (fine["parsed"], fine["parsing_error"]) == (Person(name="Ada"), None)
