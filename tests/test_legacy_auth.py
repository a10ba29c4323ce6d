"""``legacy_auth=True`` on either framework class puts ``key`` and ``model_id`` in the body."""

from __future__ import annotations

import json

import httpx2
from langchain_core.load import dumps
from llama_index.core.llms import ChatMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM

KEY = "sk-legacy-auth-test-0123456789"
REPLY = {
    "id": "chat-1",
    "object": "chat.completion",
    "model": "m",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}


def _transport(seen: list[httpx2.Request]) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=REPLY)

    return httpx2.MockTransport(handler)


def test_langchain_legacy_auth_sends_key_and_model_id_in_the_body() -> None:
    seen: list[httpx2.Request] = []
    llm = ChatModelsLab(
        model="google-gemma-3-1b-it",
        api_key=KEY,
        base_url="https://modelslab.com/api/v7/llm",
        legacy_auth=True,
        http_client=httpx2.Client(transport=_transport(seen)),
    )
    assert llm.invoke("hello").text == "hi"
    body = json.loads(seen[0].content)
    assert body["key"] == KEY
    assert body["model_id"] == body["model"] == "google-gemma-3-1b-it"
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(llm)
    assert KEY not in dumps(llm)


def test_llama_index_legacy_auth_sends_key_and_model_id_in_the_body() -> None:
    seen: list[httpx2.Request] = []
    llm = ModelsLabLLM(
        model="google-gemma-3-1b-it",
        api_key=KEY,
        base_url="https://modelslab.com/api/v7/llm",
        legacy_auth=True,
        http_client=httpx2.Client(transport=_transport(seen)),
    )
    reply = llm.chat([ChatMessage(role="user", content="hello")])
    assert reply.message.content == "hi"
    body = json.loads(seen[0].content)
    assert body["key"] == KEY
    assert body["model_id"] == "google-gemma-3-1b-it"
    assert KEY not in llm.to_json()
    assert KEY not in repr(llm)


def test_legacy_auth_is_off_by_default() -> None:
    seen: list[httpx2.Request] = []
    ChatModelsLab(
        api_key=KEY,
        base_url="https://modelslab.com/api/v7/llm",
        http_client=httpx2.Client(transport=_transport(seen)),
    ).invoke("hello")
    body = json.loads(seen[0].content)
    assert "key" not in body
    assert "model_id" not in body
