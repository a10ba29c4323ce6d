"""ChatModelsLab and ModelsLabLLM give the same answer to the same question.

* Token counting where the server has no ``/v1/messages/count_tokens`` (vLLM, llama.cpp,
  Ollama answer 404, 405 or 501): both estimate, with the same number for the same
  conversation and one ``TokenCountEstimateWarning``; other failures raise in both.
* Tools offered to a model whose profile says it calls none: both refuse before sending,
  with ``ToolCallingUnsupportedError`` naming the setting that says otherwise.
* A wrong model: the same ``NotFoundError`` and text (``test_not_found_messages.py``).
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx2
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from llama_index.core.base.llms.types import ChatMessage as LIChatMessage
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import APIConnectionError, ServerError
from modelslab_transport.chat.token_estimate import TokenCountEstimateWarning, estimate_tokens
from modelslab_transport.config.tool_support import (
    ToolCallingUnsupportedError,
    ToolCallingUnsupportedWarning,
)
from modelslab_transport.wire.chat import ChatMessage
from tests.support.mock_api import ScriptedServer
from tests.support.replies import completion_body, json_response, tool_call

KEY = "sk-same-answer-0123456789"
LOCAL = "http://127.0.0.1:8000/v1"
NO_TOOLS = "meta-llama-Llama-3.2-1B"  # a base model: its profile says it calls no tools
SYSTEM = "You are terse."
QUESTION = "How many tokens is this question, roughly?"
CLASSES = pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])


def _model(cls: type[Any], server: ScriptedServer, **fields: Any) -> Any:
    transport = httpx2.MockTransport(server)
    async_name = "http_async_client" if cls is ChatModelsLab else "async_http_client"
    options: dict[str, Any] = {
        "model": "local-model",
        "base_url": LOCAL,
        "api_key": KEY,
        "max_retries": 0,
    }
    options.update(fields)
    return cls(
        http_client=httpx2.Client(transport=transport),
        **{async_name: httpx2.AsyncClient(transport=transport)},
        **options,
    )


def _count(llm: Any) -> int:
    if isinstance(llm, ChatModelsLab):
        return llm.get_num_tokens_from_messages([SystemMessage(SYSTEM), HumanMessage(QUESTION)])
    return int(
        llm.count_tokens(
            [
                LIChatMessage(role="system", content=SYSTEM),
                LIChatMessage(role="user", content=QUESTION),
            ]
        )
    )


async def _acount(llm: Any) -> int:
    if isinstance(llm, ChatModelsLab):
        return await llm.aget_num_tokens_from_messages(
            [SystemMessage(SYSTEM), HumanMessage(QUESTION)]
        )
    return int(
        await llm.acount_tokens(
            [
                LIChatMessage(role="system", content=SYSTEM),
                LIChatMessage(role="user", content=QUESTION),
            ]
        )
    )


EXPECTED = estimate_tokens(
    [ChatMessage(role="system", content=SYSTEM), ChatMessage(role="user", content=QUESTION)]
)


def test_the_estimate_is_plain_arithmetic() -> None:
    # 3 per message + ceil((len(role) + len(text)) / 4)
    assert (3 + -(-(6 + len(SYSTEM)) // 4)) + (3 + -(-(4 + len(QUESTION)) // 4)) == EXPECTED


# ------------------------------------------------------------- token counting


@pytest.mark.parametrize(
    "reply",
    [
        json_response({"detail": "Not Found"}, 404),
        json_response({"error": {"message": "Method Not Allowed"}}, 405),
        json_response({"error": {"message": "not implemented"}}, 501),
    ],
    ids=["404", "405", "501"],
)
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_both_estimate_alike_where_the_server_cannot_count(
    reply: httpx2.Response, use_async: bool
) -> None:
    import asyncio

    counts = []
    for cls in (ChatModelsLab, ModelsLabLLM):
        server = ScriptedServer([reply])
        llm = _model(cls, server)
        with pytest.warns(TokenCountEstimateWarning) as caught:
            first = asyncio.run(_acount(llm)) if use_async else _count(llm)
        assert len(caught) == 1
        message = str(caught[0].message)
        assert f"the server at {LOCAL} has no /v1/messages/count_tokens" in message
        assert f"POST {LOCAL}/messages/count_tokens" in message
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once: the next count neither asks nor warns
            second = asyncio.run(_acount(llm)) if use_async else _count(llm)
        assert first == second
        assert [request.url.path for request in server.requests] == ["/v1/messages/count_tokens"]
        counts.append(first)
    assert counts == [EXPECTED, EXPECTED]


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (json_response({"error": {"message": "down"}}, 503), ServerError),
        (httpx2.ConnectError("refused"), APIConnectionError),
    ],
    ids=["503", "unreachable"],
)
def test_both_raise_where_the_server_fails(reply: Any, error: type[Exception]) -> None:
    for cls in (ChatModelsLab, ModelsLabLLM):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no estimate, no warning
            with pytest.raises(error):
                _count(_model(cls, ScriptedServer([reply])))


def test_both_get_the_servers_count_where_it_has_one() -> None:
    for cls in (ChatModelsLab, ModelsLabLLM):
        assert _count(_model(cls, ScriptedServer([json_response({"input_tokens": 42})]))) == 42


# ----------------------------------------------------------- a model without tools


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


class Answer(BaseModel):
    """An answer."""

    text: str


def _offer_tools(llm: Any) -> Any:
    if isinstance(llm, ChatModelsLab):
        return llm.bind_tools([add]).invoke("add 1 and 2")
    return llm.chat_with_tools([FunctionTool.from_defaults(fn=add)], user_msg="add 1 and 2")


@CLASSES
def test_tools_for_a_model_without_tools_are_refused_before_sending(cls: type[Any]) -> None:
    server = ScriptedServer([])
    llm = _model(cls, server, model=NO_TOOLS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ToolCallingUnsupportedWarning)
        with pytest.raises(ToolCallingUnsupportedError) as caught:
            _offer_tools(llm)
    assert server.requests == []
    message = str(caught.value)
    assert message.startswith(
        f"the model {NO_TOOLS!r} was offered tools, but its profile says it calls none "
        "(modelslab_transport.config.model_profiles; https://huggingface.co/meta-llama/Llama-3.2-1B"
    )
    assert "nothing was sent. If it does call tools on your server, set " in message
    setting = (
        "profile={**llm.profile, 'tool_calling': True} on the ChatModelsLab"
        if cls is ChatModelsLab
        else "is_function_calling_model=True on the ModelsLabLLM"
    )
    assert setting in message
    assert caught.value.model == NO_TOOLS
    assert caught.value.setting == setting


@CLASSES
def test_saying_the_model_calls_tools_sends_them(cls: type[Any]) -> None:
    reply = completion_body(None, tool_calls=[tool_call("add", '{"a": 1, "b": 2}')])
    server = ScriptedServer([json_response(reply)])
    if cls is ChatModelsLab:
        from modelslab_transport.config.model_profiles import model_profile

        llm = _model(cls, server, model=NO_TOOLS)
        llm = _model(cls, server, model=NO_TOOLS, profile={**llm.profile, "tool_calling": True})
        assert model_profile(NO_TOOLS).tool_calling is False
    else:
        llm = _model(cls, server, model=NO_TOOLS, is_function_calling_model=True)
        assert llm.metadata.is_function_calling_model is True
    _offer_tools(llm)
    assert server.last_body["tools"][0]["function"]["name"] == "add"


def _structured(llm: Any) -> Any:
    if isinstance(llm, ChatModelsLab):
        return llm.with_structured_output(Answer).invoke("answer")
    return llm.structured_predict(Answer, PromptTemplate("answer"))


@CLASSES
def test_structured_output_by_tool_call_is_refused_alike(cls: type[Any]) -> None:
    server = ScriptedServer([])
    llm = _model(cls, server, model=NO_TOOLS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ToolCallingUnsupportedWarning)
        with pytest.raises(ToolCallingUnsupportedError) as caught:
            _structured(llm)
    assert server.requests == []
    assert "json_schema" in str(caught.value)  # the way without tools


def test_llama_index_names_the_setting_where_function_agent_would_refuse() -> None:
    """LlamaIndex reads metadata.is_function_calling_model (False here) and FunctionAgent
    refuses such an LLM with its own text; the warning names the setting."""
    llm = _model(ModelsLabLLM, ScriptedServer([]), model=NO_TOOLS)
    with pytest.warns(ToolCallingUnsupportedWarning) as caught:
        flags = [llm.metadata.is_function_calling_model for _ in range(2)]  # warned once
    assert flags == [False, False]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "FunctionAgent refuses it ('LLM must be a FunctionCallingLLM')" in message
    assert "set is_function_calling_model=True" in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        decided = _model(
            ModelsLabLLM, ScriptedServer([]), model=NO_TOOLS, is_function_calling_model=False
        )
        assert decided.metadata.is_function_calling_model is False
