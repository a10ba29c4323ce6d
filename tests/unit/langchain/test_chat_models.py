"""ChatModelsLab's own logic, without a server: constructor arguments, the profile, what it
reports to LangChain and LangSmith, and how tools and structured output are bound. Calls
against a server are in ``tests/langchain``."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.runnables import RunnableBinding
from pydantic import BaseModel

from langchain_modelslab.chat_models import ChatModelsLab
from modelslab_transport.config.model_profiles import DEFAULT_CONTEXT_WINDOW, MODEL_PROFILES
from modelslab_transport.config.tool_support import ToolCallingUnsupportedError

KEY = "sk-chat-models-0123456789"
NO_TOOLS = next(name for name, profile in MODEL_PROFILES.items() if profile.tool_calling is False)


class Answer(BaseModel):
    """An answer."""

    text: str


def _model(**fields: Any) -> ChatModelsLab:
    return ChatModelsLab(api_key=KEY, **fields)


def _bound_kwargs(runnable: Any) -> dict[str, Any]:
    while not isinstance(runnable, RunnableBinding):
        runnable = runnable.first
    return dict(runnable.kwargs)


def test_an_unknown_argument_becomes_a_request_parameter_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="'top_k' is not a ChatModelsLab field"):
        model = _model(top_k=5)
    assert model.model_kwargs == {"top_k": 5}


def test_model_kwargs_may_not_hold_a_field() -> None:
    with pytest.raises(ValueError, match=r"pass \['temperature'\] as ChatModelsLab arguments"):
        _model(model_kwargs={"temperature": 0.2})


def test_a_credential_under_another_name_is_refused_without_its_value() -> None:
    with pytest.raises(ValueError, match="pass the ModelsLab key as api_key") as caught:
        _model(modelslab_api_key="sk-secret-value-123")
    assert "sk-secret-value-123" not in str(caught.value)


def test_a_setting_is_refused_as_a_request_parameter() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="connect_timeout"):
            _model(connect_timeout=3)


def test_streaming_with_several_choices_is_refused() -> None:
    with pytest.raises(ValueError, match="n > 1 cannot be combined with streaming=True"):
        _model(streaming=True, n=2)


def test_a_peer_name_is_taken_as_ours() -> None:
    assert _model(max_completion_tokens=12).max_tokens == 12


def test_the_profile_of_an_unknown_and_a_toolless_model() -> None:
    unknown = _model(model="a-model-no-profile-names").profile or {}
    assert unknown["max_input_tokens"] == DEFAULT_CONTEXT_WINDOW
    assert unknown["text_inputs"] is True
    toolless = _model(model=NO_TOOLS).profile or {}
    assert toolless["tool_calling"] is False
    assert toolless["tool_choice"] is False


def test_what_it_reports_to_langchain() -> None:
    model = _model(temperature=0.3)
    assert model._llm_type == "modelslab-chat"
    assert ChatModelsLab.is_lc_serializable()
    assert ChatModelsLab.get_lc_namespace() == ["langchain_modelslab", "chat_models"]
    assert model.lc_secrets == {"api_key": "MODELSLAB_API_KEY"}
    params = model._identifying_params
    assert params["temperature"] == 0.3
    assert params["base_url"] == model.base_url
    assert params["api"] == "chat_completions"
    assert isinstance(params["max_tokens"], int)
    assert KEY not in repr(params)


def test_langsmith_parameters_follow_the_call() -> None:
    model = _model(model="m-1", temperature=0.5, max_tokens=100, stop=["END"])
    assert model._get_ls_params() == {
        "ls_provider": "modelslab",
        "ls_model_name": "m-1",
        "ls_model_type": "chat",
        "ls_temperature": 0.5,
        "ls_max_tokens": 100,
        "ls_stop": ["END"],
    }
    call = model._get_ls_params(stop=["X"], model="m-2", temperature=0.1, max_tokens=7)
    assert (call["ls_model_name"], call["ls_temperature"], call["ls_max_tokens"]) == ("m-2", 0.1, 7)
    assert call["ls_stop"] == ["X"]
    assert isinstance(_model(max_tokens=None)._get_ls_params()["ls_max_tokens"], int)


def test_bind_tools_formats_tools_and_maps_tool_choice() -> None:
    tool = {"name": "lookup", "description": "d", "input_schema": {"type": "object"}}
    bound = _bound_kwargs(_model().bind_tools([Answer, tool], tool_choice="lookup"))
    assert [spec["function"]["name"] for spec in bound["tools"]] == ["Answer", "lookup"]
    assert bound["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert "parallel_tool_calls" not in bound
    forced = _bound_kwargs(
        _model().bind_tools([Answer], tool_choice=True, parallel_tool_calls=False)
    )
    assert forced["tool_choice"] == "required"
    assert forced["parallel_tool_calls"] is False


def test_bind_tools_refuses_a_choice_not_among_the_tools() -> None:
    with pytest.raises(ValueError, match="other"):
        _model().bind_tools([Answer], tool_choice="other")


def test_a_cache_marker_on_a_tool_dict_is_kept() -> None:
    tool = {
        "type": "function",
        "function": {"name": "f", "parameters": {"type": "object"}},
        "cache_control": {"type": "ephemeral"},
    }
    (spec,) = _bound_kwargs(_model().bind_tools([tool]))["tools"]
    assert spec["cache_control"] == {"type": "ephemeral"}


def test_tools_are_refused_for_a_model_that_calls_none_unless_the_profile_says_so() -> None:
    model = _model(model=NO_TOOLS)
    with pytest.raises(ToolCallingUnsupportedError, match="with_structured_output"):
        model.bind_tools([Answer])
    model.bind_tools([])  # no tools: nothing to refuse
    enabled = _model(model=NO_TOOLS, profile={**(model.profile or {}), "tool_calling": True})
    enabled.bind_tools([Answer])


@pytest.mark.parametrize(
    ("method", "strict", "schema", "message"),
    [
        ("json_mode", True, Answer, "strict applies to method='function_calling'"),
        ("function_calling", None, None, "needs a schema with method='function_calling'"),
        ("json_schema", None, None, "the response format the model answers with"),
        ("xml", None, Answer, "method must be 'function_calling', 'json_mode' or 'json_schema'"),
    ],
)
def test_with_structured_output_refuses_what_cannot_work(
    method: str, strict: bool | None, schema: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _model().with_structured_output(schema, method=method, strict=strict)  # type: ignore[arg-type]


def test_with_structured_output_refuses_unknown_options() -> None:
    with pytest.raises(ValueError, match=r"unsupported with_structured_output arguments: \['x'\]"):
        _model().with_structured_output(Answer, x=1)


def test_structured_output_methods_bind_their_request_fields() -> None:
    calling = _bound_kwargs(_model().with_structured_output(Answer))
    assert calling["tool_choice"] == "required"
    assert calling["tools"][0]["function"]["name"] == "Answer"
    schema = _bound_kwargs(_model().with_structured_output(Answer, method="json_schema"))
    assert schema["response_format"]["type"] == "json_schema"
    assert schema["response_format"]["json_schema"]["name"] == "Answer"
    mode = _bound_kwargs(_model().with_structured_output(None, method="json_mode"))
    assert mode["response_format"] == {"type": "json_object"}


def test_the_messages_protocol_carries_json_methods_as_a_tool_call() -> None:
    messages = _model(api="messages")
    bound = _bound_kwargs(messages.with_structured_output(Answer, method="json_schema"))
    assert "response_format" not in bound
    assert bound["tools"][0]["function"]["name"] == "Answer"
    with pytest.raises(ValueError, match="api='messages' has no JSON mode"):
        messages.with_structured_output(None, method="json_mode")


def test_an_empty_text_has_no_tokens_without_a_request() -> None:
    assert _model(base_url="http://127.0.0.1:9/v1").get_num_tokens("") == 0


def test_a_calls_response_format_schema_becomes_its_wire_form() -> None:
    kwargs: dict[str, Any] = {"response_format": Answer}
    parse = ChatModelsLab._response_format_parser(kwargs)
    assert parse is not None
    assert kwargs["response_format"]["type"] == "json_schema"
    assert parse('{"text": "x"}') == Answer(text="x")
    assert ChatModelsLab._response_format_parser({}) is None
