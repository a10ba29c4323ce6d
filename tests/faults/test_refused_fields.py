"""Request fields a server refuses: negotiated once in the core, for both frameworks.

A loopback server refuses a field (``stream_options``, ``tool_choice: "required"``,
``strict``, ``parallel_tool_calls``) with the error body a real server sends for it
(sources in :mod:`modelslab_transport.protocols.negotiation`) whenever the request carries it, and
answers normally otherwise. Each call must succeed with exactly one extra request the
first time, none the next time (the refusal is remembered per client), log the refusal
at DEBUG, and never show the key. An error that names nothing negotiable is raised
after one request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessageChunk
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from modelslab_transport import APIStatusError
from modelslab_transport.errors import BadRequestError
from tests.faults.drivers import FAKE_KEY, make_model
from tests.support.fault_server import Behaviour, FaultServer, json_reply, sse_reply
from tests.support.loopback import LoopbackConnection, LoopbackRequest
from tests.support.replies import chunk, completion_body

# ------------------------------------------------------------ real error bodies

VLLM_STREAM_OPTIONS = {
    "object": "error",
    "message": "1 validation error for ChatCompletionRequest\nstream_options\n  Extra inputs are "
    "not permitted [type=extra_forbidden, input_value={'include_usage': True}, "
    "input_type=dict]",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}
MISTRAL_STREAM_OPTIONS = {
    "object": "error",
    "message": {
        "detail": [
            {
                "type": "extra_forbidden",
                "loc": ["body", "stream_options"],
                "msg": "Extra inputs are not permitted",
                "input": {"include_usage": True},
            }
        ]
    },
    "type": "invalid_request_error",
    "param": None,
    "code": None,
}
VLLM_TOOL_CHOICE = {
    "object": "error",
    "message": "[{'type': 'value_error', 'loc': ('body',), 'msg': 'Value error, tool_choice "
    "must either be a named tool, \"auto\", or \"none\".', 'input': {'model': 'fault-model', "
    "'tool_choice': 'required', 'stream_options': None, 'parallel_tool_calls': None}}]",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}
VLLM_STRICT = {
    "object": "error",
    "message": "1 validation error for ChatCompletionRequest\ntools.0.function.strict\n  Extra "
    "inputs are not permitted [type=extra_forbidden, input_value=True, input_type=bool]",
    "type": "BadRequestError",
    "param": None,
    "code": 400,
}
OPENAI_PARALLEL = {
    "error": {
        "message": "Unsupported parameter: 'parallel_tool_calls' is not supported with this model.",
        "type": "invalid_request_error",
        "param": "parallel_tool_calls",
        "code": "unsupported_parameter",
    }
}
MESSAGES_STRICT = {
    "type": "error",
    "error": {
        "type": "invalid_request_error",
        "message": "tools.0.custom.strict: Extra inputs are not permitted",
    },
}
MESSAGES_TOOL_CHOICE = {
    "detail": [
        {
            "type": "literal_error",
            "loc": ["body", "tool_choice", "type"],
            "msg": "Input should be 'auto', 'tool' or 'none'",
            "input": "any",
        }
    ]
}
UNRELATED = {"error": {"message": "messages: at least one message is required", "code": 400}}


class Weather(BaseModel):
    """The weather in a city."""

    city: str
    celsius: int


WEATHER_ARGS = '{"city": "Paris", "celsius": 21}'

# ---------------------------------------------------------------- the server


def _body(request: LoopbackRequest) -> dict[str, Any]:
    return json.loads(request.body or b"{}")  # type: ignore[no-any-return]


def refusing(
    refuses: Callable[[dict[str, Any]], bool], status: int, error: Any, answer: Behaviour
) -> Behaviour:
    """Answer with ``error`` when the body is refused, with ``answer`` otherwise."""
    refusal = json_reply(error, status)

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        return (refusal if refuses(_body(request)) else answer)(conn, request)

    return behaviour


def bodies(server: FaultServer) -> list[dict[str, Any]]:
    return [_body(request) for request in server.requests]


def tool_completion(name: str = "Weather", arguments: str = WEATHER_ARGS) -> dict[str, Any]:
    body = completion_body("")
    body["choices"][0]["message"] = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
        ],
    }
    body["choices"][0]["finish_reason"] = "tool_calls"
    return body


USAGE_CHUNK = {**chunk(finish_reason="stop"), "usage": {"prompt_tokens": 4, "completion_tokens": 2}}
TEXT_STREAM = sse_reply(chunk("Hel"), chunk("lo"), USAGE_CHUNK, "data: [DONE]\n\n")


def _assert_negotiated(
    server: FaultServer, logs: pytest.LogCaptureFixture, feature: str, calls: int
) -> None:
    """``calls`` calls were made: the first took two requests, every later one one."""
    assert server.request_count == calls + 1
    lines = [r.getMessage() for r in logs.records if "refused" in r.getMessage()]
    assert len(lines) == 1, lines
    assert f"refused {feature}" in lines[0]
    assert all(r.levelname == "DEBUG" for r in logs.records if "refused" in r.getMessage())
    assert FAKE_KEY not in logs.text


# ------------------------------------------------------------ stream_options


@pytest.mark.parametrize("error", [(400, VLLM_STREAM_OPTIONS), (422, MISTRAL_STREAM_OPTIONS)])
@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("run", ["sync", "async"])
def test_refused_stream_options_is_left_out(
    error: tuple[int, Any], framework: str, run: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    status, body = error
    with FaultServer(refusing(lambda b: "stream_options" in b, status, body, TEXT_STREAM)) as srv:
        model = make_model(framework, srv.base_url)  # type: ignore[arg-type]
        texts = [_stream_text(model, framework, run) for _ in range(2)]
    assert [text for text, _ in texts] == ["Hello", "Hello"]
    # Usage still arrives from the last chunk when the server sends it unasked.
    if framework == "langchain":
        assert [usage for _, usage in texts] == [6, 6]
    sent = bodies(srv)
    assert "stream_options" in sent[0]
    assert all("stream_options" not in b for b in sent[1:])
    _assert_negotiated(srv, debug_logs, "stream_options", calls=2)


def _stream_text(model: Any, framework: str, run: str) -> tuple[str, int | None]:
    if framework == "langchain":
        if run == "sync":
            parts = list(model.stream("Hi"))
        else:

            async def collect() -> list[AIMessageChunk]:
                return [part async for part in model.astream("Hi")]

            parts = asyncio.run(collect())
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        usage = total.usage_metadata["total_tokens"] if total.usage_metadata else None
        return total.text, usage
    messages = [ChatMessage(role=MessageRole.USER, content="Hi")]
    if run == "sync":
        last = list(model.stream_chat(messages))[-1]
    else:

        async def collect_llama() -> Any:
            return [response async for response in await model.astream_chat(messages)][-1]

        last = asyncio.run(collect_llama())
    return last.message.content, None


# ------------------------------------------------------- tool_choice "required"


def _is_required(body: dict[str, Any]) -> bool:
    return body.get("tool_choice") == "required"


@pytest.mark.parametrize("run", ["invoke", "ainvoke", "stream"])
def test_langchain_structured_output_falls_back_to_the_named_tool(
    run: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    answer = json_reply(tool_completion())
    if run == "stream":
        call = {"index": 0, "id": "call_1", "type": "function"}
        call["function"] = {"name": "Weather", "arguments": WEATHER_ARGS}
        answer = sse_reply(
            {**chunk(), "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]},
            chunk(finish_reason="stop"),
            "data: [DONE]\n\n",
        )
    with FaultServer(refusing(_is_required, 400, VLLM_TOOL_CHOICE, answer)) as srv:
        structured = make_model("langchain", srv.base_url).with_structured_output(Weather)
        for _ in range(2):
            if run == "invoke":
                result = structured.invoke("Weather in Paris?")
            elif run == "ainvoke":
                result = asyncio.run(structured.ainvoke("Weather in Paris?"))
            else:
                result = list(structured.stream("Weather in Paris?"))[-1]
            assert result == Weather(city="Paris", celsius=21)
    sent = bodies(srv)
    assert sent[0]["tool_choice"] == "required"  # the form sent first (see the README)
    named = {"type": "function", "function": {"name": "Weather"}}
    assert [b["tool_choice"] for b in sent[1:]] == [named, named]
    assert sent[0]["tools"][0]["function"]["name"] == "Weather"  # as ChatOpenAI names it
    _assert_negotiated(srv, debug_logs, "tool_choice", calls=2)


@pytest.mark.parametrize("run", ["sync", "async"])
def test_llama_index_structured_predict_falls_back_to_the_named_tool(
    run: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    answer = json_reply(tool_completion())
    prompt = PromptTemplate("Weather in {city}?")
    with FaultServer(refusing(_is_required, 400, VLLM_TOOL_CHOICE, answer)) as srv:
        llm = make_model("llama_index", srv.base_url)
        for _ in range(2):
            if run == "sync":
                result = llm.structured_predict(Weather, prompt, city="Paris")
            else:
                result = asyncio.run(llm.astructured_predict(Weather, prompt, city="Paris"))
            assert result == Weather(city="Paris", celsius=21)
    named = {"type": "function", "function": {"name": "Weather"}}
    assert [b["tool_choice"] for b in bodies(srv)] == ["required", named, named]
    _assert_negotiated(srv, debug_logs, "tool_choice", calls=2)


def test_required_with_several_tools_has_no_equivalent_and_is_raised() -> None:
    answer = json_reply(tool_completion())
    with FaultServer(refusing(_is_required, 400, VLLM_TOOL_CHOICE, answer)) as srv:
        model = make_model("langchain", srv.base_url)

        def other(city: str) -> str:
            """Another tool."""
            return city

        bound = model.bind_tools([Weather, other], tool_choice="any")
        with pytest.raises(BadRequestError, match="named tool"):
            bound.invoke("Weather in Paris?")
    assert srv.request_count == 1


# ------------------------------------------------- strict, parallel_tool_calls


@pytest.mark.parametrize("run", ["invoke", "ainvoke"])
def test_langchain_refused_strict_and_parallel_tool_calls(
    run: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    def refuses(body: dict[str, Any]) -> bool:
        return "strict" in body["tools"][0]["function"]

    answer = refusing(
        lambda b: "parallel_tool_calls" in b, 400, OPENAI_PARALLEL, json_reply(tool_completion())
    )
    with FaultServer(refusing(refuses, 400, VLLM_STRICT, answer)) as srv:
        model = make_model("langchain", srv.base_url)
        bound = model.bind_tools([Weather], strict=True, parallel_tool_calls=False)
        for _ in range(2):
            message = bound.invoke("Hi") if run == "invoke" else asyncio.run(bound.ainvoke("Hi"))
            assert message.tool_calls[0]["args"] == {"city": "Paris", "celsius": 21}
    sent = bodies(srv)
    # One extra request per field: strict first, then parallel_tool_calls; then none.
    assert srv.request_count == 4
    assert "strict" in sent[0]["tools"][0]["function"]
    assert "parallel_tool_calls" in sent[1]
    assert all("strict" not in b["tools"][0]["function"] for b in sent[1:])
    assert all("parallel_tool_calls" not in b for b in sent[2:])
    refusals = [r.getMessage() for r in debug_logs.records if "refused" in r.getMessage()]
    assert len(refusals) == 2
    assert "refused strict" in refusals[0]
    assert "refused parallel_tool_calls" in refusals[1]
    assert FAKE_KEY not in debug_logs.text


@pytest.mark.parametrize("run", ["sync", "async"])
def test_llama_index_refused_parallel_tool_calls(
    run: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    tool = FunctionTool.from_defaults(fn=lambda city, celsius: city, name="Weather")
    answer = json_reply(tool_completion())
    server = refusing(lambda b: "parallel_tool_calls" in b, 400, OPENAI_PARALLEL, answer)
    with FaultServer(server) as srv:
        llm = make_model("llama_index", srv.base_url)
        for _ in range(2):
            if run == "sync":
                response = llm.chat_with_tools([tool], user_msg="Weather?")
            else:
                response = asyncio.run(llm.achat_with_tools([tool], user_msg="Weather?"))
            calls = llm.get_tool_calls_from_response(response)
            assert calls[0].tool_kwargs == {"city": "Paris", "celsius": 21}
    assert bodies(srv)[0]["parallel_tool_calls"] is False
    _assert_negotiated(srv, debug_logs, "parallel_tool_calls", calls=2)


def test_messages_protocol_refused_strict(debug_logs: pytest.LogCaptureFixture) -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "fault-model",
        "content": [{"type": "tool_use", "id": "toolu_1", "name": "Weather"}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }
    message["content"][0]["input"] = {"city": "Paris", "celsius": 21}  # type: ignore[index]

    def refuses(body: dict[str, Any]) -> bool:
        return "strict" in body["tools"][0]

    with FaultServer(refusing(refuses, 400, MESSAGES_STRICT, json_reply(message))) as srv:
        model = make_model("langchain", srv.base_url, api="messages")
        bound = model.bind_tools([Weather], strict=True)
        for _ in range(2):
            assert bound.invoke("Hi").tool_calls[0]["args"] == {"city": "Paris", "celsius": 21}
    sent = bodies(srv)
    assert sent[0]["tools"][0]["strict"] is True
    assert all("strict" not in b["tools"][0] for b in sent[1:])
    _assert_negotiated(srv, debug_logs, "strict", calls=2)


def _messages_reply(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "fault-model",
        "content": [content],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }


@pytest.mark.parametrize("run", ["sync", "async"])
def test_messages_protocol_structured_predict_falls_back_to_the_named_tool(
    run: str, debug_logs: pytest.LogCaptureFixture
) -> None:
    use = {"type": "tool_use", "id": "toolu_1", "name": "Weather"}
    answer = json_reply(_messages_reply({**use, "input": {"city": "Paris", "celsius": 21}}))

    def refuses(body: dict[str, Any]) -> bool:
        return body.get("tool_choice", {}).get("type") == "any"

    prompt = PromptTemplate("Weather in {city}?")
    with FaultServer(refusing(refuses, 422, MESSAGES_TOOL_CHOICE, answer)) as srv:
        llm = make_model("llama_index", srv.base_url, api="messages")
        for _ in range(2):
            if run == "sync":
                result = llm.structured_predict(Weather, prompt, city="Paris")
            else:
                result = asyncio.run(llm.astructured_predict(Weather, prompt, city="Paris"))
            assert result == Weather(city="Paris", celsius=21)
    choices = [b["tool_choice"] for b in bodies(srv)]
    assert choices[0]["type"] == "any"
    assert [(c["type"], c["name"]) for c in choices[1:]] == [("tool", "Weather")] * 2
    _assert_negotiated(srv, debug_logs, "tool_choice", calls=2)


# --------------------------------------------------------------- propagation


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
def test_a_refusal_naming_nothing_negotiable_is_raised_unchanged(framework: str) -> None:
    with FaultServer(json_reply(UNRELATED, 400)) as srv:
        model = make_model(framework, srv.base_url)  # type: ignore[arg-type]
        if framework == "langchain":
            stream = model.stream("Hi")
        else:
            stream = model.stream_chat([ChatMessage(role=MessageRole.USER, content="Hi")])
        with pytest.raises(APIStatusError, match="at least one message is required"):
            list(stream)
    assert srv.request_count == 1
