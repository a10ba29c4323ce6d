"""A reply streamed (``text/event-stream``) though the request asked for no stream.

Some servers and proxies stream whatever ``stream`` says. The events are read by the
protocol's stream decoder and added up: the whole reply with its finish reason, a typed
error for an error event, ``IncompleteStreamError`` for a stream cut short. Both
frameworks, both protocols, sync and async.
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage

from modelslab_transport.errors import IncompleteStreamError, ServerError
from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer
from tests.support.replies import stream_response
from tests.support.truncation import APIS, text_reply

PIECES = ("Once upon", " a time")
MESSAGES_ERROR = (
    b'{"type": "error", "error": {"type": "overloaded_error", "message": "overloaded"}}'
)


def _streamed(api: str, *, cut: bool = False, error: bool = False) -> Any:
    reply = text_reply(api, stream=True, pieces=PIECES)
    body = reply.read()
    if api == "chat_completions":
        if error:
            body = (
                body.split(b"\n\n")[1]
                + b"\n\n"
                + b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
            )
        elif cut:
            body = b"\n\n".join(body.split(b"\n\n")[:3]) + b"\n\n"
    elif error:
        body = body.split(b"event: content_block_stop")[0]
        body += b"event: error\ndata: " + MESSAGES_ERROR + b"\n\n"
    elif cut:
        body = body.split(b"event: content_block_stop")[0]
    return stream_response(body)


async def _langchain(api: str, reply: Any, mode: str) -> Any:
    llm = chat_model(ScriptedServer([reply]), api=api)
    return llm.invoke("story") if mode == "sync" else await llm.ainvoke("story")


async def _llama_index(api: str, reply: Any, mode: str) -> Any:
    llm, _ = scripted_llm(reply, api=api, max_retries=0)
    messages = [ChatMessage(role="user", content="story")]
    return llm.chat(messages) if mode == "sync" else await llm.achat(messages)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_whole_stream_is_read_as_the_reply(api: str, mode: str) -> None:
    message = await _langchain(api, _streamed(api), mode)
    assert message.content == "Once upon a time"
    assert message.response_metadata["finish_reason"] == "length"
    response = await _llama_index(api, _streamed(api), mode)
    assert response.message.content == "Once upon a time"
    assert response.message.additional_kwargs["finish_reason"] == "length"


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
async def test_a_stream_cut_short_raises(api: str, mode: str, framework: str) -> None:
    call = _langchain if framework == "langchain" else _llama_index
    with pytest.raises(IncompleteStreamError):
        await call(api, _streamed(api, cut=True), mode)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
async def test_an_error_event_raises_its_error(api: str, framework: str) -> None:
    call = _langchain if framework == "langchain" else _llama_index
    with pytest.raises(ServerError, match="overloaded"):
        await call(api, _streamed(api, error=True), "sync")


@pytest.mark.parametrize("api", APIS)
def test_a_json_body_labelled_as_a_stream_is_read_as_json(api: str) -> None:
    plain = text_reply(api, stream=False, pieces=PIECES)
    reply = stream_response(plain.read(), headers={"content-type": "text/event-stream"})
    message = chat_model(ScriptedServer([reply]), api=api).invoke("story")
    assert message.content == "Once upon a time"
    assert message.response_metadata["finish_reason"] == "length"
