"""A 405 Method Not Allowed for the chat POST: the path exists but not for POST (a
``base_url`` that points at a web UI, a static site or a proxy's health route).

Like a 404 it means the request went to the wrong place, so the error should name the URL
it requested and ``base_url``, as "not found" errors do. Today it says only "Method Not
Allowed (HTTP 405)", in both frameworks.
"""

from __future__ import annotations

import httpx2
import pytest
from langchain_core.messages import HumanMessage

from modelslab_transport.errors import APIStatusError
from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer

NOT_ALLOWED = httpx2.Response(405, json={"detail": "Method Not Allowed"}, headers={"allow": "GET"})
REASON = "only 404s (NotFoundError) are described with the URL and base_url"


@pytest.mark.xfail(strict=True, reason=REASON)
@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_langchain_405_names_the_url_and_base_url(api: str) -> None:
    server = ScriptedServer([NOT_ALLOWED])
    model = chat_model(server, api=api, base_url="http://127.0.0.1:9/ui")
    with pytest.raises(APIStatusError, match=r"POST http://127\.0\.0\.1:9/ui/.*base_url"):
        model.invoke([HumanMessage("hi")])


@pytest.mark.xfail(strict=True, reason=REASON)
def test_llama_index_405_names_the_url_and_base_url() -> None:
    llm, _ = scripted_llm(NOT_ALLOWED, base_url="http://127.0.0.1:9/ui")
    with pytest.raises(APIStatusError, match=r"POST http://127\.0\.0\.1:9/ui/.*base_url"):
        llm.complete("hi")
