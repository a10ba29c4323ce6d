"""``with_structured_output`` when the model answers without the forced tool call.

LangChain's tools parsers return None then; ChatOpenAI's default structured output
raises a ``ValueError`` instead. ChatModelsLab raises ``OutputParserException`` (also a
``ValueError``) naming the tool and what the model said, on every call style, and
with ``include_raw=True`` puts it in ``parsing_error``.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from pydantic import BaseModel, ValidationError
from typing_extensions import TypedDict

from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse_response,
    tool_call,
)

PROSE = "Ada Lovelace was a mathematician."


class Person(BaseModel):
    """A person."""

    name: str
    age: int


class PersonDict(TypedDict):
    """A person."""

    name: str
    age: int


def prose_api(*, stream: bool = False) -> ScriptedServer:
    if stream:
        return ScriptedServer(
            [
                sse_response(
                    chunk(content="Ada Lovelace "),
                    chunk(content="was a mathematician.", finish_reason="stop"),
                )
            ]
        )
    return ScriptedServer([json_response(completion_body(PROSE))])


SCHEMAS: list[Any] = [Person, PersonDict, Person.model_json_schema()]


def _check(error: BaseException, name: str) -> None:
    assert isinstance(error, OutputParserException)
    assert isinstance(error, ValueError)
    message = str(error)
    assert f"did not call the {name!r} tool" in message
    assert PROSE in message
    assert "include_raw=True" in message


@pytest.mark.parametrize("schema", SCHEMAS)
def test_invoke_raises_when_no_tool_was_called(schema: Any) -> None:
    api = prose_api()
    with pytest.raises(OutputParserException) as caught:
        chat_model(api).with_structured_output(schema).invoke("Who was Ada?")
    _check(caught.value, "Person" if schema is not PersonDict else "PersonDict")
    assert api.last_body["tool_choice"] == "required"


@pytest.mark.parametrize("schema", SCHEMAS)
async def test_ainvoke_raises_when_no_tool_was_called(schema: Any) -> None:
    with pytest.raises(OutputParserException) as caught:
        await chat_model(prose_api()).with_structured_output(schema).ainvoke("Who was Ada?")
    _check(caught.value, "Person" if schema is not PersonDict else "PersonDict")


def test_stream_raises_when_no_tool_was_called() -> None:
    structured = chat_model(prose_api(stream=True)).with_structured_output(Person)
    with pytest.raises(OutputParserException) as caught:
        list(structured.stream("Who was Ada?"))
    _check(caught.value, "Person")


async def test_astream_raises_when_no_tool_was_called() -> None:
    structured = chat_model(prose_api(stream=True)).with_structured_output(PersonDict)
    with pytest.raises(OutputParserException) as caught:
        _ = [part async for part in structured.astream("Who was Ada?")]
    _check(caught.value, "PersonDict")


def test_include_raw_sets_parsing_error() -> None:
    result = chat_model(prose_api()).with_structured_output(Person, include_raw=True).invoke("Ada?")
    assert result["parsed"] is None
    assert result["raw"].text == PROSE
    _check(result["parsing_error"], "Person")


def test_empty_reply_says_there_was_no_text() -> None:
    api = ScriptedServer([json_response(completion_body(""))])
    with pytest.raises(OutputParserException, match="no tool call and no text"):
        chat_model(api).with_structured_output(Person).invoke("Ada?")


def test_a_tool_call_still_parses_on_invoke_and_stream() -> None:
    call = tool_call("Person", '{"name": "Ada", "age": 36}')
    api = ScriptedServer(
        [json_response(completion_body(None, tool_calls=[call], finish_reason="tool_calls"))]
    )
    assert chat_model(api).with_structured_output(Person).invoke("Ada?") == Person(
        name="Ada", age=36
    )
    streamed = ScriptedServer(
        [
            sse_response(
                chunk(tool_calls=[{"index": 0, **tool_call("PersonDict", '{"name": "Ada",')}]),
                chunk(
                    tool_calls=[{"index": 0, "function": {"arguments": ' "age": 36}'}}],
                    finish_reason="tool_calls",
                ),
            )
        ]
    )
    parts = list(chat_model(streamed).with_structured_output(PersonDict).stream("Ada?"))
    assert parts[-1] == {"name": "Ada", "age": 36}


def test_a_call_of_another_tool_raises_naming_it() -> None:
    call = tool_call("Weather", '{"city": "Paris"}')
    api = ScriptedServer(
        [json_response(completion_body(None, tool_calls=[call], finish_reason="tool_calls"))]
    )
    with pytest.raises(OutputParserException, match=r"called \['Weather'\] instead"):
        chat_model(api).with_structured_output(PersonDict).invoke("Ada?")


def test_an_invalid_tool_call_still_raises_the_validation_error_when_streamed() -> None:
    """Arguments that do not validate raise pydantic's error, as on invoke (not ours)."""
    call = {"index": 0, **tool_call("Person", '{"name": "Ada"}')}
    api = ScriptedServer([sse_response(chunk(tool_calls=[call], finish_reason="tool_calls"))])
    with pytest.raises(ValidationError, match="age"):
        list(chat_model(api).with_structured_output(Person).stream("Ada?"))
    whole = tool_call("Person", '{"name": "Ada"}')
    api = ScriptedServer(
        [json_response(completion_body(None, tool_calls=[whole], finish_reason="tool_calls"))]
    )
    with pytest.raises(ValidationError, match="age"):
        chat_model(api).with_structured_output(Person).invoke("Ada?")
