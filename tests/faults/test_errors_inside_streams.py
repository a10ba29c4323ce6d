"""Errors a server states inside a chat stream, in any shape, end the stream with that error.

A chunk without ``choices`` that says it is an error (vLLM's ``"object": "error"``, a
bare ``{"message": ...}`` or ``{"detail": ...}``, Cloudflare's ``"success": false``) is
not dropped: the text so far is never passed off as the whole reply, even when the
server closes the stream with ``[DONE]`` after it. Both frameworks, sync and async.
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage

from modelslab_transport.errors import APIStatusError, BadRequestError, ServerError
from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer
from tests.support.replies import chunk, sse_response

STATED = [
    pytest.param(
        {"object": "error", "message": "prompt too long", "type": "BadRequestError", "code": 400},
        BadRequestError,
        "prompt too long",
        id="vllm",
    ),
    pytest.param(
        {"message": "Internal server error"}, ServerError, "Internal server error", id="message"
    ),
    pytest.param({"detail": "upstream timeout"}, APIStatusError, "upstream timeout", id="detail"),
]
MODES = ["stream", "astream", "streamed-invoke"]


def _reply(stated: dict[str, Any]) -> Any:
    return sse_response(chunk("", role="assistant"), chunk("Once upon"), stated)


async def _langchain(llm: Any, mode: str) -> None:
    if mode == "stream":
        list(llm.stream("story"))
    elif mode == "astream":
        [part async for part in llm.astream("story")]
    else:
        await llm.ainvoke("story")


async def _llama_index(llm: Any, mode: str, messages: list[ChatMessage]) -> None:
    if mode == "stream_chat":
        list(llm.stream_chat(messages))
    else:
        [part async for part in await llm.astream_chat(messages)]


@pytest.mark.parametrize(("stated", "cls", "message"), STATED)
@pytest.mark.parametrize("mode", MODES)
async def test_langchain_stream_ends_with_the_stated_error(
    stated: dict[str, Any], cls: type[APIStatusError], message: str, mode: str
) -> None:
    server = ScriptedServer([_reply(stated)])
    llm = chat_model(server, streaming=True) if mode == "streamed-invoke" else chat_model(server)
    with pytest.raises(cls) as caught:
        await _langchain(llm, mode)
    assert caught.value.message == message


@pytest.mark.parametrize(("stated", "cls", "message"), STATED)
@pytest.mark.parametrize("mode", ["stream_chat", "astream_chat"])
async def test_llama_index_stream_ends_with_the_stated_error(
    stated: dict[str, Any], cls: type[APIStatusError], message: str, mode: str
) -> None:
    llm, _ = scripted_llm(_reply(stated))
    messages = [ChatMessage(role="user", content="story")]
    with pytest.raises(cls) as caught:
        await _llama_index(llm, mode, messages)
    assert caught.value.message == message
