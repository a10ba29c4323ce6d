"""ChatModelsLab on replies that did not finish, or whose tool arguments are not JSON.

A tool call cut off by the token limit (or not valid JSON) is an ``invalid_tool_calls``
entry whose ``error`` names the cause and ``max_tokens``; a stream, whose added-up
chunks LangChain repairs, ends with ``IncompleteReplyError`` instead. Structured output
on such a reply raises ``OutputParserException`` (``parsing_error`` with
``include_raw=True``). Both protocols, sync and async, plain and streamed.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage
from pydantic import BaseModel

from modelslab_transport.chat.completeness import IncompleteReplyError
from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.replies import chunk, sse_response, usage_chunk
from tests.support.truncation import (
    APIS,
    CALLED,
    FINISHED,
    TRUNCATED,
    WHOLE_ARGUMENTS,
    text_reply,
    tool_reply,
)


class Transfer(BaseModel):
    """Move money between accounts."""

    account: str
    amount: float


class Forecast(BaseModel):
    """A weather forecast."""

    city: str
    summary: str


def transfer(account: str, amount: float) -> str:
    """Move money to an account."""
    return f"sent {amount} to {account}"


def _assert_cut(message: AIMessage, api: str) -> None:
    assert message.tool_calls == []
    [invalid] = message.invalid_tool_calls
    assert invalid["name"] == "transfer"
    assert invalid["args"] == '{"account": "ACC-1", "amount": 12' or api == "messages"
    error = invalid["error"] or ""
    assert "max_tokens" in error
    assert repr(TRUNCATED[api]) in error
    assert message.response_metadata["finish_reason"] == TRUNCATED[api] or (
        api == "messages" and message.response_metadata["finish_reason"] == "length"
    )


# ------------------------------------------------------------------ tool calls


@pytest.mark.parametrize("api", APIS)
def test_invoke_a_cut_tool_call_is_invalid_naming_max_tokens(api: str) -> None:
    server = ScriptedServer([tool_reply(api, stream=False)])
    message = chat_model(server, api=api).bind_tools([transfer]).invoke("pay")
    assert isinstance(message, AIMessage)
    # The Messages reply's input looks whole (the server closed it); the stop reason says
    # it was cut, so it is invalid all the same.
    assert message.tool_calls == []
    [invalid] = message.invalid_tool_calls
    assert "max_tokens" in (invalid["error"] or "")
    assert "'transfer'" in (invalid["error"] or "")


@pytest.mark.parametrize("api", APIS)
async def test_ainvoke_a_cut_tool_call_is_invalid(api: str) -> None:
    server = ScriptedServer([tool_reply(api, stream=False)])
    message = await chat_model(server, api=api).bind_tools([transfer]).ainvoke("pay")
    assert message.tool_calls == []
    assert "max_tokens" in (message.invalid_tool_calls[0]["error"] or "")


def test_invoke_reports_the_servers_reason_and_the_setting() -> None:
    server = ScriptedServer([tool_reply("chat_completions", stream=False)])
    message = chat_model(server).bind_tools([transfer]).invoke("pay")
    _assert_cut(message, "chat_completions")


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("streaming", [False, True])
def test_a_finished_call_is_valid(api: str, streaming: bool) -> None:
    server = ScriptedServer(
        [tool_reply(api, stream=streaming, pieces=WHOLE_ARGUMENTS, reason=CALLED[api])]
    )
    message = chat_model(server, api=api, streaming=streaming).bind_tools([transfer]).invoke("pay")
    assert message.invalid_tool_calls == []
    assert message.tool_calls[0]["args"] == {"account": "ACC-1", "amount": 1250.75}


@pytest.mark.parametrize("api", APIS)
def test_stream_of_a_cut_call_ends_with_a_typed_error(api: str) -> None:
    server = ScriptedServer([tool_reply(api, stream=True)])
    llm = chat_model(server, api=api).bind_tools([transfer])
    seen: list[AIMessageChunk] = []

    def consume() -> None:
        for piece in llm.stream("pay"):
            assert isinstance(piece, AIMessageChunk)
            seen.append(piece)

    with pytest.raises(IncompleteReplyError, match="max_tokens") as caught:
        consume()
    assert caught.value.setting == "max_tokens"
    assert isinstance(caught.value, ValueError)
    assert seen  # the partial call was shown while it arrived
    assert seen[-1].usage_metadata is not None  # the closing chunk came first


@pytest.mark.parametrize("api", APIS)
async def test_astream_of_a_cut_call_ends_with_a_typed_error(api: str) -> None:
    server = ScriptedServer([tool_reply(api, stream=True)])
    llm = chat_model(server, api=api).bind_tools([transfer])
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        async for _ in llm.astream("pay"):
            pass


@pytest.mark.parametrize("api", APIS)
async def test_streamed_invoke_never_returns_repaired_arguments(api: str) -> None:
    server = ScriptedServer([tool_reply(api, stream=True)])
    llm = chat_model(server, api=api, streaming=True).bind_tools([transfer])
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        llm.invoke("pay")
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        await llm.ainvoke("pay")


@pytest.mark.parametrize("streaming", [False, True])
def test_finished_reply_with_invalid_json_arguments(streaming: bool) -> None:
    pieces = ('{"a": 6, ', '"b": }')
    server = ScriptedServer(
        [tool_reply("chat_completions", stream=streaming, pieces=pieces, reason="tool_calls")]
    )
    llm = chat_model(server).bind_tools([transfer])
    if streaming:
        with pytest.raises(IncompleteReplyError, match="not valid JSON") as caught:
            list(llm.stream("pay"))
        assert caught.value.incomplete is None
        return
    message = llm.invoke("pay")
    assert message.tool_calls == []
    assert message.invalid_tool_calls[0]["args"] == '{"a": 6, "b": }'
    assert "not valid JSON" in (message.invalid_tool_calls[0]["error"] or "")


@pytest.mark.parametrize("api", APIS)
def test_cut_text_says_so_in_the_metadata(api: str) -> None:
    server = ScriptedServer([text_reply(api, stream=False, pieces=("Once upon a",))])
    message = chat_model(server, api=api).invoke("story")
    assert message.content == "Once upon a"
    assert message.response_metadata["finish_reason"] == "length"


# ------------------------------------------------------------------ structured output


def _structured_reply(api: str, method: str, *, stream: bool) -> Any:
    if api == "chat_completions" and method != "function_calling":
        return text_reply(api, stream=stream)
    return tool_reply(api, stream=stream, name="Forecast", pieces=('{"city": "Paris", "sum',))


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("method", ["json_schema", "json_mode", "function_calling"])
def test_structured_output_on_a_cut_reply_raises(api: str, method: str) -> None:
    if api == "messages" and method == "json_mode":
        pytest.skip("json_mode on api='messages' needs a schema and is function calling")
    server = ScriptedServer([_structured_reply(api, method, stream=False)])
    structured = chat_model(server, api=api).with_structured_output(Forecast, method=method)
    with pytest.raises(OutputParserException, match="max_tokens"):
        structured.invoke("weather")


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("method", ["json_schema", "json_mode", "function_calling"])
async def test_structured_output_include_raw_sets_parsing_error(api: str, method: str) -> None:
    if api == "messages" and method == "json_mode":
        pytest.skip("json_mode on api='messages' needs a schema and is function calling")
    server = ScriptedServer([_structured_reply(api, method, stream=False)])
    structured = chat_model(server, api=api).with_structured_output(
        Forecast, method=method, include_raw=True
    )
    result = await structured.ainvoke("weather")
    assert result["parsed"] is None
    assert isinstance(result["parsing_error"], OutputParserException)
    assert "max_tokens" in str(result["parsing_error"])
    assert isinstance(result["raw"], AIMessage)


@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
def test_structured_output_stream_of_cut_json_raises_at_the_end(method: str) -> None:
    server = ScriptedServer([text_reply("chat_completions", stream=True)])
    structured = chat_model(server).with_structured_output(Forecast, method=method)
    partials: list[Any] = []

    def consume() -> None:
        partials.extend(structured.stream("weather"))

    with pytest.raises(OutputParserException, match="max_tokens"):
        consume()
    assert partials  # shown while in progress, never as the final answer


@pytest.mark.parametrize("api", APIS)
def test_structured_output_stream_of_a_cut_call_raises(api: str) -> None:
    server = ScriptedServer([_structured_reply(api, "function_calling", stream=True)])
    structured = chat_model(server, api=api).with_structured_output(Forecast)
    with pytest.raises(ValueError, match="max_tokens"):
        list(structured.stream("weather"))


@pytest.mark.parametrize("stream", [False, True])
def test_structured_output_on_a_whole_reply_still_parses(stream: bool) -> None:
    whole = ('{"city": "Paris", ', '"summary": "Sunny"}')
    server = ScriptedServer(
        [text_reply("chat_completions", stream=stream, pieces=whole, reason="stop")]
    )
    structured = chat_model(server).with_structured_output(Forecast, method="json_schema")
    if stream:
        assert list(structured.stream("weather"))[-1] == Forecast(city="Paris", summary="Sunny")
    else:
        assert structured.invoke("weather") == Forecast(city="Paris", summary="Sunny")


def test_finished_json_mode_reply_with_invalid_json_raises() -> None:
    server = ScriptedServer(
        [text_reply("chat_completions", stream=False, pieces=('{"city": "Paris",',), reason="stop")]
    )
    structured = chat_model(server).with_structured_output(Forecast, method="json_mode")
    with pytest.raises(OutputParserException):
        structured.invoke("weather")


# ------------------------------------------------------------------ agents and ids


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("streaming", [False, True])
def test_create_agent_never_runs_a_tool_on_cut_arguments(api: str, streaming: bool) -> None:
    from langchain.agents import create_agent

    ran: list[dict[str, Any]] = []

    def pay(account: str, amount: float) -> str:
        """Move money to an account."""
        ran.append({"account": account, "amount": amount})
        return "done"

    server = ScriptedServer(
        [
            tool_reply(api, stream=streaming, name="pay"),
            text_reply(api, stream=streaming, pieces=("ok",), reason=FINISHED[api]),
        ]
    )
    agent = create_agent(chat_model(server, api=api, streaming=streaming), tools=[pay])
    if streaming:
        with pytest.raises(IncompleteReplyError, match="max_tokens"):
            agent.invoke({"messages": [HumanMessage("pay ACC-1 1250.75")]})
    else:
        result = agent.invoke({"messages": [HumanMessage("pay ACC-1 1250.75")]})
        last = result["messages"][-1]
        assert isinstance(last, AIMessage)
        assert last.tool_calls == []
        assert "max_tokens" in (last.invalid_tool_calls[0]["error"] or "")
    assert ran == []


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("streaming", [False, True])
def test_repeated_server_ids_keep_every_message(api: str, streaming: bool) -> None:
    """lmdeploy answers every request with id "1": add_messages must not merge turns."""
    from langchain.agents import create_agent

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    server = ScriptedServer(
        [
            tool_reply(
                api,
                stream=streaming,
                name="add",
                pieces=('{"a": 2, "b": 4}',),
                reason=CALLED[api],
                reply_id="1",
            ),
            text_reply(api, stream=streaming, pieces=("6",), reason=FINISHED[api], reply_id="1"),
        ],
        repeat_last=False,
    )
    agent = create_agent(chat_model(server, api=api, streaming=streaming), tools=[add])
    result = agent.invoke({"messages": [HumanMessage("2 + 4?")]})
    messages = result["messages"]
    assert [m.type for m in messages] == ["human", "ai", "tool", "ai"]
    assert messages[1].tool_calls[0]["args"] == {"a": 2, "b": 4}
    assert messages[3].content == "6"
    ids = [m.id for m in messages]
    assert len(set(ids)) == 4
    assert all(i != "1" for i in ids)
    assert messages[1].response_metadata["id"] == "1"
    assert messages[3].response_metadata["id"] == "1"
    assert len(server.requests) == 2


def test_each_invoke_gets_its_own_id() -> None:
    server = ScriptedServer([text_reply("chat_completions", stream=False, reason="stop")])
    llm = chat_model(server)
    first, second = llm.invoke("a"), llm.invoke("b")
    assert first.id is not None
    assert second.id is not None
    assert first.id != second.id
    assert first.id.startswith("lc_run-")
    assert first.response_metadata["id"] == second.response_metadata["id"] == "chatcmpl-1"


@pytest.mark.parametrize("api", APIS)
def test_agent_streaming_messages_never_runs_a_tool_on_cut_arguments(api: str) -> None:
    """LangGraph's ``stream_mode="messages"`` makes invoke stream under the hood."""
    from langchain.agents import create_agent

    ran: list[Any] = []

    def pay(account: str, amount: float) -> str:
        """Move money to an account."""
        ran.append(amount)
        return "done"

    server = ScriptedServer([tool_reply(api, stream=True, name="pay")])
    agent = create_agent(chat_model(server, api=api), tools=[pay])
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        for _ in agent.stream({"messages": [HumanMessage("pay")]}, stream_mode="messages"):
            pass
    assert ran == []
    assert server.bodies[0]["stream"] is True


@pytest.mark.parametrize(
    ("api", "reason", "said"),
    [
        ("chat_completions", "content_filter", "content filter"),
        ("chat_completions", "max_tokens", "raise max_tokens"),
        ("messages", "refusal", "content filter"),
        ("messages", "model_context_window_exceeded", "context window"),
        ("messages", "pause_turn", "paused"),
        # Other servers' spellings (Gemini, Cohere, Bedrock), read without case.
        ("chat_completions", "MALFORMED_FUNCTION_CALL", "tool call it could not use"),
        ("chat_completions", "ERROR_TOXIC", "content filter"),
        ("chat_completions", "guardrail_intervened", "content filter"),
        ("chat_completions", "OTHER", "stopped the reply"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_every_reason_a_reply_stops_early_is_named(
    api: str, reason: str, said: str, stream: bool
) -> None:
    server = ScriptedServer([tool_reply(api, stream=stream, reason=reason)])
    llm = chat_model(server, api=api).bind_tools([transfer])
    if stream:
        with pytest.raises(IncompleteReplyError, match=said):
            list(llm.stream("pay"))
        return
    message = llm.invoke("pay")
    assert message.tool_calls == []
    assert said in (message.invalid_tool_calls[0]["error"] or "")


# ------------------------------------------------- streams that report more than once

REPEATED_REASONS = [
    pytest.param(("length", "length"), "length", id="repeated"),
    pytest.param(("length", "stop"), "length", id="proxy-closing-stop"),
    pytest.param(("stop", "stop"), "stop", id="repeated-stop"),
]


def _cut_stream(reasons: tuple[str, ...]) -> Any:
    chunks = [chunk("", role="assistant"), chunk("Once upon a", finish_reason=reasons[0])]
    chunks += [chunk(finish_reason=reason) for reason in reasons[1:]]
    return sse_response(*chunks, usage_chunk())


@pytest.mark.parametrize(("reasons", "standing"), REPEATED_REASONS)
@pytest.mark.parametrize("mode", ["stream", "astream", "streamed-invoke"])
async def test_a_repeated_finish_reason_is_not_joined(
    reasons: tuple[str, ...], standing: str, mode: str
) -> None:
    server = ScriptedServer([_cut_stream(reasons)])
    llm = chat_model(server, streaming=True) if mode == "streamed-invoke" else chat_model(server)
    message: Any = None
    if mode == "stream":
        for part in llm.stream("story"):
            message = part if message is None else message + part
    elif mode == "astream":
        async for part in llm.astream("story"):
            message = part if message is None else message + part
    else:
        message = await llm.ainvoke("story")
    assert message.content == "Once upon a"
    assert message.response_metadata["finish_reason"] == standing


@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
def test_structured_stream_with_a_repeated_length_still_raises(method: str) -> None:
    pieces = [chunk("", role="assistant"), chunk('{"city": "Paris", ', finish_reason="length")]
    reply = sse_response(*pieces, chunk(finish_reason="length"), usage_chunk())
    llm = chat_model(ScriptedServer([reply])).with_structured_output(Forecast, method=method)
    with pytest.raises(OutputParserException):
        list(llm.stream("weather"))


def test_a_stream_of_several_choices_shows_the_first() -> None:
    def of(index: int, content: str | None = None, reason: str | None = None) -> Any:
        body = chunk(content, finish_reason=reason)
        body["choices"][0]["index"] = index
        return body

    reply = sse_response(
        of(0, "Whole."), of(1, "Cut"), of(0, reason="stop"), of(1, reason="length")
    )
    message: Any = None
    # (With n=2 asked for, ChatModelsLab does not stream; some servers send more unasked.)
    for part in chat_model(ScriptedServer([reply])).stream("hi"):
        message = part if message is None else message + part
    assert message.content == "Whole."
    assert message.response_metadata["finish_reason"] == "stop"


@pytest.mark.parametrize("reason", ["max_tokens", "refusal", "pause_turn", "end_turn"])
@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_messages_replies_keep_the_stop_reason_as_sent(reason: str, mode: str) -> None:
    reply = text_reply("messages", stream=mode == "stream", pieces=("Once upon a",), reason=reason)
    llm = chat_model(ScriptedServer([reply]), api="messages")
    message: Any = None
    if mode == "invoke":
        message = llm.invoke("story")
    else:
        for part in llm.stream("story"):
            message = part if message is None else message + part
    assert message.response_metadata["stop_reason"] == reason
    mapped = {"max_tokens": "length", "refusal": "content_filter", "end_turn": "stop"}
    assert message.response_metadata["finish_reason"] == mapped.get(reason, reason)
