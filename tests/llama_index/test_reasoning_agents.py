"""A LlamaIndex ``FunctionAgent`` tool loop against providers that enforce reasoning rules.

The same emulated providers as the LangChain test (tests/support/reasoning_provider.py): the
loop completes only if DeepSeek's ``reasoning_content``, Anthropic-style signed and
redacted thinking blocks, and Gemini's tool-call thought signature come back where
each provider wants them.
"""

from __future__ import annotations

import pytest
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ThinkingBlock
from llama_index.core.tools import FunctionTool
from llama_index.core.workflow import Context

from llama_index_modelslab import ModelsLabLLM
from tests.support.reasoning_provider import ANSWER, REDACTED_DATA, THINKING_SIGNATURE, serve

CASES = [
    ("deepseek", "chat_completions"),
    ("gemini", "chat_completions"),
    ("anthropic", "messages"),
]


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def _agent(base_url: str, api: str, streaming: bool) -> FunctionAgent:
    llm = ModelsLabLLM(
        model="reasoner", base_url=base_url, api_key="sk-test", api=api, max_retries=0
    )
    return FunctionAgent(
        tools=[FunctionTool.from_defaults(multiply)], llm=llm, streaming=streaming, timeout=60
    )


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
@pytest.mark.parametrize(("kind", "api"), CASES, ids=[kind for kind, _ in CASES])
async def test_function_agent_tool_loop_completes(kind: str, api: str, streaming: bool) -> None:
    provider, server = serve(kind)
    with server:
        agent = _agent(server.base_url, api, streaming)
        output = await agent.run(user_msg="What is 6 times 7?")
    assert provider.refusals == []
    assert str(output.response.content).strip() == ANSWER
    assert len(provider.bodies) == 2
    assert output.tool_calls[0].tool_kwargs == {"a": 6, "b": 7}


@pytest.mark.parametrize("streaming", [False, True], ids=["plain", "streamed"])
async def test_deepseek_second_question_in_one_context(streaming: bool) -> None:
    provider, server = serve("deepseek")
    with server:
        agent = _agent(server.base_url, "chat_completions", streaming)
        ctx = Context(agent)
        await agent.run(user_msg="What is 6 times 7?", ctx=ctx)
        output = await agent.run(user_msg="And 7 times 6?", ctx=ctx)
    assert provider.refusals == []
    assert str(output.response.content).strip() == ANSWER
    assert len(provider.bodies) == 4


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_signed_thinking_block_round_trips(use_async: bool) -> None:
    """chat / achat keep the signature on the ThinkingBlock and send it back."""
    import asyncio

    provider, server = serve("anthropic")
    with server:
        llm = ModelsLabLLM(
            model="reasoner", base_url=server.base_url, api_key="sk-test", api="messages"
        )
        tool = FunctionTool.from_defaults(multiply)
        history = [ChatMessage(role=MessageRole.USER, content="What is 6 times 7?")]
        if use_async:
            response = asyncio.run(llm.achat_with_tools([tool], chat_history=history))
        else:
            response = llm.chat_with_tools([tool], chat_history=history)
        thinking = [b for b in response.message.blocks if isinstance(b, ThinkingBlock)]
        assert thinking[0].additional_information == {"signature": THINKING_SIGNATURE}
        assert thinking[1].additional_information == {
            "type": "redacted_thinking",
            "data": REDACTED_DATA,
        }
        call = llm.get_tool_calls_from_response(response)[0]
        history += [
            response.message,
            ChatMessage(
                role=MessageRole.TOOL,
                content="42",
                additional_kwargs={"tool_call_id": call.tool_id},
            ),
        ]
        final = llm.chat_with_tools([tool], chat_history=history)
    assert provider.refusals == []
    assert final.message.content == ANSWER
