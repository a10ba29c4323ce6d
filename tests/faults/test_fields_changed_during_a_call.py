"""A field changed on a framework instance while one of its calls is in flight.

Each call resolves its configuration once, when it starts: the request it sends and the
way its reply is read both follow the fields as they stood then. A later change (another
task's ``llm.split_think_tags = False``, say) applies to calls started after it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
from langchain_core.messages import HumanMessage
from llama_index.core.llms import ChatMessage

from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer
from tests.support.replies import completion_body, json_response, text_stream

INLINE_REASONING = "<think>weighing it</think>Paris."


class HeldReply:
    """An async reply held back until the test releases it (the call is then in flight)."""

    def __init__(self, reply: httpx2.Response) -> None:
        self.reply = reply
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.arrived.set()
        await self.release.wait()
        return self.reply


async def _changed_in_flight(owner: Any, call: Any, held: HeldReply) -> Any:
    task = asyncio.ensure_future(call)
    await held.arrived.wait()
    owner.split_think_tags = False
    held.release.set()
    return await task


async def test_langchain_reply_read_with_the_fields_its_call_started_with() -> None:
    held = HeldReply(json_response(completion_body(INLINE_REASONING)))
    model = chat_model(ScriptedServer([held]), split_think_tags=True)

    reply = await _changed_in_flight(model, model.ainvoke([HumanMessage("capital?")]), held)

    assert reply.content == "Paris."
    assert reply.additional_kwargs["reasoning_content"] == "weighing it"


async def test_langchain_streamed_reply_read_with_the_fields_its_call_started_with() -> None:
    held = HeldReply(text_stream("<think>weighing it</think>", "Paris."))
    model = chat_model(ScriptedServer([held]), split_think_tags=True, streaming=True)

    reply = await _changed_in_flight(model, model.ainvoke([HumanMessage("capital?")]), held)

    assert reply.content == "Paris."
    assert reply.additional_kwargs["reasoning_content"] == "weighing it"


async def test_llama_index_reply_read_with_the_fields_its_call_started_with() -> None:
    held = HeldReply(json_response(completion_body(INLINE_REASONING)))
    llm, _ = scripted_llm(held, split_think_tags=True)

    reply = await _changed_in_flight(
        llm, llm.achat([ChatMessage(role="user", content="capital?")]), held
    )

    assert reply.message.content == "Paris."


async def test_llama_index_stream_read_with_the_fields_of_the_call_that_made_it() -> None:
    llm, _ = scripted_llm(
        text_stream("<think>weighing it</think>", "Paris."), split_think_tags=True
    )

    responses = await llm.astream_chat([ChatMessage(role="user", content="capital?")])
    llm.split_think_tags = False  # after the call, before its stream is read
    read = [response async for response in responses]

    assert read[-1].message.content == "Paris."
