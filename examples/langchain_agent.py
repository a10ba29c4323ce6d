"""LangChain: a tool-calling agent (``create_agent``) that runs Python tools to an answer.

The middleware forces a tool call on the first turn and lets the model answer in
words once a tool result is in: small models rarely choose a tool on their own.
"""

from __future__ import annotations

from collections.abc import Callable

from langchain.agents import create_agent
from langchain.agents.middleware import ModelRequest, ModelResponse, wrap_model_call
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from examples._runtime import replaying, target
from langchain_modelslab import ChatModelsLab

MODEL = "google-gemma-3-1b-it"


@tool
def get_word_length(word: str) -> int:
    """Return the number of letters in a word."""
    return len(word)


@tool
def reverse_word(word: str) -> str:
    """Return a word spelled backwards."""
    return word[::-1]


@wrap_model_call
def call_a_tool_first(
    request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
) -> ModelResponse:
    """Force a tool call on the first turn; answer in words after a tool result."""
    has_result = any(isinstance(message, ToolMessage) for message in request.messages)
    return handler(request.override(tool_choice="none" if has_result else "any"))


def main() -> None:
    where = target()
    print(where.describe())
    llm = ChatModelsLab(model=MODEL, temperature=0, max_tokens=120, **where.langchain_kwargs())
    agent = create_agent(
        llm,
        tools=[get_word_length, reverse_word],
        system_prompt="Use the tools to answer questions about words.",
        middleware=[call_a_tool_first],
    )
    with replaying("langchain_agent", where):
        state = agent.invoke(
            {"messages": [HumanMessage("How many letters are in the word 'banana'?")]}
        )
    for message in state["messages"]:
        if isinstance(message, AIMessage) and message.tool_calls:
            for call in message.tool_calls:
                print(f"tool call: {call['name']}({call['args']})")
        elif isinstance(message, ToolMessage):
            print(f"tool result: {message.content}")
    print("answer:", state["messages"][-1].text.strip())


if __name__ == "__main__":
    main()
