"""End to end: LlamaIndex agents driven by ModelsLabLLM, replayed from cassettes.

The FunctionAgent forces a tool call on its first step (``initial_tool_choice``), runs
the Python tool, sends the result back and finishes with the model's answer. The
ReActAgent gets the same tool; the 135M recording model answers without it (ReAct's
"implicit answer"), which still exercises the agent's prompt, parsing and streaming.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent, ToolCallResult
from llama_index.core.tools import FunctionTool

from llama_index_modelslab import ModelsLabLLM

pytestmark = pytest.mark.vcr

AGENT_TIMEOUT = 600.0
"""Seconds a run may take (recording on a busy CPU is slow; replay takes well under one)."""


def multiply(a: int, b: int) -> int:
    """Multiply two integers and return the product."""
    return a * b


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
async def test_function_agent_calls_a_tool_and_finishes(
    tools_llm: ModelsLabLLM, streaming: bool, vcr: Any
) -> None:
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(multiply)],
        llm=tools_llm,
        streaming=streaming,
        initial_tool_choice="required",
        allow_parallel_tool_calls=False,
        timeout=AGENT_TIMEOUT,
    )
    handler = agent.run(user_msg="What is 6 times 7?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    output = await handler

    assert len(results) == 1
    assert results[0].tool_name == "multiply"
    kwargs = results[0].tool_kwargs
    assert set(kwargs) == {"a", "b"}
    assert results[0].tool_output.content == str(multiply(**kwargs))
    assert str(output.response.content).strip()

    first, second = (json.loads(r.body) for r in vcr.requests)
    assert first["tool_choice"] == "required"
    assert first.get("stream", False) is streaming
    assert first["parallel_tool_calls"] is False
    assert second["tool_choice"] == "auto"
    call_id = second["messages"][-2]["tool_calls"][0]["id"]
    assert second["messages"][-1] == {
        "role": "tool",
        "content": results[0].tool_output.content,
        "tool_call_id": call_id,
    }


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streaming"])
async def test_react_agent_run(llm: ModelsLabLLM, streaming: bool, vcr: Any) -> None:
    agent = ReActAgent(
        tools=[FunctionTool.from_defaults(multiply)],
        llm=llm,
        streaming=streaming,
        timeout=AGENT_TIMEOUT,
    )
    output = await agent.run(user_msg="What is 6 times 7?")
    assert str(output.response.content).strip()
    system = json.loads(vcr.requests[0].body)["messages"][0]
    assert system["role"] == "system"
    assert "multiply" in system["content"]
    assert "Thought:" in system["content"]
