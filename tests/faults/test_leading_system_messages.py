"""Several system messages at the start of a history, on ``api="chat_completions"``.

Chat templates that want the system message first (Qwen3, Gemma) refuse any system
message after index 0 with 400 "System message must be at the beginning", as they refuse
a late one. Two leading ones (a LangChain prompt template with two system parts,
LlamaIndex's memory adding its own) join into one system message, as late ones do, as
``api="messages"`` sends one system prompt.
"""

from __future__ import annotations

import json

from langchain_core.messages import HumanMessage, SystemMessage
from llama_index.core.llms import ChatMessage

from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer
from tests.support.truncation import text_reply


def _ok() -> object:
    return text_reply("chat_completions", stream=False, pieces=("ok",), reason="stop")


def test_langchain_sends_one_system_message_first() -> None:
    server = ScriptedServer([_ok()])
    chat_model(server).invoke([SystemMessage("a"), SystemMessage("b"), HumanMessage("hi")])
    roles = [message["role"] for message in server.last_body["messages"]]
    assert roles == ["system", "user"]


def test_llama_index_sends_one_system_message_first() -> None:
    llm, server = scripted_llm(_ok())
    llm.chat(
        [
            ChatMessage(role="system", content="a"),
            ChatMessage(role="system", content="b"),
            ChatMessage(role="user", content="hi"),
        ]
    )
    roles = [message["role"] for message in json.loads(server.requests[-1].content)["messages"]]
    assert roles == ["system", "user"]
