"""A LangChain ``create_agent`` tool loop against providers that enforce reasoning rules.

Each provider (DeepSeek thinking mode, Anthropic-style signed thinking on
``api="messages"``, Gemini thought signatures on tool calls) answers the first
request with a tool call and refuses the second with HTTP 400 unless the reasoning
comes back where it wants it (tests/support/reasoning_provider.py). The loop completing, with
no refusal, is the proof; the request bodies are checked as well.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage

from langchain_modelslab import ChatModelsLab
from tests.support.reasoning_provider import (
    ANSWER,
    REDACTED_DATA,
    THINKING_SIGNATURE,
    THOUGHT_SIGNATURE,
    serve,
)

CASES = [
    ("deepseek", "chat_completions"),
    ("gemini", "chat_completions"),
    ("anthropic", "messages"),
]


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def _model(base_url: str, api: str, streaming: bool) -> ChatModelsLab:
    return ChatModelsLab(
        model="reasoner",
        base_url=base_url,
        api_key="sk-test",
        api=api,
        streaming=streaming,
        max_retries=0,
    )


def _check_second_request(kind: str, body: dict[str, Any]) -> None:
    messages = body["messages"]
    if kind == "deepseek":
        assistant = next(m for m in messages if m["role"] == "assistant")
        assert assistant["reasoning_content"].startswith("Reasoning for step 1")
    elif kind == "gemini":
        call = next(m for m in messages if m["role"] == "assistant")["tool_calls"][0]
        assert call["extra_content"] == {"google": {"thought_signature": THOUGHT_SIGNATURE}}
    else:
        assistant = next(m for m in messages if m["role"] == "assistant")
        assert [b["type"] for b in assistant["content"]] == [
            "thinking",
            "redacted_thinking",
            "tool_use",
        ]
        assert assistant["content"][0]["signature"] == THINKING_SIGNATURE
        assert assistant["content"][1]["data"] == REDACTED_DATA


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize(("kind", "api"), CASES, ids=[kind for kind, _ in CASES])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_create_agent_tool_loop_completes(
    kind: str, api: str, streaming: bool, use_async: bool
) -> None:
    provider, server = serve(kind)
    with server:
        agent = create_agent(_model(server.base_url, api, streaming), tools=[multiply])
        question = {"messages": [HumanMessage("What is 6 times 7?")]}
        result = await agent.ainvoke(question) if use_async else agent.invoke(question)
    assert provider.refusals == []
    final = result["messages"][-1]
    assert isinstance(final, AIMessage)
    assert final.text == ANSWER
    tool_turn = result["messages"][1]
    assert isinstance(tool_turn, AIMessage)
    assert tool_turn.tool_calls[0]["args"] == {"a": 6, "b": 7}
    if kind == "gemini":
        fields = tool_turn.additional_kwargs["tool_call_provider_fields"]
        assert fields == {
            "call_7": {"extra_content": {"google": {"thought_signature": THOUGHT_SIGNATURE}}}
        }
    else:
        reasoning = tool_turn.additional_kwargs["reasoning_content"]
        assert reasoning.startswith("Reasoning for step 1")
        assert tool_turn.content_blocks[0]["type"] == "reasoning"
        assert tool_turn.content_blocks[0]["reasoning"] == reasoning
    assert len(provider.bodies) == 2
    _check_second_request(kind, provider.bodies[1])


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
def test_deepseek_drops_reasoning_of_earlier_user_turns(streaming: bool) -> None:
    """A second question in the same thread: the first loop's reasoning must not go back."""
    provider, server = serve("deepseek")
    with server:
        agent = create_agent(_model(server.base_url, "chat_completions", streaming), [multiply])
        first = agent.invoke({"messages": [HumanMessage("What is 6 times 7?")]})
        history = [*first["messages"], HumanMessage("And 7 times 6?")]
        second = agent.invoke({"messages": history})
    assert provider.refusals == []
    assert second["messages"][-1].text == ANSWER
    third_body = provider.bodies[2]
    assert all("reasoning_content" not in m for m in third_body["messages"][:-1])


def test_a_provider_refusal_is_what_the_rule_prevents() -> None:
    """Without the reasoning, the emulated DeepSeek refuses (the rule is enforced)."""
    provider, server = serve("deepseek")
    with server:
        model = _model(server.base_url, "chat_completions", False)
        first = model.bind_tools([multiply]).invoke("What is 6 times 7?")
        stripped = AIMessage(content="", tool_calls=first.tool_calls)
        from langchain_core.messages import ToolMessage

        with pytest.raises(Exception, match="Missing reasoning_content"):
            model.invoke(
                [
                    HumanMessage("What is 6 times 7?"),
                    stripped,
                    ToolMessage("42", tool_call_id=first.tool_calls[0]["id"]),
                ]
            )
    assert provider.refusals


@pytest.mark.parametrize(
    ("kind", "assistant"),
    [
        ("deepseek", {"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}),
        ("gemini", {"role": "assistant", "tool_calls": [{"id": "c", "function": {}}]}),
        (
            "anthropic",
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "c", "name": "f", "input": {}}],
            },
        ),
    ],
)
def test_each_emulated_rule_refuses_a_turn_without_its_reasoning(
    kind: str, assistant: dict[str, Any]
) -> None:
    provider, _ = serve(kind)
    body = {"messages": [{"role": "user", "content": "q"}, assistant]}
    assert provider.problem(body) is not None
