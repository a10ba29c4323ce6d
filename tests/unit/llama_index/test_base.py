"""ModelsLabLLM's own logic, without a server: constructor arguments, metadata, how tools
are offered and tool calls read back. Calls against a server are in ``tests/llama_index``."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_modelslab.base import ModelsLabLLM
from llama_index_modelslab.replies import (
    FINISH_REASON_KEY,
)
from modelslab_transport.chat.completeness import IncompleteReplyError
from modelslab_transport.config.model_profiles import MODEL_PROFILES, context_window
from modelslab_transport.config.tool_support import (
    ToolCallingUnsupportedError,
    ToolCallingUnsupportedWarning,
)

KEY = "sk-llama-base-0123456789"
NO_TOOLS = next(name for name, profile in MODEL_PROFILES.items() if profile.tool_calling is False)


def lookup(city: str) -> str:
    """Look up a city."""
    return city


def other(x: int) -> int:
    """Another tool."""
    return x


TOOLS = [FunctionTool.from_defaults(fn=lookup), FunctionTool.from_defaults(fn=other)]


def _llm(**fields: Any) -> ModelsLabLLM:
    return ModelsLabLLM(api_key=KEY, **fields)


def test_a_misspelt_argument_is_refused_naming_the_right_one() -> None:
    with pytest.raises(ValueError, match="'temprature' is not a ModelsLabLLM argument") as caught:
        _llm(temprature=0.5)
    assert "temperature" in str(caught.value)
    assert "additional_kwargs" in str(caught.value)


def test_a_setting_or_credential_gets_its_own_refusal() -> None:
    with pytest.raises(ValueError, match="connect_timeout") as caught:
        _llm(connect_timeout=3)
    assert "additional_kwargs)" not in str(caught.value)


def test_a_peer_name_goes_to_its_field_or_to_additional_kwargs() -> None:
    assert _llm(request_timeout=12).timeout == 12
    assert _llm(stop_sequences=["END"]).additional_kwargs == {"stop": ["END"]}


def test_class_name_and_metadata() -> None:
    llm = _llm(model="m-1", context_window=1000)
    assert ModelsLabLLM.class_name() == "ModelsLabLLM"
    metadata = llm.metadata
    assert (metadata.model_name, metadata.context_window, metadata.is_chat_model) == (
        "m-1",
        1000,
        True,
    )
    assert metadata.is_function_calling_model
    assert metadata.system_role == MessageRole.SYSTEM
    assert isinstance(metadata.num_output, int)
    assert _llm(model="m-1").metadata.context_window == context_window("m-1")


def test_a_toolless_model_warns_once_unless_the_setting_is_given() -> None:
    llm = _llm(model=NO_TOOLS)
    with pytest.warns(ToolCallingUnsupportedWarning, match="is_function_calling_model=True"):
        assert not llm.metadata.is_function_calling_model
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        llm.metadata  # noqa: B018  (said once)
        assert not _llm(
            model=NO_TOOLS, is_function_calling_model=False
        ).metadata.is_function_calling_model
        assert _llm(
            model=NO_TOOLS, is_function_calling_model=True
        ).metadata.is_function_calling_model


def test_a_prompt_becomes_one_user_message() -> None:
    llm = _llm(completion_to_prompt=lambda text: f"[{text}]")
    assert llm._prompt_messages("q", formatted=False)[0].content == "[q]"
    assert llm._prompt_messages("q", formatted=True)[0].content == "q"


def test_offering_tools_sets_the_wire_tools_and_the_choice() -> None:
    llm = _llm()
    history = [ChatMessage(role="system", content="s")]
    kwargs = llm._prepare_chat_with_tools(TOOLS, user_msg="hi", chat_history=history)
    assert [m.content for m in kwargs["messages"]] == ["s", "hi"]
    assert [tool.function.name for tool in kwargs["tools"]] == ["lookup", "other"]
    assert (kwargs["tool_choice"], kwargs["parallel_tool_calls"]) == ("auto", False)
    required = llm._prepare_chat_with_tools(TOOLS, tool_required=True)
    assert required["tool_choice"] == "required"
    named = llm._prepare_chat_with_tools(TOOLS, tool_choice="other", allow_parallel_tool_calls=True)
    assert named["tool_choice"] == {"type": "function", "function": {"name": "other"}}
    assert named["parallel_tool_calls"] is True
    strict = llm._prepare_chat_with_tools(TOOLS, strict=True)
    assert strict["tools"][0].function.strict is True
    assert llm._prepare_chat_with_tools([], user_msg="hi", temperature=0.1) == {
        "messages": [ChatMessage(role=MessageRole.USER, content="hi")],
        "temperature": 0.1,
    }


def test_tools_are_refused_for_a_model_that_calls_none() -> None:
    with pytest.raises(ToolCallingUnsupportedError, match="is_function_calling_model=True"):
        _llm(model=NO_TOOLS)._prepare_chat_with_tools(TOOLS)
    _llm(model=NO_TOOLS, is_function_calling_model=True)._prepare_chat_with_tools(TOOLS)


def _response(
    *calls: tuple[str, Any], finish: str | None = "tool_calls", text: str = ""
) -> ChatResponse:
    blocks: list[Any] = [TextBlock(text=text)]
    blocks += [
        ToolCallBlock(tool_call_id=f"c{i}", tool_name=n, tool_kwargs=a)
        for i, (n, a) in enumerate(calls)
    ]
    extra = {FINISH_REASON_KEY: finish} if finish is not None else {}
    return ChatResponse(
        message=ChatMessage(role="assistant", blocks=blocks, additional_kwargs=extra)
    )


def test_only_the_first_call_is_kept_unless_parallel_calls_were_allowed() -> None:
    llm = _llm()
    response = _response(("lookup", {"city": "P"}), ("other", {"x": 1}))
    assert len(llm._validate_chat_with_tools_response(response, TOOLS, True).message.blocks) == 3
    kept = llm._validate_chat_with_tools_response(response, TOOLS)
    assert [s.tool_name for s in llm.get_tool_calls_from_response(kept)] == ["lookup"]


def test_reading_tool_calls_back() -> None:
    llm = _llm(model="m-1")
    (selection,) = llm.get_tool_calls_from_response(_response(("lookup", '{"city": "P"}')))
    assert (selection.tool_id, selection.tool_kwargs) == ("c0", {"city": "P"})
    assert llm.get_tool_calls_from_response(_response(), error_on_no_tool_call=False) == []
    with pytest.raises(
        ValueError, match="expected at least one tool call from m-1, got none"
    ) as caught:
        llm.get_tool_calls_from_response(_response(finish="stop", text="no tools"))
    assert "'no tools'" in str(caught.value)
    with pytest.raises(IncompleteReplyError, match="expected a tool call from m-1, got none"):
        llm.get_tool_calls_from_response(_response(finish="length"))


class Answer(BaseModel):
    text: str


def test_a_structured_result_of_another_type_is_refused() -> None:
    assert ModelsLabLLM._structured_result(Answer(text="x"), Answer) == Answer(text="x")
    with pytest.raises(TypeError, match="structured prediction expected a Answer, got dict"):
        ModelsLabLLM._structured_result({"text": "x"}, Answer)
