"""``chat_with_tools(strict=True)`` sends tool schemas closed as OpenAI's strict mode requires.

The same function closes them as in LangChain's ``bind_tools(strict=True)``
(:func:`modelslab_transport.chat.strict_schema.strict_json_schema`).
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool

from modelslab_transport.chat.strict_schema import StrictSchemaError, strict_json_schema
from tests.support.clients import scripted_llm
from tests.support.replies import completion_body, json_response

MODES = pytest.mark.parametrize("mode", ["sync", "async"])


def book(city: str, nights: int = 1, note: str | None = None) -> str:
    """Book a hotel."""
    return city


def tally(counts: dict[str, int]) -> int:
    """Add counts up."""
    return sum(counts.values())


async def _chat_with_tools(mode: str, llm: Any, tools: list[Any], **kwargs: Any) -> Any:
    history = [ChatMessage(role="user", content="hi")]
    if mode == "sync":
        return llm.chat_with_tools(tools, chat_history=history, **kwargs)
    return await llm.achat_with_tools(tools, chat_history=history, **kwargs)


@MODES
async def test_strict_tools_are_closed(mode: str) -> None:
    tool = FunctionTool.from_defaults(fn=book)
    llm, server = scripted_llm(json_response(completion_body("ok")))
    await _chat_with_tools(mode, llm, [tool], strict=True)
    function = server.last_body["tools"][0]["function"]
    assert function["strict"] is True
    parameters = function["parameters"]
    assert parameters == strict_json_schema(tool.metadata.get_parameters_dict())
    assert parameters["additionalProperties"] is False
    assert parameters["required"] == ["city", "nights", "note"]
    assert parameters["properties"]["note"]["anyOf"][-1] == {"type": "null"}
    assert parameters["properties"]["nights"]["type"] == "integer"  # has a default: no null


@MODES
async def test_without_strict_the_schema_is_sent_as_it_is(mode: str) -> None:
    tool = FunctionTool.from_defaults(fn=book)
    llm, server = scripted_llm(json_response(completion_body("ok")))
    await _chat_with_tools(mode, llm, [tool])
    function = server.last_body["tools"][0]["function"]
    assert "strict" not in function
    assert function["parameters"] == tool.metadata.get_parameters_dict()


@MODES
async def test_a_tool_strict_mode_cannot_express_is_refused_before_sending(mode: str) -> None:
    llm, server = scripted_llm()
    with pytest.raises(StrictSchemaError, match=r"properties\.counts"):
        await _chat_with_tools(mode, llm, [FunctionTool.from_defaults(fn=tally)], strict=True)
    assert server.requests == []
