"""Tool calls a server sends without an id, over several turns.

Some servers send tool calls without ``id`` (older Ollama and llama.cpp builds), and some
repeat their completion ids (lmdeploy sends ``"1"`` every time). Each call still needs an
id of its own across the whole conversation: the Messages protocol refuses a history whose
``tool_use`` ids repeat, and a tool result must answer one call only.

ChatModelsLab names such a call ``call_<index>`` (``call_0`` on every turn), and
ModelsLabLLM hashes the completion id with the index and name, which repeats when the
server repeats its completion id. Both give two turns' calls one id.
"""

from __future__ import annotations

from langchain_core.messages import HumanMessage, ToolMessage
from llama_index.core.llms import ChatMessage

from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer
from tests.support.replies import completion_body, json_response, tool_call


def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


def _id_less_call(city: str, completion_id: str) -> object:
    call = tool_call("get_weather", f'{{"city": "{city}"}}', call_id=None)
    return json_response(
        completion_body(None, tool_calls=[call], finish_reason="tool_calls", id=completion_id)
    )


def test_langchain_gives_each_turns_id_less_call_its_own_id() -> None:
    server = ScriptedServer([_id_less_call("Paris", "c-1"), _id_less_call("Rome", "c-2")])
    model = chat_model(server).bind_tools([get_weather])
    history: list[object] = [HumanMessage("weather in Paris, then Rome?")]
    first = model.invoke(history)
    history += [first, ToolMessage("sunny", tool_call_id=first.tool_calls[0]["id"])]
    second = model.invoke(history)
    assert first.tool_calls[0]["id"] != second.tool_calls[0]["id"]


def test_llama_index_gives_each_turns_id_less_call_its_own_id() -> None:
    llm, _ = scripted_llm(_id_less_call("Paris", "1"), _id_less_call("Rome", "1"))
    history = [ChatMessage(role="user", content="weather in Paris, then Rome?")]
    first = llm.chat(history)
    [first_call] = llm.get_tool_calls_from_response(first)
    history += [
        first.message,
        ChatMessage(
            role="tool", content="sunny", additional_kwargs={"tool_call_id": first_call.tool_id}
        ),
    ]
    [second_call] = llm.get_tool_calls_from_response(llm.chat(history))
    assert first_call.tool_id != second_call.tool_id
