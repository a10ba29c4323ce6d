"""LlamaIndex: a FunctionAgent that calls a Python tool and finishes, streaming its answer."""

from __future__ import annotations

import asyncio

from llama_index.core.agent.workflow import AgentStream, FunctionAgent, ToolCallResult
from llama_index.core.tools import FunctionTool

from examples._runtime import replaying, target
from llama_index_modelslab import ModelsLabLLM

MODEL = "google-gemma-3-1b-it"


def multiply(a: int, b: int) -> int:
    """Multiply two integers and return the product."""
    return a * b


async def run() -> None:
    where = target()
    print(where.describe())
    llm = ModelsLabLLM(model=MODEL, temperature=0, max_tokens=120, **where.llama_index_kwargs())
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(multiply)],
        llm=llm,
        initial_tool_choice="required",
        allow_parallel_tool_calls=False,
    )
    with replaying("llama_index_agent", where):
        handler = agent.run(user_msg="What is 6 times 7?")
        print("stream: ", end="", flush=True)
        async for event in handler.stream_events():
            if isinstance(event, ToolCallResult):
                print(
                    f"\ntool call: {event.tool_name}({event.tool_kwargs}) -> "
                    f"{event.tool_output.content}"
                )
            elif isinstance(event, AgentStream):
                print(event.delta, end="", flush=True)
        output = await handler
    print("\nanswer:", str(output.response.content).strip())


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
