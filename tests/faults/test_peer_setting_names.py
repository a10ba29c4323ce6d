"""Setting names users bring from ChatOpenAI, ChatAnthropic and LlamaIndex OpenAI(Like).

Each is taken as our setting or parameter (the request goes where it says, with what it
says) or refused with :class:`UnsupportedSettingError` naming what to use instead; none
is ever sent as a body field. Both classes read one table
(:data:`modelslab_transport.config.peer_names.PEER_NAMES`).
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx2
import pytest
from langchain_core.messages import HumanMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport.config.peer_names import PEER_NAMES, UnsupportedSettingError
from tests.support.mock_api import ScriptedServer
from tests.support.replies import json_response

KEY = "sk-peer-names-0123456789"
LOCAL = "http://127.0.0.1:8000/v1"
COMPLETION = {
    "id": "c1",
    "object": "chat.completion",
    "model": "local-model",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}
CLASSES = pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])


def _model(cls: type[Any], server: ScriptedServer, **fields: Any) -> Any:
    fields.setdefault("model", "local-model")
    fields.setdefault("max_retries", 0)
    transport = httpx2.MockTransport(server)
    async_name = "http_async_client" if cls is ChatModelsLab else "async_http_client"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # taken as ours: no "sent as a request parameter"
        return cls(
            http_client=httpx2.Client(transport=transport),
            **{async_name: httpx2.AsyncClient(transport=transport)},
            **fields,
        )


def _ask(llm: Any, **kwargs: Any) -> None:
    if isinstance(llm, ChatModelsLab):
        llm.invoke([HumanMessage("hi")], **kwargs)
    else:
        llm.complete("hi", **kwargs)


@CLASSES
@pytest.mark.parametrize("name", ["openai_api_base", "api_base", "anthropic_api_url"])
def test_a_base_url_under_another_name_is_where_the_call_goes(cls: type[Any], name: str) -> None:
    server = ScriptedServer([json_response(COMPLETION)])
    llm = _model(cls, server, **{name: LOCAL})
    assert llm.base_url == LOCAL
    _ask(llm)
    assert [str(request.url) for request in server.requests] == [f"{LOCAL}/chat/completions"]
    assert name not in server.last_body


@CLASSES
@pytest.mark.parametrize("name", ["openai_api_key", "anthropic_api_key"])
def test_a_key_under_another_name_is_the_key(cls: type[Any], name: str) -> None:
    server = ScriptedServer([json_response(COMPLETION)])
    llm = _model(cls, server, base_url=LOCAL, **{name: KEY})
    _ask(llm)
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in json.dumps(server.last_body)
    assert KEY not in repr(llm)
    if isinstance(llm, ChatModelsLab):
        from langchain_core.load import dumps

        assert KEY not in dumps(llm)
    else:
        assert KEY not in llm.to_json()


@CLASSES
@pytest.mark.parametrize("name", ["request_timeout", "default_request_timeout"])
def test_a_timeout_under_another_name_is_the_timeout(cls: type[Any], name: str) -> None:
    llm = _model(cls, ScriptedServer([]), base_url=LOCAL, **{name: 7.5})
    assert llm.timeout == 7.5
    assert llm.client.options.timeout == 7.5


@CLASSES
@pytest.mark.parametrize("name", ["max_completion_tokens", "max_tokens_to_sample"])
def test_max_tokens_under_another_name_is_sent_once_as_max_tokens(
    cls: type[Any], name: str
) -> None:
    server = ScriptedServer([json_response(COMPLETION)])
    llm = _model(cls, server, base_url=LOCAL, **{name: 50})
    assert llm.max_tokens == 50
    _ask(llm)
    body = server.last_body
    assert body["max_tokens"] == 50
    assert name not in body
    assert "max_completion_tokens" not in body


@CLASSES
def test_stop_sequences_are_sent_as_stop(cls: type[Any]) -> None:
    server = ScriptedServer([json_response(COMPLETION)])
    llm = _model(cls, server, base_url=LOCAL, stop_sequences=["END"])
    _ask(llm)
    assert server.last_body["stop"] == ["END"]
    assert "stop_sequences" not in server.last_body


@CLASSES
def test_model_name_is_the_model(cls: type[Any]) -> None:
    server = ScriptedServer([json_response(COMPLETION)])
    llm = _model(cls, server, base_url=LOCAL, model=None, model_name="other-model")
    _ask(llm)
    assert server.last_body["model"] == "other-model"
    assert "model_name" not in server.last_body


@CLASSES
def test_a_calls_own_peer_parameters_are_ours(cls: type[Any]) -> None:
    server = ScriptedServer([json_response(COMPLETION)])
    llm = _model(cls, server, base_url=LOCAL, max_tokens=300)
    _ask(llm, max_completion_tokens=7, stop_sequences=["Q"])
    body = server.last_body
    assert (body["max_tokens"], body["stop"]) == (7, ["Q"])
    assert {"max_completion_tokens", "stop_sequences"}.isdisjoint(body)


@CLASSES
def test_peer_parameters_among_the_models_request_parameters_are_ours(cls: type[Any]) -> None:
    server = ScriptedServer([json_response(COMPLETION)])
    params = {"max_completion_tokens": 9, "stop_sequences": ["Z"]}
    field = "model_kwargs" if cls is ChatModelsLab else "additional_kwargs"
    llm = _model(cls, server, base_url=LOCAL, **{field: params})
    _ask(llm)
    body = server.last_body
    assert (body["max_tokens"], body["stop"]) == (9, ["Z"])
    assert {"max_completion_tokens", "stop_sequences"}.isdisjoint(body)


@CLASSES
@pytest.mark.parametrize(
    ("given", "ours"),
    [
        ({"openai_api_base": LOCAL, "base_url": LOCAL}, "base_url"),
        ({"api_base": LOCAL, "base_url": "http://127.0.0.1:1/v1"}, "base_url"),
        ({"max_completion_tokens": 5, "max_tokens": 5}, "max_tokens"),
        ({"openai_api_key": KEY, "api_key": KEY}, "api_key"),
    ],
)
def test_a_name_given_with_ours_is_refused(
    cls: type[Any], given: dict[str, Any], ours: str
) -> None:
    (alias,) = set(given) - {ours}
    with pytest.raises(UnsupportedSettingError) as caught:
        cls(**given)
    message = str(caught.value)
    assert f"{alias}= and {ours}= both given in {cls.__name__}'s arguments" in message
    assert f"pass {ours}= only" in message
    assert KEY not in message
    assert (caught.value.name, caught.value.use_instead) == (alias, ours)


@CLASSES
@pytest.mark.parametrize(
    ("name", "value", "advice"),
    [
        ("openai_proxy", "http://proxy:3128", "http_client=httpx2.Client(proxy=...)"),
        ("anthropic_proxy", "http://proxy:3128", "set HTTPS_PROXY in the environment"),
        ("openai_organization", "org-1", "default_headers={'OpenAI-Organization': ...}"),
        ("organization", "org-1", "ModelsLab has no organizations"),
        ("api_version", "2024-02-01", "part of base_url"),
        ("openai_api_version", "2024-02-01", "part of base_url"),
        ("reuse_client", False, "pass http_client=... / async_http_client=..."),
        ("tiktoken_model_name", "gpt-4", "count_tokens"),
        ("tokenizer", object(), "no local tokenizer"),
        ("default_query", {"a": "b"}, "extra_body={...}"),
        ("is_chat_model", False, "ModelsLab models are chat models"),
    ],
)
def test_a_setting_without_counterpart_is_refused_naming_ours(
    cls: type[Any], name: str, value: Any, advice: str
) -> None:
    server = ScriptedServer([])
    with pytest.raises(UnsupportedSettingError) as caught:
        _model(cls, server, base_url=LOCAL, **{name: value})
    message = str(caught.value)
    assert name in message
    assert cls.__name__ in message
    assert advice in message
    assert caught.value.name == name
    assert server.requests == []


@CLASSES
def test_is_chat_model_true_is_what_it_is(cls: type[Any]) -> None:
    server = ScriptedServer([json_response(COMPLETION)])
    llm = _model(cls, server, base_url=LOCAL, is_chat_model=True)
    _ask(llm)
    assert "is_chat_model" not in server.last_body
    if isinstance(llm, ModelsLabLLM):
        assert llm.metadata.is_chat_model is True


@CLASSES
@pytest.mark.parametrize(
    "name",
    sorted(name for name, entry in PEER_NAMES.items() if entry.kind != "param"),
)
def test_a_setting_name_among_a_calls_arguments_is_refused_before_sending(
    cls: type[Any], name: str
) -> None:
    server = ScriptedServer([])
    llm = _model(cls, server, base_url=LOCAL)
    if name in cls.model_fields:
        pytest.skip(f"{name} is a field of {cls.__name__}")
    with pytest.raises(ValueError, match=f"'{name}' in a call's arguments") as caught:
        _ask(llm, **{name: "x"})
    assert server.requests == []
    if name in ("openai_api_key", "anthropic_api_key"):
        assert "names a credential" in str(caught.value)
    else:
        assert isinstance(caught.value, UnsupportedSettingError)


@CLASSES
@pytest.mark.parametrize("name", sorted(PEER_NAMES))
def test_no_peer_name_is_ever_a_body_field(cls: type[Any], name: str) -> None:
    """Given to the constructor: taken (and absent from the body) or refused (nothing sent)."""
    entry = PEER_NAMES[name]
    value: Any = {
        "base_url": LOCAL,
        "api_key": KEY,
        "timeout": 9.0,
        "model": "local-model",
        "max_tokens": 11,
        "stop": ["S"],
    }.get(str(entry.field), entry.value if entry.kind == "fixed" else "x")
    server = ScriptedServer([json_response(COMPLETION)])
    fields: dict[str, Any] = {"base_url": LOCAL} if entry.field != "base_url" else {}
    if entry.field == "model":
        fields["model"] = None
    try:
        llm = _model(cls, server, **fields, **{name: value})
    except UnsupportedSettingError:
        assert entry.kind == "refused"
        return
    _ask(llm)
    assert name not in server.last_body
    assert str(server.requests[0].url).startswith(LOCAL)


@CLASSES
@pytest.mark.parametrize(
    "name", ["groq_api_base", "mistral_api_url", "together_base_url", "http_proxy", "endpoint"]
)
def test_any_name_of_a_place_to_send_to_is_refused_not_sent(cls: type[Any], name: str) -> None:
    """Not in the table, but a URL setting of some integration: sent as a body field, the
    call would still go to base_url. Refused at the constructor, in a call and among the
    model's request parameters."""
    server = ScriptedServer([])
    with pytest.raises(UnsupportedSettingError, match="requests go to base_url only"):
        _model(cls, server, base_url=LOCAL, **{name: "http://elsewhere:1/v1"})
    llm = _model(cls, server, base_url=LOCAL)
    with pytest.raises(UnsupportedSettingError, match=f"'{name}' in a call's arguments"):
        _ask(llm, **{name: "http://elsewhere:1/v1"})
    field = "model_kwargs" if cls is ChatModelsLab else "additional_kwargs"
    with pytest.raises(ValueError, match="requests go to base_url only"):
        _model(cls, server, base_url=LOCAL, **{field: {name: "http://elsewhere:1/v1"}})
    assert server.requests == []


@CLASSES
@pytest.mark.parametrize("name", ["azure_endpoint", "azure_deployment", "openai_api_type"])
def test_azure_settings_are_refused_naming_ours(cls: type[Any], name: str) -> None:
    with pytest.raises(UnsupportedSettingError) as caught:
        _model(cls, ScriptedServer([]), base_url=LOCAL, **{name: "x"})
    assert "ModelsLab is not Azure OpenAI: name the model with model=..." in str(caught.value)
