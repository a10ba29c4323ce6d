"""A key given in ``default_headers`` (a proxy's ``Authorization``, an ``x-api-key``).

Users who front a server with a proxy put credentials there. The headers are sent on
every request, and no surface of either class shows them: ``repr``, ``str``, LangChain's
``dumps`` and ``model_dump``, LlamaIndex's ``to_dict`` / ``to_json``.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.load import dumps
from langchain_core.messages import HumanMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer
from tests.support.truncation import text_reply

SECRET = "sk-proxy-HdrSecret-9f8e7d6c5b"
HEADERS = pytest.mark.parametrize(
    "headers",
    [{"Authorization": f"Bearer {SECRET}"}, {"x-api-key": SECRET}, {"X-Proxy-Token": SECRET}],
)


def _surfaces(model: Any) -> dict[str, str]:
    shown = {"repr": repr(model), "str": str(model), "model_dump": str(model.model_dump())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(model, ChatModelsLab):
            shown["dumps"] = dumps(model)
            shown["model_dump_json"] = model.model_dump_json()
        else:
            shown["to_dict"] = str(model.to_dict())
            shown["to_json"] = model.to_json()
    return shown


def _reply() -> Any:
    return text_reply("chat_completions", stream=False, pieces=("ok",), reason="stop")


@HEADERS
def test_langchain_sends_the_headers_and_shows_them_nowhere(headers: dict[str, str]) -> None:
    server = ScriptedServer([_reply()])
    model = chat_model(server, default_headers=headers)
    model.invoke([HumanMessage("hi")])
    [(name, value)] = headers.items()
    assert server.requests[0].headers[name] == value
    leaks = [where for where, text in _surfaces(model).items() if SECRET in text]
    assert leaks == []


@HEADERS
def test_llama_index_sends_the_headers_and_shows_them_nowhere(headers: dict[str, str]) -> None:
    llm, server = scripted_llm(_reply(), default_headers=headers)
    llm.complete("hi")
    [(name, value)] = headers.items()
    assert server.requests[0].headers[name] == value
    leaks = [where for where, text in _surfaces(llm).items() if SECRET in text]
    assert leaks == []


def test_langchain_copies_keep_the_headers() -> None:
    server = ScriptedServer([_reply()])
    model = chat_model(server, default_headers={"X-Proxy-Token": SECRET})
    copy = model.model_copy(update={"temperature": 0.2})
    copy.invoke([HumanMessage("hi")])
    assert server.requests[0].headers["X-Proxy-Token"] == SECRET
    assert isinstance(copy, ChatModelsLab)


def test_llama_index_field_is_the_reference() -> None:
    assert ModelsLabLLM.model_fields["default_headers"].exclude is True
    assert ChatModelsLab.model_fields["default_headers"].exclude is True
