"""Every "not found" names the URL requested and the usual cause, in both frameworks.

A base URL without the path the server serves (a local server without ``/v1``), a
protocol the server does not speak (``api="messages"`` against an OpenAI-only server),
a model id the server does not serve (a 404, or ModelsLab's "Model not found" inside an
HTTP 200 body or a stream): each is a ``NotFoundError`` whose ``cause``, ``url`` and
``model`` say which, and whose text is the same from ``ChatModelsLab`` and
``ModelsLabLLM``. The URL shown never carries the key.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage

from langchain_modelslab import ChatModelsLab, ModelsLabNotFoundError
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import DEFAULT_BASE_URL, NotFoundError
from tests.support.mock_api import ScriptedServer
from tests.support.replies import json_response, sse_response

KEY = "sk-not-found-0123456789"
LOCAL = "http://127.0.0.1:8000"
FASTAPI_404 = json_response({"detail": "Not Found"}, 404)

Ask = Callable[[Any], Any]


def _invoke(llm: Any) -> Any:
    if isinstance(llm, ChatModelsLab):
        return llm.invoke([HumanMessage("hi")])
    return llm.chat([ChatMessage(role="user", content="hi")])


def _stream(llm: Any) -> Any:
    if isinstance(llm, ChatModelsLab):
        return list(llm.stream([HumanMessage("hi")]))
    return list(llm.stream_chat([ChatMessage(role="user", content="hi")]))


def _astream(llm: Any) -> Any:
    async def run() -> Any:
        if isinstance(llm, ChatModelsLab):
            return [chunk async for chunk in llm.astream([HumanMessage("hi")])]
        stream = await llm.astream_chat([ChatMessage(role="user", content="hi")])
        return [chunk async for chunk in stream]

    return asyncio.run(run())


CALLS = pytest.mark.parametrize(
    "ask", [_invoke, _stream, _astream], ids=["call", "stream", "astream"]
)


def _errors(reply: httpx2.Response, ask: Ask = _invoke, **fields: Any) -> list[NotFoundError]:
    """The error each framework raises for ``reply``, and that nothing was retried."""
    errors: list[NotFoundError] = []
    for cls in (ChatModelsLab, ModelsLabLLM):
        server = ScriptedServer([reply], repeat_last=False)
        transport = httpx2.MockTransport(server)
        async_name = "http_async_client" if cls is ChatModelsLab else "async_http_client"
        options: dict[str, Any] = {"model": "wrong-model", "api_key": KEY, "max_retries": 0}
        options.update(fields)
        llm = cls(
            http_client=httpx2.Client(transport=transport),
            **{async_name: httpx2.AsyncClient(transport=transport)},
            **options,
        )
        with pytest.raises(NotFoundError) as caught:
            ask(llm)
        assert len(server.requests) == 1
        if cls is ChatModelsLab:
            assert isinstance(caught.value, ModelsLabNotFoundError)
        errors.append(caught.value)
    langchain, llama_index = errors
    assert str(langchain) == str(llama_index)  # one answer to one question
    assert (langchain.cause, langchain.url, langchain.model) == (
        llama_index.cause,
        llama_index.url,
        llama_index.model,
    )
    for error in errors:
        assert KEY not in str(error)
        assert KEY not in repr(error.__dict__)
    return errors


@CALLS
def test_a_local_server_without_v1_is_named_with_the_root_to_use(ask: Ask) -> None:
    error = _errors(FASTAPI_404, ask, base_url=LOCAL)[0]
    assert error.cause == "base_url"
    assert error.url == f"{LOCAL}/chat/completions"
    text = str(error)
    assert text.startswith(f"Not Found: POST {LOCAL}/chat/completions does not exist; ")
    assert f"base_url {LOCAL!r} lacks the path" in text
    assert f"{LOCAL + '/v1'!r}" in text
    assert text.endswith("(HTTP 404)")


@CALLS
def test_the_messages_protocol_against_an_openai_only_server_names_api(ask: Ask) -> None:
    error = _errors(FASTAPI_404, ask, base_url=f"{LOCAL}/v1", api="messages")[0]
    assert error.cause == "protocol"
    assert error.url == f"{LOCAL}/v1/messages"
    text = str(error)
    assert f"POST {LOCAL}/v1/messages does not exist" in text
    assert "may not serve the Anthropic-style Messages protocol (api='messages')" in text
    assert "use api='chat_completions'" in text


@CALLS
def test_a_model_the_server_does_not_serve_names_it_and_list_models(ask: Ask) -> None:
    reply = json_response(
        {"error": {"message": "The model `wrong-model` does not exist.", "code": 404}}, 404
    )
    error = _errors(reply, ask, base_url=f"{LOCAL}/v1")[0]
    assert (error.cause, error.model) == ("model", "wrong-model")
    assert str(error) == (
        "The model `wrong-model` does not exist: the model 'wrong-model' is not served at "
        f"{LOCAL}/v1 (POST {LOCAL}/v1/chat/completions); list the ids it serves with "
        "list_models() (GET /v1/models), or check the spelling (HTTP 404)"
    )


@CALLS
def test_modelslabs_model_not_found_inside_a_200_body(ask: Ask) -> None:
    reply = json_response({"status": "error", "message": "Model not found"})
    error = _errors(reply, ask, base_url=DEFAULT_BASE_URL)[0]
    assert (error.cause, error.model, error.status_code) == ("model", "wrong-model", 200)
    assert error.url == f"{DEFAULT_BASE_URL}/chat/completions"
    assert str(error).startswith("Model not found: the model 'wrong-model' is not served at ")
    assert "list_models()" in str(error)


@pytest.mark.parametrize("ask", [_stream, _astream], ids=["stream", "astream"])
def test_model_not_found_as_an_event_inside_a_stream(ask: Ask) -> None:
    reply = sse_response({"status": "error", "message": "Model not found"})
    error = _errors(reply, ask, base_url=DEFAULT_BASE_URL)[0]
    assert (error.cause, error.model) == ("model", "wrong-model")
    assert error.in_stream
    assert "list_models()" in str(error)


def test_modelslabs_404_at_its_own_root_points_at_the_model() -> None:
    error = _errors(FASTAPI_404, base_url=DEFAULT_BASE_URL)[0]
    assert error.cause == "model"
    assert "the model 'wrong-model' is not served at" in str(error)


def test_a_wrong_modelslab_root_names_the_documented_one() -> None:
    error = _errors(FASTAPI_404, base_url="https://modelslab.com/api/v6/llm")[0]
    assert error.cause == "base_url"
    assert f"ModelsLab's is {DEFAULT_BASE_URL!r}" in str(error)


def test_the_url_shown_never_carries_the_key() -> None:
    base_url = f"{LOCAL}/{KEY}/v1"  # a key pasted into the path is redacted like anywhere
    error = _errors(FASTAPI_404, base_url=base_url)[0]
    assert error.url == f"{LOCAL}/***/v1/chat/completions"


def test_the_model_list_missing_is_an_endpoint_not_found() -> None:
    errors = []
    for cls in (ChatModelsLab, ModelsLabLLM):
        server = ScriptedServer([FASTAPI_404])
        llm = cls(
            base_url=f"{LOCAL}/v1",
            api_key=KEY,
            max_retries=0,
            http_client=httpx2.Client(transport=httpx2.MockTransport(server)),
        )
        with pytest.raises(NotFoundError) as caught:
            llm.list_models()
        errors.append(caught.value)
    assert str(errors[0]) == str(errors[1])
    assert errors[0].cause == "endpoint"
    assert errors[0].model is None
    assert f"GET {LOCAL}/v1/models does not exist; the server lists no models there" in str(
        errors[0]
    )
