"""A tool result whose tool call is not in the history (the turn that made the call was
trimmed away, by ``trim_messages`` or a memory's token limit).

Both protocols' servers refuse such a history (OpenAI: "messages with role 'tool' must be
a response to a preceding message with 'tool_calls'"; Anthropic: "unexpected tool_use_id
found in tool_result blocks"). The encoders refuse it before sending with a
``ToolPairingError`` (a ``ValueError``) that names the id, on both protocols, through both
frameworks. Its mirror, an assistant turn whose calls have no results ("An assistant
message with 'tool_calls' must be followed by tool messages responding to each
'tool_call_id'"; "tool_use ids were found without tool_result blocks immediately
after"), is refused the same way, naming the calls' ids.
"""

from __future__ import annotations

import httpx2
import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from llama_index.core.base.llms.types import ToolCallBlock
from llama_index.core.llms import ChatMessage

from modelslab_transport.protocols.history import ToolPairingError
from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer
from tests.support.truncation import APIS, FINISHED, text_reply


def _ok(api: str) -> httpx2.Response:
    return text_reply(api, stream=False, pieces=("ok",), reason=FINISHED[api])


@pytest.mark.parametrize("api", APIS)
def test_langchain_refuses_a_tool_result_without_its_call(api: str) -> None:
    server = ScriptedServer([_ok(api)])
    history = [
        HumanMessage("what is the weather?"),
        ToolMessage("sunny", tool_call_id="call_9"),
        AIMessage("It is sunny."),
        HumanMessage("and tomorrow?"),
    ]
    with pytest.raises(ValueError, match="call_9"):
        chat_model(server, api=api).invoke(history)
    assert server.requests == []


@pytest.mark.parametrize("api", APIS)
def test_llama_index_refuses_a_tool_result_without_its_call(api: str) -> None:
    llm, server = scripted_llm(_ok(api), api=api)
    history = [
        ChatMessage(role="user", content="what is the weather?"),
        ChatMessage(role="tool", content="sunny", additional_kwargs={"tool_call_id": "call_9"}),
        ChatMessage(role="assistant", content="It is sunny."),
        ChatMessage(role="user", content="and tomorrow?"),
    ]
    with pytest.raises(ValueError, match="call_9"):
        llm.chat(history)
    assert server.requests == []


@pytest.mark.parametrize("api", APIS)
def test_langchain_refuses_tool_calls_without_their_results(api: str) -> None:
    server = ScriptedServer([_ok(api)])
    calls = [
        {"name": "get_weather", "args": {"city": c}, "id": i, "type": "tool_call"}
        for i, c in (("call_1", "Paris"), ("call_2", "Rome"))
    ]
    history = [
        HumanMessage("weather in Paris and Rome?"),
        AIMessage("", tool_calls=calls),
        ToolMessage("sunny", tool_call_id="call_2"),
        HumanMessage("never mind Paris"),
    ]
    with pytest.raises(ToolPairingError, match="'call_1'") as caught:
        chat_model(server, api=api).invoke(history)
    assert caught.value.ids == ("call_1",)
    assert server.requests == []


@pytest.mark.parametrize("api", APIS)
def test_llama_index_refuses_tool_calls_without_their_results(api: str) -> None:
    llm, server = scripted_llm(_ok(api), api=api)
    history = [
        ChatMessage(role="user", content="weather in Paris?"),
        ChatMessage(
            role="assistant",
            blocks=[ToolCallBlock(tool_call_id="call_1", tool_name="get_weather", tool_kwargs={})],
        ),
        ChatMessage(role="user", content="never mind"),
    ]
    with pytest.raises(ToolPairingError, match="'call_1'") as caught:
        llm.chat(history)
    assert caught.value.ids == ("call_1",)
    assert server.requests == []
