"""ModelsLabLLM conformance: the breadth of LangChain's standard integration tests, in
LlamaIndex terms, replayed from cassettes recorded against a real server.

Covered: chat/complete and their streaming and async forms, a batch of concurrent
calls, multi-turn and system prompts, stop sequences, max_tokens, token usage (plain and
streamed), unicode, tool calling (forced, auto, streamed, async, without arguments,
with tool results in the history, predict_and_call), structured output (tool calling,
json_schema, async, streamed, as_structured_llm), JSON mode, and server errors.

Every test runs twice, once per protocol (the ``api`` fixture): OpenAI-style
``/chat/completions`` and Anthropic-style ``/v1/messages``. Cassettes are named
``<test>[chat_completions]`` and ``<test>[messages]``. Where the protocols differ on
the wire (the system prompt's place, content blocks, tool_result blocks) the test
checks each its own way; JSON mode, which the Messages protocol lacks, is checked to
be refused before anything is sent, and ``json_schema`` structured output becomes a
forced tool call there (so it is answered by the tools server).

The recording model is SmolLM2-135M-Instruct on llama.cpp's ``llama-server``; it is
greedy here (temperature 0) and answers briefly (max_tokens 48-96). Forced tool calls
(``tool_required=True``, structured output through tools) go to the recording "tools"
server (``tools_llm``), whose template opens the call so that llama-server's grammar
makes it valid; everything else goes to the "chat" server (``llm``). Left to choose
(``tool_choice="auto"``) the model only writes a valid call when the prompt shows the
call's exact form, and llama-server treats a tool choice naming one function like
``"auto"``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import BadRequestError, ServerError
from modelslab_transport.wire.chat import ChatCompletion, ChatCompletionChunk

pytestmark = pytest.mark.vcr


@pytest.fixture(params=["chat_completions", "messages"])
def api(request: pytest.FixtureRequest) -> str:
    """Both protocols, for every test of this module (overrides conftest's ``api``)."""
    return str(request.param)


def sent_body(vcr: Any, index: int = 0) -> dict[str, Any]:
    """The JSON body of the ``index``-th request of the test."""
    body: dict[str, Any] = json.loads(vcr.requests[index].body)
    return body


def text_of(content: str | list[dict[str, Any]]) -> str:
    """A message's text, whether sent as a string or as Messages text blocks."""
    if isinstance(content, str):
        return content
    return "".join(block["text"] for block in content if block["type"] == "text")


HELLO = [ChatMessage(role="user", content="Say hello in one short sentence.")]
CALL_HINT = (
    'What is 6 times 7? Reply exactly: <tool_call>{"name": "multiply", "arguments": '
    '{"a": 6, "b": 7}}</tool_call>'
)


def multiply(a: int, b: int) -> int:
    """Multiply two integers and return the product."""
    return a * b


def current_time() -> str:
    """Return the current time of day."""
    return "12:00"


MULTIPLY = FunctionTool.from_defaults(multiply)
CURRENT_TIME = FunctionTool.from_defaults(current_time)


class City(BaseModel):
    """A city and the country it is in."""

    name: str
    country: str


CITY_PROMPT = PromptTemplate("Extract the city and its country from: {text}")
CITY_TEXT = "Paris is the capital of France."


def assert_text_reply(response: ChatResponse) -> None:
    assert response.message.role == MessageRole.ASSISTANT
    assert isinstance(response.message.content, str)
    assert response.message.content.strip()


def assert_usage(kwargs: dict[str, Any]) -> None:
    assert kwargs["prompt_tokens"] > 0
    assert kwargs["completion_tokens"] > 0
    assert kwargs["total_tokens"] == kwargs["prompt_tokens"] + kwargs["completion_tokens"]


def assert_streamed(responses: list[Any], text_of: Any) -> None:
    deltas = [r.delta or "" for r in responses]
    assert sum(1 for d in deltas if d) > 1, "expected the text in several chunks"
    assert "".join(deltas) == text_of(responses[-1])
    assert text_of(responses[-1]).strip()
    assert_usage(responses[-1].additional_kwargs)


def assert_multiply_call(llm: ModelsLabLLM, response: ChatResponse) -> None:
    calls = llm.get_tool_calls_from_response(response)
    assert len(calls) == 1
    assert calls[0].tool_name == "multiply"
    assert calls[0].tool_id
    assert set(calls[0].tool_kwargs) == {"a", "b"}
    assert all(isinstance(v, int) for v in calls[0].tool_kwargs.values())


# ------------------------------------------------------------- invoke and stream


def test_chat(llm: ModelsLabLLM) -> None:
    response = llm.chat(HELLO)
    assert_text_reply(response)
    assert isinstance(response.raw, ChatCompletion)
    assert response.raw.choices[0].finish_reason in ("stop", "length")
    assert_usage(response.additional_kwargs)


def test_complete(llm: ModelsLabLLM) -> None:
    response = llm.complete("Name a colour.")
    assert isinstance(response, CompletionResponse)
    assert response.text.strip()
    assert_usage(response.additional_kwargs)


async def test_achat(llm: ModelsLabLLM) -> None:
    assert_text_reply(await llm.achat(HELLO))


async def test_acomplete(llm: ModelsLabLLM) -> None:
    assert (await llm.acomplete("Name a fruit.")).text.strip()


def test_stream_chat(llm: ModelsLabLLM) -> None:
    responses = list(llm.stream_chat(HELLO))
    assert_streamed(responses, lambda r: r.message.content)
    assert all(isinstance(r.raw, ChatCompletionChunk) for r in responses)


async def test_astream_chat(llm: ModelsLabLLM) -> None:
    responses = [r async for r in await llm.astream_chat(HELLO)]
    assert_streamed(responses, lambda r: r.message.content)


def test_stream_complete(llm: ModelsLabLLM) -> None:
    responses = list(llm.stream_complete("Name an animal."))
    assert_streamed(responses, lambda r: r.text)


async def test_astream_complete(llm: ModelsLabLLM) -> None:
    responses = [r async for r in await llm.astream_complete("Name a country.")]
    assert_streamed(responses, lambda r: r.text)


async def test_batch_of_concurrent_calls(llm: ModelsLabLLM) -> None:
    prompts = ["Name a colour.", "Name a fruit.", "Name an animal."]
    responses = await asyncio.gather(*(llm.acomplete(p) for p in prompts))
    assert len(responses) == 3
    assert all(r.text.strip() for r in responses)


# ---------------------------------------------------- conversation and parameters


def test_multi_turn_conversation(llm: ModelsLabLLM) -> None:
    history = [
        ChatMessage(role="user", content="My name is Ada."),
        ChatMessage(role="assistant", content="Nice to meet you, Ada!"),
        ChatMessage(role="user", content="What is my name?"),
    ]
    assert_text_reply(llm.chat(history))


def test_system_prompt(llm: ModelsLabLLM, vcr: Any, api: str) -> None:
    pirate = "You are a pirate. Answer like a pirate."
    llm.system_prompt = pirate
    answer = llm.predict(PromptTemplate("Greet {name}."), name="Ada")
    assert answer.strip()
    body = sent_body(vcr)
    if api == "messages":  # the system prompt travels beside the turns
        assert body["system"] == pirate
        assert body["messages"] == [
            {"role": "user", "content": [{"type": "text", "text": "Greet Ada."}]}
        ]
    else:
        assert body["messages"][0] == {"role": "system", "content": pirate}
        assert body["messages"][1] == {"role": "user", "content": "Greet Ada."}


def test_stop_sequence(llm: ModelsLabLLM) -> None:
    response = llm.complete("Count from 1 to 10, one number per line.", stop=["\n"])
    assert response.text.strip()
    assert "\n" not in response.text


def test_max_tokens(llm: ModelsLabLLM) -> None:
    response = llm.chat(HELLO, max_tokens=3)
    assert response.raw.choices[0].finish_reason == "length"
    assert 0 < response.additional_kwargs["completion_tokens"] <= 3


def test_usage_streaming_arrives_once_at_the_end(llm: ModelsLabLLM) -> None:
    responses = list(llm.stream_chat(HELLO))
    with_usage = [r for r in responses if r.additional_kwargs]
    assert with_usage == [responses[-1]]
    assert_usage(responses[-1].additional_kwargs)
    assert responses[-1].raw.usage is not None


def test_unicode(llm: ModelsLabLLM, vcr: Any) -> None:
    prompt = "Répète après moi : « café, naïve, 日本語, 🙂 »"
    response = llm.chat([ChatMessage(role="user", content=prompt)])
    assert_text_reply(response)
    assert text_of(sent_body(vcr)["messages"][0]["content"]) == prompt


# -------------------------------------------------------------------- tool calling


def test_tool_calling_forced(tools_llm: ModelsLabLLM) -> None:
    response = tools_llm.chat_with_tools(
        [MULTIPLY], user_msg="What is 6 times 7?", tool_required=True
    )
    assert_multiply_call(tools_llm, response)
    assert response.raw.choices[0].finish_reason == "tool_calls"
    blocks = [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]
    assert blocks[0].tool_name == "multiply"
    assert response.message.additional_kwargs["tool_calls"][0]["function"]["name"] == "multiply"


async def test_tool_calling_forced_async(tools_llm: ModelsLabLLM) -> None:
    response = await tools_llm.achat_with_tools(
        [MULTIPLY], user_msg="What is 6 times 7?", tool_required=True
    )
    assert_multiply_call(tools_llm, response)


def test_tool_calling_forced_streaming(tools_llm: ModelsLabLLM) -> None:
    responses = list(
        tools_llm.stream_chat_with_tools(
            [MULTIPLY], user_msg="What is 6 times 7?", tool_required=True
        )
    )
    for response in responses:  # partial arguments mid-stream must never raise
        tools_llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    assert_multiply_call(tools_llm, responses[-1])
    assert_usage(responses[-1].additional_kwargs)


async def test_tool_calling_forced_astreaming(tools_llm: ModelsLabLLM) -> None:
    stream = await tools_llm.astream_chat_with_tools(
        [MULTIPLY], user_msg="What is 6 times 7?", tool_required=True
    )
    responses = [r async for r in stream]
    assert_multiply_call(tools_llm, responses[-1])


def test_tool_calling_auto(llm: ModelsLabLLM, vcr: Any, api: str) -> None:
    response = llm.chat_with_tools([MULTIPLY], user_msg=CALL_HINT)
    choice = sent_body(vcr)["tool_choice"]
    if api == "messages":
        assert choice == {"type": "auto", "disable_parallel_tool_use": True}
    else:
        assert choice == "auto"
    calls = llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
    if calls:  # the model chose to call the tool
        assert calls[0].tool_name == "multiply"
        assert isinstance(calls[0].tool_kwargs, dict)
    else:  # the model chose to answer
        assert_text_reply(response)


def test_tool_calling_without_arguments(tools_llm: ModelsLabLLM) -> None:
    response = tools_llm.chat_with_tools(
        [CURRENT_TIME], user_msg="What time is it?", tool_required=True
    )
    calls = tools_llm.get_tool_calls_from_response(response)
    assert calls[0].tool_name == "current_time"
    assert isinstance(calls[0].tool_kwargs, dict)


def test_tool_result_in_history(
    llm: ModelsLabLLM, tools_llm: ModelsLabLLM, vcr: Any, api: str
) -> None:
    question = "What is 6 times 7?"
    first = tools_llm.chat_with_tools([MULTIPLY], user_msg=question, tool_required=True)
    call = tools_llm.get_tool_calls_from_response(first)[0]
    result = ChatMessage(
        role="tool",
        content=str(multiply(**call.tool_kwargs)),
        additional_kwargs={"tool_call_id": call.tool_id, "name": call.tool_name},
    )
    history = [ChatMessage(role="user", content=question), first.message, result]
    second = llm.chat_with_tools([MULTIPLY], chat_history=history)
    assert_text_reply(second)
    assert llm.get_tool_calls_from_response(second, error_on_no_tool_call=False) == []
    sent = sent_body(vcr, 1)["messages"]
    if api == "messages":  # tool_use in the assistant turn, tool_result in a user turn
        tool_use = [b for b in sent[1]["content"] if b["type"] == "tool_use"]
        assert tool_use[0]["id"] == call.tool_id
        assert tool_use[0]["input"] == call.tool_kwargs
        assert sent[2] == {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.tool_id, "content": result.content}
            ],
        }
    else:
        assert sent[1]["tool_calls"][0]["id"] == call.tool_id
        assert sent[2] == {
            "role": "tool",
            "content": result.content,
            "tool_call_id": call.tool_id,
            "name": "multiply",
        }


def test_predict_and_call(tools_llm: ModelsLabLLM) -> None:
    output = tools_llm.predict_and_call(
        [MULTIPLY], user_msg="What is 6 times 7?", tool_required=True
    )
    assert output.sources[0].tool_name == "multiply"
    assert output.response == str(multiply(**output.sources[0].raw_input["kwargs"]))


# -------------------------------------------------------------- structured output


def test_structured_predict_with_tool_calling(tools_llm: ModelsLabLLM) -> None:
    city = tools_llm.structured_predict(City, CITY_PROMPT, text=CITY_TEXT)
    assert isinstance(city, City)
    assert city.name.strip()


def test_structured_predict_with_json_schema(
    llm: ModelsLabLLM, tools_llm: ModelsLabLLM, vcr: Any, api: str
) -> None:
    # No response_format on the Messages protocol: json_schema is a forced tool call.
    structured = tools_llm if api == "messages" else llm
    structured.structured_output_method = "json_schema"
    city = structured.structured_predict(City, CITY_PROMPT, text=CITY_TEXT)
    assert isinstance(city, City)
    assert city.name.strip()
    body = sent_body(vcr)
    if api == "messages":
        assert "response_format" not in body
        assert body["tool_choice"]["type"] == "any"
    else:
        assert body["response_format"]["type"] == "json_schema"


async def test_astructured_predict(tools_llm: ModelsLabLLM) -> None:
    city = await tools_llm.astructured_predict(City, CITY_PROMPT, text=CITY_TEXT)
    assert isinstance(city, City)


def test_stream_structured_predict(llm: ModelsLabLLM, tools_llm: ModelsLabLLM, api: str) -> None:
    structured = tools_llm if api == "messages" else llm  # see the test above
    structured.structured_output_method = "json_schema"
    partials = list(structured.stream_structured_predict(City, CITY_PROMPT, text=CITY_TEXT))
    assert len(partials) > 1
    assert isinstance(partials[-1], City)


async def test_astream_structured_predict(tools_llm: ModelsLabLLM) -> None:
    stream = await tools_llm.astream_structured_predict(City, CITY_PROMPT, text=CITY_TEXT)
    partials = [p async for p in stream]
    assert isinstance(partials[-1], City)


def test_as_structured_llm(tools_llm: ModelsLabLLM) -> None:
    structured = tools_llm.as_structured_llm(City)
    response = structured.chat([ChatMessage(role="user", content=CITY_TEXT)])
    assert isinstance(response.raw, City)
    assert json.loads(response.message.content or "") == response.raw.model_dump()


def test_json_mode(llm: ModelsLabLLM, vcr: Any, api: str) -> None:
    prompt = "Describe a person as a JSON object with the keys name and age."
    if api == "messages":  # the protocol has no response_format: refused, nothing sent
        with pytest.raises(ValueError, match="response_format cannot be sent with api='messages'"):
            llm.complete(prompt, response_format={"type": "json_object"})
        assert len(vcr.requests) == 0
        return
    response = llm.complete(prompt, response_format={"type": "json_object"})
    assert isinstance(json.loads(response.text), dict)


# -------------------------------------------------------------------------- errors


def test_context_overflow_is_a_bad_request(llm: ModelsLabLLM) -> None:
    with pytest.raises(BadRequestError, match="context") as info:
        llm.complete("word " * 5000)
    assert info.value.status_code == 400


async def test_context_overflow_in_a_stream_is_a_bad_request(llm: ModelsLabLLM) -> None:
    with pytest.raises(BadRequestError, match="context"):
        async for _ in await llm.astream_chat([ChatMessage(role="user", content="word " * 5000)]):
            pass


def test_unparseable_tool_call_is_a_server_error(tools_llm: ModelsLabLLM) -> None:
    # Left to choose without a hint, the tiny model writes a call to a tool that does
    # not exist; llama-server reports that as HTTP 500.
    with pytest.raises(ServerError) as info:
        tools_llm.chat_with_tools([MULTIPLY], user_msg="What is 6 times 7?")
    assert info.value.status_code == 500
