"""Other integrations' names for where requests go, beyond ``*_api_base`` / ``*_base_url``.

HuggingFaceEndpoint's ``endpoint_url``, HuggingFaceTextGenInference's
``inference_server_url``, LlamaIndex TextGenerationInference's ``model_url``, the Ollama
client's ``host``: each names a destination. Sent as a body field, the call would still go
to ``base_url`` (ModelsLab by default), so each is refused, at the constructor, in a call
and among the model's request parameters, with a pointer to ``base_url``.
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx2
import pytest
from langchain_core.messages import HumanMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport.config.peer_names import UnsupportedSettingError
from tests.support.mock_api import ScriptedServer

LOCAL = "http://127.0.0.1:8000/v1"
CLASSES = pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])
NAMES = pytest.mark.parametrize(
    "name",
    ["endpoint_url", "inference_server_url", "model_url", "server_url", "url", "host", "api_host"],
)


def _model(cls: type[Any], server: ScriptedServer, **fields: Any) -> Any:
    transport = httpx2.MockTransport(server)
    async_name = "http_async_client" if cls is ChatModelsLab else "async_http_client"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return cls(
            api_key="sk-destination-names-0123",
            model="local-model",
            max_retries=0,
            http_client=httpx2.Client(transport=transport),
            **{async_name: httpx2.AsyncClient(transport=transport)},
            **fields,
        )


@CLASSES
@NAMES
def test_a_destination_setting_is_refused_pointing_to_base_url(cls: type[Any], name: str) -> None:
    server = ScriptedServer([])
    with pytest.raises(UnsupportedSettingError, match="set base_url=") as caught:
        _model(cls, server, **{name: "http://elsewhere:1/v1"})
    assert caught.value.name == name
    assert "http://elsewhere:1/v1" not in str(caught.value)
    field = "model_kwargs" if cls is ChatModelsLab else "additional_kwargs"
    with pytest.raises(ValueError, match="requests go to base_url only"):
        _model(cls, server, base_url=LOCAL, **{field: {name: "http://elsewhere:1/v1"}})
    assert server.requests == []


@CLASSES
@NAMES
def test_a_destination_in_a_call_is_refused_before_sending(cls: type[Any], name: str) -> None:
    server = ScriptedServer([])
    llm = _model(cls, server, base_url=LOCAL)
    ask = llm.invoke if cls is ChatModelsLab else llm.complete
    prompt: Any = [HumanMessage("hi")] if cls is ChatModelsLab else "hi"
    with pytest.raises(UnsupportedSettingError, match=f"'{name}' in a call's arguments"):
        ask(prompt, **{name: "http://elsewhere:1/v1"})
    assert server.requests == []
