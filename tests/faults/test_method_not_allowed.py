"""A 405 Method Not Allowed for the chat POST: the path exists but not for POST (a
``base_url`` that points at a web UI, a static site or a proxy's health route).

Like a 404 it means the request went to the wrong place, so the error names the URL it
requested and ``base_url``, as "not found" errors do, in both frameworks; so does a web
page (HTML) answered instead of the API's JSON, with a 200 or a 4xx.
"""

from __future__ import annotations

import json
import re

import httpx2
import pytest
from langchain_core.messages import HumanMessage

from modelslab_transport.errors import APIStatusError, ModelsLabError
from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer
from tests.support.replies import completion_body

NOT_ALLOWED = httpx2.Response(405, json={"detail": "Method Not Allowed"}, headers={"allow": "GET"})


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_langchain_405_names_the_url_and_base_url(api: str) -> None:
    server = ScriptedServer([NOT_ALLOWED])
    model = chat_model(server, api=api, base_url="http://127.0.0.1:9/ui")
    with pytest.raises(APIStatusError, match=r"POST http://127\.0\.0\.1:9/ui/.*base_url"):
        model.invoke([HumanMessage("hi")])


def test_llama_index_405_names_the_url_and_base_url() -> None:
    llm, _ = scripted_llm(NOT_ALLOWED, base_url="http://127.0.0.1:9/ui")
    with pytest.raises(APIStatusError, match=r"POST http://127\.0\.0\.1:9/ui/.*base_url"):
        llm.complete("hi")


WEB_PAGE = "<!DOCTYPE html><html><head><title>Open WebUI</title></head><body></body></html>"


@pytest.mark.parametrize("status", [200, 404])
@pytest.mark.parametrize("stream", [False, True], ids=["invoke", "stream"])
@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_langchain_web_page_names_the_url_and_base_url(api: str, stream: bool, status: int) -> None:
    page = httpx2.Response(status, text=WEB_PAGE, headers={"content-type": "text/html"})
    model = chat_model(ScriptedServer([page]), api=api, base_url="http://127.0.0.1:9/ui")
    call = (lambda: list(model.stream("hi"))) if stream else (lambda: model.invoke("hi"))
    with pytest.raises(ModelsLabError) as caught:
        call()
    text = str(caught.value)
    assert re.search(r"POST http://127\.0\.0\.1:9/ui/\S+", text), text
    assert "base_url 'http://127.0.0.1:9/ui'" in text
    if status != 404:
        assert "web page (HTML)" in text


@pytest.mark.parametrize("status", [200, 201])
def test_llama_index_web_page_names_the_url_and_base_url(status: int) -> None:
    page = httpx2.Response(status, text=WEB_PAGE, headers={"content-type": "text/html"})
    llm, _ = scripted_llm(page, base_url="http://127.0.0.1:9/ui")
    with pytest.raises(ModelsLabError, match=r"POST http://127\.0\.0\.1:9/ui/.*web page.*base_url"):
        llm.complete("hi")


@pytest.mark.parametrize("status", [401, 403, 413, 429, 502])
def test_a_proxy_error_page_is_not_blamed_on_base_url(status: int) -> None:
    page = httpx2.Response(status, text=WEB_PAGE, headers={"content-type": "text/html"})
    llm, _ = scripted_llm(page, base_url="http://127.0.0.1:9/ui", max_retries=0)
    with pytest.raises(APIStatusError) as caught:
        llm.complete("hi")
    assert caught.value.hint is None
    assert "base_url" not in str(caught.value)


def test_json_sent_as_html_is_read_as_json() -> None:
    body = json.dumps(completion_body("fine"))
    reply = httpx2.Response(200, text=body, headers={"content-type": "text/html"})
    llm, _ = scripted_llm(reply)
    assert llm.complete("hi").text == "fine"


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_langchain_stream_405_names_the_url_base_url_and_the_allowed_method(api: str) -> None:
    model = chat_model(ScriptedServer([NOT_ALLOWED]), api=api, base_url="http://127.0.0.1:9/ui")
    with pytest.raises(APIStatusError) as caught:
        list(model.stream("hi"))
    assert caught.value.status_code == 405
    assert caught.value.url is not None
    assert caught.value.url.startswith("http://127.0.0.1:9/ui/")
    assert "(only GET is allowed there)" in str(caught.value)
    assert "base_url 'http://127.0.0.1:9/ui'" in str(caught.value)
