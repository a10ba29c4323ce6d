"""ChatModelsLab inside real LangChain programs, replayed from cassettes.

An LCEL chain, a tool-calling agent built with LangChain 1.x ``create_agent``,
structured output into a pydantic class, ``astream_events`` and exact token
counting. The recording model is tiny (SmolLM2-135M), so the assertions check the
shape of what comes back (types, tool names, usage counts), not its wisdom.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import ModelRequest, ModelResponse, wrap_model_call
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_modelslab import ChatModelsLab
from tests.langchain.server_routing import routed_model_params

pytestmark = pytest.mark.vcr


@pytest.fixture
def llm(server_base_url: str, tools_base_url: str, server_api_key: str) -> ChatModelsLab:
    """Forced tool calls go to the tools server, the rest to the chat server."""
    return ChatModelsLab(
        **routed_model_params(server_base_url, tools_base_url, server_api_key),
        temperature=0,
        max_tokens=120,
        max_retries=0,
    )


def test_lcel_chain_invoke_stream_and_batch(llm: ChatModelsLab) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You answer in one short sentence."), ("human", "Tell me about {topic}.")]
    )
    chain = prompt | llm | StrOutputParser()

    answer = chain.invoke({"topic": "the sea"})
    assert isinstance(answer, str)
    assert answer.strip()

    pieces = list(chain.stream({"topic": "the moon"}))
    assert len(pieces) > 1
    assert all(isinstance(piece, str) for piece in pieces)
    assert "".join(pieces).strip()

    answers = chain.batch([{"topic": "cats"}, {"topic": "dogs"}])
    assert len(answers) == 2
    assert all(isinstance(a, str) and a.strip() for a in answers)


@tool
def get_word_length(word: str) -> int:
    """Return the number of letters in a word."""
    return len(word)


@wrap_model_call
def call_a_tool_first(
    request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
) -> ModelResponse:
    """Force a tool call on the first turn; let the model answer in words after it.

    A 135M-parameter model does not reliably choose to call a tool on its own.
    """
    has_result = any(isinstance(message, ToolMessage) for message in request.messages)
    return handler(request.override(tool_choice="none" if has_result else "any"))


def test_agent_calls_a_python_tool_and_finishes(llm: ChatModelsLab) -> None:
    agent = create_agent(
        llm,
        tools=[get_word_length],
        system_prompt="Use the get_word_length tool to count letters.",
        middleware=[call_a_tool_first],
    )
    state = agent.invoke({"messages": [HumanMessage("How many letters are in the word 'banana'?")]})
    messages = state["messages"]

    calls = [m for m in messages if isinstance(m, AIMessage) and m.tool_calls]
    assert calls, "the agent never called the tool"
    first_call = calls[0].tool_calls[0]
    assert first_call["name"] == "get_word_length"
    assert isinstance(first_call["args"].get("word"), str)

    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert results
    assert results[0].tool_call_id == first_call["id"]
    assert results[0].content == str(len(first_call["args"]["word"]))

    final = messages[-1]
    assert isinstance(final, AIMessage)
    assert not final.tool_calls
    assert final.text.strip()
    assert final.usage_metadata is not None
    assert final.usage_metadata["input_tokens"] > 0


class Person(BaseModel):
    """A person mentioned in a text."""

    name: str = Field(description="the person's name")
    age: int = Field(description="the person's age in years")


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_structured_output_into_a_pydantic_class(llm: ChatModelsLab, method: str) -> None:
    extractor = llm.with_structured_output(Person, method=method)  # type: ignore[arg-type]
    person = extractor.invoke("Alice is 30 years old. Extract the person.")
    assert isinstance(person, Person)
    assert isinstance(person.name, str)
    assert isinstance(person.age, int)


def test_structured_output_include_raw(llm: ChatModelsLab) -> None:
    extractor = llm.with_structured_output(Person, include_raw=True)
    result = extractor.invoke("Bob is 41 years old. Extract the person.")
    assert isinstance(result, dict)
    assert isinstance(result["raw"], AIMessage)
    assert result["raw"].tool_calls
    assert result["parsing_error"] is None
    assert isinstance(result["parsed"], Person)


async def test_astream_events_reports_start_tokens_and_end(llm: ChatModelsLab) -> None:
    chain = ChatPromptTemplate.from_messages([("human", "Say hello to {name}.")]) | llm
    events: list[Any] = [
        event async for event in chain.astream_events({"name": "Ada"}, version="v2")
    ]
    kinds = [event["event"] for event in events]
    assert kinds[0] == "on_chain_start"
    assert "on_chat_model_start" in kinds
    assert kinds.count("on_chat_model_end") == 1
    streamed = [e["data"]["chunk"] for e in events if e["event"] == "on_chat_model_stream"]
    assert len(streamed) > 1
    assert "".join(chunk.text for chunk in streamed).strip()
    end = next(e for e in events if e["event"] == "on_chat_model_end")
    output = end["data"]["output"]
    assert output.usage_metadata is not None
    assert output.usage_metadata["output_tokens"] > 0
    assert output.response_metadata["model_provider"] == "modelslab"
    assert output.response_metadata["model_name"]
    assert end["metadata"]["ls_provider"] == "modelslab"


def test_exact_token_count_matches_the_servers_own_count(llm: ChatModelsLab) -> None:
    messages = [SystemMessage("You are brief."), HumanMessage("Count my tokens, please.")]
    counted = llm.get_num_tokens_from_messages(messages)
    assert isinstance(counted, int)
    assert counted > 0
