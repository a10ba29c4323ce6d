"""Strict structured output sends closed schemas; ``response_format`` per call takes a schema.

Both protocols: on ``api="messages"`` (no ``response_format``) json_schema is carried out as
a forced tool call, whose schema is closed the same way.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage
from pydantic import BaseModel
from typing_extensions import TypedDict

from modelslab_transport.chat.strict_schema import StrictSchemaError
from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse,
    stream_response,
    tool_call,
)

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


class Address(BaseModel):
    """A postal address."""

    city: str
    zip_code: str | None = None


class Person(BaseModel):
    """A person."""

    name: str
    age: int = 30
    home: Address


class Bag(BaseModel):
    """Counts by name."""

    counts: dict[str, int]


class Movie(TypedDict):
    """A movie."""

    title: str
    year: int


PERSON_JSON = '{"name": "Ada", "age": null, "home": {"city": "Paris", "zip_code": null}}'
ADA = Person(name="Ada", home=Address(city="Paris"))


def _closed_everywhere(schema: Any) -> None:
    """Every object in ``schema`` is closed with all its properties required."""
    if isinstance(schema, dict):
        if schema.get("type") == "object":
            assert schema["additionalProperties"] is False, schema
            assert schema["required"] == list(schema["properties"]), schema
        for value in schema.values():
            _closed_everywhere(value)
    elif isinstance(schema, list):
        for item in schema:
            _closed_everywhere(item)


async def _invoke(mode: str, runnable: Any, prompt: str = "hi", **kwargs: Any) -> Any:
    return (
        runnable.invoke(prompt, **kwargs)
        if mode == "sync"
        else await runnable.ainvoke(prompt, **kwargs)
    )


def _messages_tool_use(name: str, arguments: dict[str, Any]) -> httpx2.Response:
    return json_response(
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "tool_use", "id": "toolu_1", "name": name, "input": arguments}],
            "model": "m",
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 5, "output_tokens": 5},
        }
    )


# ------------------------------------------------------------- strict schemas


@MODES
async def test_strict_json_schema_is_closed_and_parses_nulls_as_absent(mode: str) -> None:
    api = ScriptedServer([json_response(completion_body(PERSON_JSON))])
    chain = chat_model(api).with_structured_output(Person, method="json_schema", strict=True)
    assert await _invoke(mode, chain) == ADA
    spec = api.last_body["response_format"]["json_schema"]
    assert spec["strict"] is True
    _closed_everywhere(spec["schema"])
    address = spec["schema"]["properties"]["home"]  # LangChain inlines the $defs
    assert address["required"] == ["city", "zip_code"]
    assert address["properties"]["zip_code"]["anyOf"][-1] == {"type": "null"}


@MODES
async def test_strict_json_schema_with_include_raw(mode: str) -> None:
    api = ScriptedServer([json_response(completion_body(PERSON_JSON))])
    chain = chat_model(api).with_structured_output(
        Person, method="json_schema", strict=True, include_raw=True
    )
    result = await _invoke(mode, chain)
    assert result["parsed"] == ADA
    assert result["parsing_error"] is None


def test_strict_json_schema_of_a_dict_schema() -> None:
    schema = {
        "title": "Answer",
        "type": "object",
        "properties": {"value": {"type": "integer"}, "note": {"type": "string"}},
        "required": ["value"],
    }
    api = ScriptedServer([json_response(completion_body('{"value": 4, "note": null}'))])
    chain = chat_model(api).with_structured_output(schema, method="json_schema", strict=True)
    assert chain.invoke("2+2") == {"value": 4}
    sent = api.last_body["response_format"]["json_schema"]["schema"]
    assert sent["required"] == ["value", "note"]
    assert sent["properties"]["note"] == {"type": ["string", "null"]}
    assert sent["additionalProperties"] is False


@pytest.mark.parametrize("api_name", ["chat_completions", "messages"])
def test_strict_function_calling_closes_the_tool(api_name: str) -> None:
    arguments = {"name": "Ada", "age": None, "home": {"city": "Paris", "zip_code": None}}
    if api_name == "messages":
        reply = _messages_tool_use("Person", arguments)
    else:
        reply = json_response(
            completion_body(
                None,
                tool_calls=[tool_call("Person", json.dumps(arguments))],
                finish_reason="tool_calls",
            )
        )
    api = ScriptedServer([reply])
    chain = chat_model(api, api=api_name).with_structured_output(Person, strict=True)
    assert chain.invoke("who?") == ADA
    tool = api.last_body["tools"][0]
    parameters = tool["input_schema"] if api_name == "messages" else tool["function"]["parameters"]
    _closed_everywhere(parameters)
    assert parameters["properties"]["home"]["required"] == ["city", "zip_code"]


def test_strict_json_schema_on_messages_is_a_closed_forced_tool() -> None:
    api = ScriptedServer(
        [
            _messages_tool_use(
                "Person", {"name": "Ada", "age": 30, "home": {"city": "Paris", "zip_code": None}}
            )
        ]
    )
    chain = chat_model(api, api="messages").with_structured_output(
        Person, method="json_schema", strict=True
    )
    assert chain.invoke("who?") == ADA
    _closed_everywhere(api.last_body["tools"][0]["input_schema"])


def test_bind_tools_strict_uses_the_same_closing() -> None:
    from langchain_modelslab.structured_output import json_schema_format

    api = ScriptedServer([json_response(completion_body("ok"))])
    chat_model(api).bind_tools([Person], strict=True).invoke("hi")
    function = api.last_body["tools"][0]["function"]
    assert function["strict"] is True
    _closed_everywhere(function["parameters"])
    assert function["parameters"]["properties"]["home"]["properties"]["zip_code"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}]
    }
    closed = json_schema_format(Person, strict=True)["json_schema"]["schema"]
    assert closed["properties"]["home"] == function["parameters"]["properties"]["home"]


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_a_schema_strict_mode_cannot_express_is_refused_before_sending(method: str) -> None:
    api = ScriptedServer([])
    with pytest.raises(StrictSchemaError, match=r"properties\.counts"):
        chat_model(api).with_structured_output(Bag, method=method, strict=True)
    with pytest.raises(StrictSchemaError):
        chat_model(api).bind_tools([Bag], strict=True)
    assert api.requests == []


def test_without_strict_the_schema_is_sent_as_it_is() -> None:
    api = ScriptedServer([json_response(completion_body('{"counts": {"a": 1}}'))])
    chain = chat_model(api).with_structured_output(Bag, method="json_schema")
    assert chain.invoke("count") == Bag(counts={"a": 1})
    schema = api.last_body["response_format"]["json_schema"]["schema"]
    assert "additionalProperties" not in schema
    assert "strict" not in api.last_body["response_format"]["json_schema"]


# --------------------------------------------------------- response_format per call


@MODES
async def test_response_format_as_a_pydantic_class(mode: str) -> None:
    api = ScriptedServer(
        [json_response(completion_body('{"name": "Ada", "home": {"city": "Paris"}}'))]
    )
    reply = await _invoke(mode, chat_model(api), response_format=Person)
    assert isinstance(reply, AIMessage)
    assert reply.additional_kwargs["parsed"] == ADA
    sent = api.last_body["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Person"
    assert sent["json_schema"]["schema"]["properties"]["home"]["required"] == ["city"]


@MODES
async def test_response_format_as_a_typed_dict(mode: str) -> None:
    api = ScriptedServer([json_response(completion_body('{"title": "Up", "year": 2009}'))])
    reply = await _invoke(mode, chat_model(api), response_format=Movie)
    assert reply.additional_kwargs["parsed"] == {"title": "Up", "year": 2009}
    schema = api.last_body["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["title", "year"]


def test_response_format_as_a_json_schema_and_as_a_name_schema_pair() -> None:
    schema = {"title": "N", "type": "object", "properties": {"n": {"type": "integer"}}}
    api = ScriptedServer([json_response(completion_body('{"n": 3}'))])
    reply = chat_model(api).invoke("n?", response_format=schema)
    assert reply.additional_kwargs["parsed"] == {"n": 3}
    assert (
        api.last_body["response_format"]["json_schema"]["schema"]["properties"]
        == schema["properties"]
    )

    pair = {"name": "N", "schema": schema}
    api = ScriptedServer([json_response(completion_body('{"n": 4}'))])
    reply = chat_model(api).invoke("n?", response_format=pair)
    assert reply.additional_kwargs["parsed"] == {"n": 4}
    assert api.last_body["response_format"] == {"type": "json_schema", "json_schema": pair}


def test_a_wire_response_format_passes_unchanged_without_parsed() -> None:
    api = ScriptedServer([json_response(completion_body('{"a": 1}'))])
    reply = chat_model(api).invoke("x", response_format={"type": "json_object"})
    assert api.last_body["response_format"] == {"type": "json_object"}
    assert "parsed" not in reply.additional_kwargs


@MODES
async def test_response_format_parsed_on_a_stream(mode: str) -> None:
    pieces = ['{"title": ', '"Up", "ye', 'ar": 2009}']
    api = ScriptedServer(
        [
            stream_response(
                sse(*(chunk(content=piece) for piece in pieces), chunk(finish_reason="stop"))
            )
        ]
    )
    llm = chat_model(api)
    if mode == "sync":
        chunks = list(llm.stream("x", response_format=Movie))
    else:
        chunks = [c async for c in llm.astream("x", response_format=Movie)]
    total = chunks[0]
    for piece in chunks[1:]:
        total = total + piece
    assert total.additional_kwargs["parsed"] == {"title": "Up", "year": 2009}
    assert api.last_body["response_format"]["type"] == "json_schema"


def test_a_reply_not_following_the_response_format_raises_a_parser_error() -> None:
    api = ScriptedServer([json_response(completion_body('{"name": 5}'))])
    with pytest.raises(OutputParserException, match="response_format"):
        chat_model(api).invoke("x", response_format=Person)


def test_a_reply_without_text_has_parsed_none() -> None:
    reply_body = completion_body(
        None, tool_calls=[tool_call("f", "{}")], finish_reason="tool_calls"
    )
    api = ScriptedServer([json_response(reply_body)])
    reply = chat_model(api).invoke("x", response_format=Person)
    assert reply.additional_kwargs["parsed"] is None


@pytest.mark.parametrize("value", [42, "json", object, ["a"]])
def test_a_response_format_of_another_kind_is_refused_clearly(value: Any) -> None:
    api = ScriptedServer([])
    with pytest.raises(ValueError, match="response_format must be a pydantic class"):
        chat_model(api).invoke("x", response_format=value)
    assert api.requests == []


def test_response_format_on_messages_is_refused_before_sending() -> None:
    api = ScriptedServer([])
    with pytest.raises(ValueError, match="api='messages'"):
        chat_model(api, api="messages").invoke("x", response_format=Person)
    assert api.requests == []
