"""ModelsLabLLM on replies that did not finish, or whose tool arguments are not JSON.

A finished reply's tool calls are final: ``get_tool_calls_from_response`` raises
``IncompleteReplyError`` naming the cause and ``max_tokens`` for a call cut off, and for
arguments that are not valid JSON; mid-stream responses still show partial arguments.
``structured_predict`` (plain, streamed, async) and ``FunctionAgent`` raise the same
error instead of returning partial objects or running a tool on them. Both protocols.
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_modelslab import IncompleteReplyError
from tests.support.clients import scripted_llm
from tests.support.replies import chunk, sse_response, usage_chunk
from tests.support.truncation import (
    APIS,
    CALLED,
    FINISHED,
    WHOLE_ARGUMENTS,
    text_reply,
    tool_reply,
)

PROMPT = PromptTemplate("Make an invoice for {what}.")


class Invoice(BaseModel):
    """An invoice."""

    total: float


def transfer(account: str, amount: float) -> str:
    """Move money to an account."""
    return f"sent {amount} to {account}"


TOOL = FunctionTool.from_defaults(transfer)
CUT_INVOICE = ('{"total": 1',)


@pytest.mark.parametrize("api", APIS)
def test_chat_with_tools_then_tool_calls_raises_on_a_cut_call(api: str) -> None:
    llm, _ = scripted_llm(tool_reply(api, stream=False), api=api)
    response = llm.chat_with_tools([TOOL], user_msg="pay")
    with pytest.raises(IncompleteReplyError, match="max_tokens") as caught:
        llm.get_tool_calls_from_response(response)
    assert caught.value.setting == "max_tokens"
    assert "'transfer'" in str(caught.value)


@pytest.mark.parametrize("api", APIS)
async def test_stream_shows_partial_arguments_then_the_last_response_raises(api: str) -> None:
    llm, _ = scripted_llm(tool_reply(api, stream=True), api=api)
    responses = [r async for r in await llm.astream_chat_with_tools([TOOL], user_msg="pay")]
    in_progress = [
        llm.get_tool_calls_from_response(r, error_on_no_tool_call=False) for r in responses[:-2]
    ]
    shown = [calls[0].tool_kwargs for calls in in_progress if calls]
    assert {"account": "ACC-1"} in shown  # partial arguments, for display
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        llm.get_tool_calls_from_response(responses[-1], error_on_no_tool_call=False)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("stream", [False, True])
def test_a_finished_call_is_read_whole(api: str, stream: bool) -> None:
    llm, _ = scripted_llm(
        tool_reply(api, stream=stream, pieces=WHOLE_ARGUMENTS, reason=CALLED[api]), api=api
    )
    if stream:
        *_, response = llm.stream_chat_with_tools([TOOL], user_msg="pay")
    else:
        response = llm.chat_with_tools([TOOL], user_msg="pay")
    [call] = llm.get_tool_calls_from_response(response)
    assert call.tool_kwargs == {"account": "ACC-1", "amount": 1250.75}
    assert response.message.additional_kwargs["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("stream", [False, True])
def test_a_finished_call_with_invalid_json_raises(stream: bool) -> None:
    pieces = ('{"a": 6, ', '"b": }')
    llm, _ = scripted_llm(
        tool_reply("chat_completions", stream=stream, pieces=pieces, reason="tool_calls")
    )
    if stream:
        *_, response = llm.stream_chat_with_tools([TOOL], user_msg="pay")
    else:
        response = llm.chat_with_tools([TOOL], user_msg="pay")
    with pytest.raises(IncompleteReplyError, match="not valid JSON") as caught:
        llm.get_tool_calls_from_response(response)
    assert caught.value.incomplete is None


def test_predict_and_call_never_runs_the_tool() -> None:
    ran: list[Any] = []

    def pay(account: str, amount: float) -> str:
        """Move money to an account."""
        ran.append(amount)
        return "done"

    llm, _ = scripted_llm(tool_reply("chat_completions", stream=False, name="pay"))
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        llm.predict_and_call([FunctionTool.from_defaults(pay)], user_msg="pay")
    assert ran == []


# ------------------------------------------------------------------ structured output


@pytest.mark.parametrize("api", APIS)
def test_structured_predict_on_a_cut_tool_call_raises(api: str) -> None:
    llm, _ = scripted_llm(
        tool_reply(api, stream=False, name="Invoice", pieces=CUT_INVOICE), api=api
    )
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        llm.structured_predict(Invoice, PROMPT, what="lunch")


@pytest.mark.parametrize("api", APIS)
async def test_astructured_predict_on_a_cut_tool_call_raises(api: str) -> None:
    llm, _ = scripted_llm(
        tool_reply(api, stream=False, name="Invoice", pieces=CUT_INVOICE), api=api
    )
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        await llm.astructured_predict(Invoice, PROMPT, what="lunch")


@pytest.mark.parametrize("api", APIS)
def test_stream_structured_predict_on_a_cut_call_raises_at_the_end(api: str) -> None:
    llm, _ = scripted_llm(tool_reply(api, stream=True, name="Invoice", pieces=CUT_INVOICE), api=api)
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        list(llm.stream_structured_predict(Invoice, PROMPT, what="lunch"))


@pytest.mark.parametrize("api", APIS)
async def test_astream_structured_predict_on_a_cut_call_raises(api: str) -> None:
    llm, _ = scripted_llm(tool_reply(api, stream=True, name="Invoice", pieces=CUT_INVOICE), api=api)
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        async for _ in await llm.astream_structured_predict(Invoice, PROMPT, what="lunch"):
            pass


@pytest.mark.parametrize("stream", [False, True])
def test_structured_predict_on_a_whole_call_still_works(stream: bool) -> None:
    llm, _ = scripted_llm(
        tool_reply(
            "chat_completions",
            stream=stream,
            name="Invoice",
            pieces=('{"total": ', "1250.75}"),
            reason="tool_calls",
        )
    )
    if stream:
        *_, last = llm.stream_structured_predict(Invoice, PROMPT, what="lunch")
        assert last == Invoice(total=1250.75)
    else:
        assert llm.structured_predict(Invoice, PROMPT, what="lunch") == Invoice(total=1250.75)


CUT_JSON_TEXT = ('{"total": 12',)


@pytest.mark.parametrize("stream", [False, True])
def test_json_schema_structured_predict_on_cut_text_raises(stream: bool) -> None:
    llm, _ = scripted_llm(
        text_reply("chat_completions", stream=stream, pieces=CUT_JSON_TEXT),
        structured_output_method="json_schema",
    )

    def predict() -> Any:
        if stream:
            return list(llm.stream_structured_predict(Invoice, PROMPT, what="lunch"))
        return llm.structured_predict(Invoice, PROMPT, what="lunch")

    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        predict()


async def test_async_json_schema_structured_predict_on_cut_text_raises() -> None:
    llm, _ = scripted_llm(
        text_reply("chat_completions", stream=False, pieces=CUT_JSON_TEXT),
        text_reply("chat_completions", stream=True, pieces=CUT_JSON_TEXT),
        structured_output_method="json_schema",
    )
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        await llm.astructured_predict(Invoice, PROMPT, what="lunch")
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        async for _ in await llm.astream_structured_predict(Invoice, PROMPT, what="lunch"):
            pass


# ------------------------------------------------------------------ agents and raw ids


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("streaming", [False, True])
async def test_function_agent_never_runs_a_tool_on_cut_arguments(api: str, streaming: bool) -> None:
    written: list[Any] = []

    def write_file(path: str, content: str) -> str:
        """Write content to a file."""
        written.append(content)
        return "written"

    pieces = ('{"path": "notes.txt", ', '"content": "first half of the te')
    llm, _ = scripted_llm(
        tool_reply(api, stream=streaming, name="write_file", pieces=pieces),
        text_reply(api, stream=streaming, pieces=("done",), reason=FINISHED[api]),
        api=api,
    )
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(write_file)], llm=llm, streaming=streaming
    )
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        await agent.run(user_msg="write my notes")
    assert written == []


@pytest.mark.parametrize("api", APIS)
def test_the_servers_id_stays_in_raw(api: str) -> None:
    llm, _ = scripted_llm(
        text_reply(api, stream=False, pieces=("hi",), reason=FINISHED[api], reply_id="1"),
        api=api,
    )
    response = llm.chat([ChatMessage(role="user", content="hi")])
    assert response.raw.id == "1"
    assert response.message.additional_kwargs["finish_reason"] == "stop"


@pytest.mark.parametrize(
    ("api", "reason", "said"),
    [
        ("chat_completions", "content_filter", "content filter"),
        ("messages", "refusal", "content filter"),
        ("messages", "model_context_window_exceeded", "context window"),
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
    llm, _ = scripted_llm(tool_reply(api, stream=stream, reason=reason), api=api)
    if stream:
        *_, response = llm.stream_chat_with_tools([TOOL], user_msg="pay")
    else:
        response = llm.chat_with_tools([TOOL], user_msg="pay")
    with pytest.raises(IncompleteReplyError, match=said):
        llm.get_tool_calls_from_response(response)


@pytest.mark.parametrize(
    ("reasons", "standing"),
    [(("length", "length"), "length"), (("length", "stop"), "length"), (("stop", "stop"), "stop")],
)
async def test_a_repeated_finish_reason_stands_once(
    reasons: tuple[str, ...], standing: str
) -> None:
    chunks = [chunk("", role="assistant"), chunk("Once upon a", finish_reason=reasons[0])]
    chunks += [chunk(finish_reason=reason) for reason in reasons[1:]]
    llm, _ = scripted_llm(sse_response(*chunks, usage_chunk()), sse_response(*chunks))
    messages = [ChatMessage(role="user", content="story")]
    *_, last = llm.stream_chat(messages)
    assert last.message.additional_kwargs["finish_reason"] == standing
    streamed = [response async for response in await llm.astream_chat(messages)]
    assert streamed[-1].message.additional_kwargs["finish_reason"] == standing


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", ["complete", "stream_complete", "acomplete", "astream_complete"])
async def test_complete_says_the_text_was_cut(api: str, mode: str) -> None:
    stream = "stream" in mode
    llm, _ = scripted_llm(text_reply(api, stream=stream, pieces=("Once upon a",)), api=api)
    if mode == "complete":
        response = llm.complete("story")
    elif mode == "acomplete":
        response = await llm.acomplete("story")
    elif mode == "stream_complete":
        *_, response = llm.stream_complete("story")
    else:
        response = [part async for part in await llm.astream_complete("story")][-1]
    assert response.text == "Once upon a"
    assert response.additional_kwargs["finish_reason"] == "length"


@pytest.mark.parametrize("api", APIS)
def test_complete_of_a_finished_reply_says_so(api: str) -> None:
    llm, _ = scripted_llm(text_reply(api, stream=False, reason=FINISHED[api]), api=api)
    assert llm.complete("story").additional_kwargs["finish_reason"] == "stop"
