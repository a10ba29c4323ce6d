"""Structured output: forced tool calls, json_schema, streaming, as_structured_llm
(mock transport only)."""

from __future__ import annotations

import json

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import PydanticProgramMode
from pydantic import BaseModel

from llama_index_modelslab.structured import parse_structured_text
from tests.support.clients import scripted_llm
from tests.support.replies import (
    chunk,
    completion_body,
    json_response,
    sse_response,
    tool_call,
    usage_chunk,
)

PROMPT = PromptTemplate("Describe {city}.")


class City(BaseModel):
    """A city and its country."""

    name: str
    country: str


CITY_JSON = '{"name": "Paris", "country": "France"}'


def test_default_forces_a_tool_named_after_the_class() -> None:
    llm, server = scripted_llm(
        json_response(completion_body(None, tool_calls=[tool_call("City", CITY_JSON)]))
    )
    city = llm.structured_predict(City, PROMPT, city="Paris")
    assert city == City(name="Paris", country="France")
    body = server.bodies[0]
    assert body["tool_choice"] == "required"
    assert [t["function"]["name"] for t in body["tools"]] == ["City"]
    assert body["messages"] == [{"role": "user", "content": "Describe Paris."}]
    assert "response_format" not in body


def test_json_schema_method_sends_response_format() -> None:
    llm, server = scripted_llm(
        json_response(completion_body(CITY_JSON)),
        structured_output_method="json_schema",
        system_prompt="Be exact.",
    )
    assert llm.structured_predict(City, PROMPT, city="Paris").country == "France"
    body = server.bodies[0]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": City.model_json_schema()},
    }
    assert "tools" not in body
    assert body["messages"][0] == {"role": "system", "content": "Be exact."}


def test_method_can_be_chosen_per_call() -> None:
    llm, server = scripted_llm(json_response(completion_body(CITY_JSON)))
    llm_kwargs = {"structured_output_method": "json_schema", "temperature": 0}
    llm.structured_predict(City, PROMPT, llm_kwargs=llm_kwargs, city="Paris")
    body = server.bodies[0]
    assert body["response_format"]["type"] == "json_schema"
    assert body["temperature"] == 0
    assert "structured_output_method" not in body


def test_unknown_method_is_refused() -> None:
    llm, _ = scripted_llm()
    with pytest.raises(ValueError, match="structured_output_method"):
        llm.structured_predict(
            City, PROMPT, llm_kwargs={"structured_output_method": "xml"}, city="x"
        )


def test_explicit_program_mode_is_respected() -> None:
    llm, server = scripted_llm(
        json_response(completion_body(f"Here you go: {CITY_JSON}")),
        pydantic_program_mode=PydanticProgramMode.LLM,
    )
    assert llm.structured_predict(City, PROMPT, city="Paris").name == "Paris"
    assert "tools" not in server.bodies[0]
    assert "response_format" not in server.bodies[0]


async def test_async_structured_predict_both_methods() -> None:
    llm, _ = scripted_llm(
        json_response(completion_body(None, tool_calls=[tool_call("City", CITY_JSON)])),
        json_response(completion_body(CITY_JSON)),
    )
    assert (await llm.astructured_predict(City, PROMPT, city="Paris")).name == "Paris"
    llm.structured_output_method = "json_schema"
    assert (await llm.astructured_predict(City, PROMPT, city="Paris")).country == "France"


def _json_stream() -> object:
    pieces = ['{"name": "Pa', 'ris", "coun', 'try": "France"}']
    return sse_response(*(chunk(p) for p in pieces), chunk(finish_reason="stop"), usage_chunk())


def test_stream_structured_predict_with_json_schema() -> None:
    llm, _ = scripted_llm(_json_stream(), structured_output_method="json_schema")
    partials = list(llm.stream_structured_predict(City, PROMPT, city="Paris"))
    assert partials[0].model_dump() == {"name": "Pa", "country": None}
    assert partials[-1] == City(name="Paris", country="France")


async def test_astream_structured_predict_with_tools() -> None:
    calls = [
        {"index": 0, "id": "c", "type": "function", "function": {"name": "City", "arguments": ""}},
    ]
    stream = sse_response(
        chunk(tool_calls=calls),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": CITY_JSON[:20]}}]),
        chunk(tool_calls=[{"index": 0, "function": {"arguments": CITY_JSON[20:]}}]),
        chunk(finish_reason="tool_calls"),
    )
    llm, server = scripted_llm(stream)
    partials = [p async for p in await llm.astream_structured_predict(City, PROMPT, city="P")]
    assert partials[-1] == City(name="Paris", country="France")
    assert server.bodies[0]["tool_choice"] == "required"


def test_as_structured_llm_returns_json_of_the_object() -> None:
    llm, _ = scripted_llm(
        json_response(completion_body(None, tool_calls=[tool_call("City", CITY_JSON)]))
    )
    structured = llm.as_structured_llm(City)
    response = structured.chat([ChatMessage(role="user", content="Paris?")])
    assert json.loads(response.message.content or "") == {"name": "Paris", "country": "France"}
    assert response.raw == City(name="Paris", country="France")


@pytest.mark.parametrize(
    "text",
    [
        CITY_JSON,
        f"```json\n{CITY_JSON}\n```",
        f"Sure! {CITY_JSON} Hope that helps.",
    ],
)
def test_parse_structured_text_tolerates_wrapping(text: str) -> None:
    assert parse_structured_text(text, City).name == "Paris"


def test_parse_structured_text_reports_bad_output() -> None:
    with pytest.raises(ValueError, match="not a valid City"):
        parse_structured_text('{"name": "Paris"}', City)
