"""One rule for how deeply what is sent may nest, the same on both protocols.

A history whose tool-call arguments nest more than ``MAX_SEND_DEPTH`` levels is refused
before sending, on ``api="chat_completions"`` and ``api="messages"`` alike, with the same
typed error naming the part and the limit; one at the limit is sent on both. Both
classes, sync and async (plain and streamed calls), against a loopback server; the
tool schemas, extra body fields and token counts follow the same rule (transport level).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock

from langchain_modelslab import ChatModelsLab
from modelslab_transport import LocalRequestError, ModelsLab, ModelsLabOptions
from modelslab_transport.limits.send_limits import MAX_SEND_DEPTH, nesting_depth
from modelslab_transport.wire.chat import ChatMessage as WireMessage
from modelslab_transport.wire.chat import FunctionCall, FunctionDefinition, Tool, ToolCall
from tests.faults.drivers import ALL_DRIVERS, FAKE_KEY, Driver, make_model
from tests.support.queue_server import QueueLimitedServer, answer_for

APIS = ("chat_completions", "messages")
TOO_DEEP_TO_PARSE = "[" * 5000 + "]" * 5000
"""JSON text nested deeper than Python's parser goes (it raises RecursionError)."""


def nested(levels: int) -> dict[str, Any]:
    """A JSON object nesting ``levels`` levels of objects (``{}`` is one)."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def _history(framework: str, arguments: dict[str, Any]) -> Any:
    """User, assistant calling tool ``f`` with ``arguments``, the tool's result, user."""
    if framework == "langchain":
        return [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[{"name": "f", "args": arguments, "id": "call_1"}]),
            ToolMessage("done", tool_call_id="call_1"),
            HumanMessage("go"),
        ]
    return [
        ChatMessage(role=MessageRole.USER, content="hi"),
        ChatMessage(
            role=MessageRole.ASSISTANT,
            blocks=[ToolCallBlock(tool_call_id="call_1", tool_name="f", tool_kwargs=arguments)],
        ),
        ChatMessage(
            role=MessageRole.TOOL, content="done", additional_kwargs={"tool_call_id": "call_1"}
        ),
        ChatMessage(role=MessageRole.USER, content="go"),
    ]


def _send(driver: Driver, model: Any, history: Any) -> tuple[str, BaseException | None]:
    """The text ``driver``'s call of ``model`` returned for ``history``, or its error."""

    def sync() -> str:
        if isinstance(model, ChatModelsLab):
            if driver.streaming:
                return "".join(str(piece.content) for piece in model.stream(history))
            return str(model.invoke(history).content)
        if driver.streaming:
            return "".join(reply.delta or "" for reply in model.stream_chat(history))
        return str(model.chat(history).message.content)

    async def run() -> str:
        try:
            if isinstance(model, ChatModelsLab):
                if driver.streaming:
                    return "".join([str(piece.content) async for piece in model.astream(history)])
                return str((await model.ainvoke(history)).content)
            if driver.streaming:
                replies = await model.astream_chat(history)
                return "".join([reply.delta or "" async for reply in replies])
            return str((await model.achat(history)).message.content)
        finally:
            await model.aclose()

    try:
        if driver.is_async:
            return asyncio.run(run()), None
        try:
            return sync(), None
        finally:
            model.close()
    except Exception as exc:
        return "", exc


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
def test_tool_arguments_nested_too_deep_are_refused_alike_on_both_protocols(
    driver: Driver,
) -> None:
    errors = []
    with QueueLimitedServer(limit=100, latency=0) as server:
        for api in APIS:
            model = make_model(driver.framework, server.base_url, api=api)
            text, error = _send(driver, model, _history(driver.framework, nested(150)))
            assert error is not None, f"{driver.name} on {api} sent it: {text!r}"
            errors.append(error)
        assert not server.requests, "nothing is sent"
    for error in errors:
        assert isinstance(error, LocalRequestError), repr(error)
        assert "tool call 'f' (id 'call_1') in message 1" in str(error)
        assert f"more than {MAX_SEND_DEPTH} levels" in str(error)
    assert type(errors[0]) is type(errors[1])
    assert str(errors[0]) == str(errors[1])


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
def test_tool_arguments_at_the_limit_are_sent_on_both_protocols(driver: Driver) -> None:
    with QueueLimitedServer(limit=100, latency=0) as server:
        for api in APIS:
            model = make_model(driver.framework, server.base_url, api=api)
            text, error = _send(driver, model, _history(driver.framework, nested(MAX_SEND_DEPTH)))
            assert error is None, f"{driver.name} on {api}: {error!r}"
            assert text == answer_for("go")
        chat, messages = (json.loads(request.body) for request in server.requests)
    sent = chat["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert nesting_depth(json.loads(sent)) == MAX_SEND_DEPTH
    (tool_use,) = [
        block for block in messages["messages"][1]["content"] if block["type"] == "tool_use"
    ]
    assert nesting_depth(tool_use["input"]) == MAX_SEND_DEPTH
    assert tool_use["input"] == json.loads(sent)


# ---------------------------------------------------------- transport level


def _core(api: str, answered: list[bytes]) -> ModelsLab:
    def reply(request: httpx2.Request) -> httpx2.Response:
        answered.append(request.content)
        return httpx2.Response(500)

    transport = httpx2.MockTransport(reply)
    return ModelsLab(
        ModelsLabOptions(model="m", api_key=FAKE_KEY, api=api, max_retries=0),
        http_client=httpx2.Client(transport=transport),
        async_http_client=httpx2.AsyncClient(transport=transport),
    )


def _deep_tool_request(core: ModelsLab, part: str) -> Any:
    turns = [WireMessage(role="user", content="hi")]
    params: dict[str, Any] = {}
    if part == "tool":
        params["tools"] = [Tool(function=FunctionDefinition(name="g", parameters=nested(150)))]
    elif part == "extra_body":
        params["extra_body"] = {"metadata": nested(150)}
    else:
        turns.append(
            WireMessage(
                role="assistant",
                tool_calls=[
                    ToolCall(
                        id="c", function=FunctionCall(name="f", arguments="[" * 5000 + "]" * 5000)
                    )
                ],
            )
        )
        turns.append(WireMessage(role="tool", tool_call_id="c", content="r"))
    return core.build_request(turns, stream=False, params=params)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("part", "named"),
    [
        ("tool", "the parameters schema of tool 'g'"),
        ("extra_body", "the request field 'metadata'"),
        ("arguments", "tool call 'f' (id 'c') in message 1"),
    ],
)
def test_every_part_follows_the_rule_on_both_protocols(
    part: str, named: str, use_async: bool
) -> None:
    messages = []
    for api in APIS:
        answered: list[bytes] = []
        core = _core(api, answered)
        request = _deep_tool_request(core, part)

        def send(core: ModelsLab = core, request: Any = request) -> Any:
            return asyncio.run(core.achat(request)) if use_async else core.chat(request)

        with pytest.raises(LocalRequestError) as caught:
            send()
        assert named in str(caught.value)
        assert not answered
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_token_counts_follow_the_rule() -> None:
    core = _core("messages", [])
    turns = [
        WireMessage(role="user", content="hi"),
        WireMessage(
            role="assistant",
            tool_calls=[
                ToolCall(id="c", function=FunctionCall(name="f", arguments=json.dumps(nested(150))))
            ],
        ),
        WireMessage(role="tool", tool_call_id="c", content="r"),
    ]
    with pytest.raises(LocalRequestError, match=f"more than {MAX_SEND_DEPTH} levels"):
        core.count_tokens(turns)
