"""The API key never shows: not in reprs, dumps, callbacks, errors, logs or cassettes.

The fault scenarios (``test_fault_scenarios.py``) already check every error chain and
the DEBUG logs of each run; this module covers what the objects themselves expose, an
echoed key that lands where the transport truncates server text, the transport-level
warning about plain-http base URLs, and the cassettes.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.load import dumpd, dumps
from llama_index.core.bridge.pydantic import Field
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index_instrumentation import get_dispatcher

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import (
    DEFAULT_BASE_URL,
    APIStatusError,
    InsecureBaseURLWarning,
    InvalidResponseError,
    ServerError,
)
from tests.faults.drivers import (
    ALL_DRIVERS,
    FAKE_KEY,
    Driver,
    Framework,
    assert_typed_error,
    make_model,
)
from tests.faults.leaks import assert_no_key, exception_texts
from tests.support.fault_server import FaultServer, json_reply, sse_reply, text_reply
from tests.support.loopback import LoopbackConnection, LoopbackRequest
from tests.support.replies import chunk, completion_body

REPO_ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = pytest.mark.parametrize("framework", ["langchain", "llama_index"])


def _exposed_texts(llm: Any) -> list[str]:
    """Everything a user can print or serialise from a configured model."""
    texts = [repr(llm), str(llm), f"{llm!r:>10}"]
    if isinstance(llm, ChatModelsLab):
        texts += [dumps(llm), json.dumps(dumpd(llm)), str(llm.asdict()), repr(llm.model_dump())]
        texts += [repr(llm.client), repr(llm.client.sync_client), repr(llm.client.async_client)]
        texts.append(repr(llm.client.sync_client.settings))
        texts += [json.dumps(llm._identifying_params, default=str)]
    else:
        texts += [llm.to_json(), json.dumps(llm.to_dict(), default=str), repr(llm.to_dict())]
        texts += [json.dumps(llm.to_payload(), default=str), llm.model_dump_json()]
        texts += [repr(llm.metadata)]
    return texts


@FRAMEWORKS
def test_the_key_is_in_no_repr_str_or_dump(framework: Framework) -> None:
    llm = make_model(framework, "https://modelslab.com/api/v7/llm")
    assert_no_key(_exposed_texts(llm), f"{type(llm).__name__}'s repr/str/dumps")
    assert llm.api_key.get_secret_value() == FAKE_KEY  # the key is there, only hidden


@FRAMEWORKS
def test_the_key_stays_hidden_after_use(framework: Framework) -> None:
    with FaultServer(json_reply(completion_body("ok"))) as server:
        llm = make_model(framework, server.base_url)
        if framework == "langchain":
            assert llm.invoke("hi").content == "ok"
        else:
            assert llm.complete("hi").text == "ok"
        texts = _exposed_texts(llm)
        llm.close()
        assert server.requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert_no_key(texts, f"{type(llm).__name__} after a call")


class _LangChainRecorder(BaseCallbackHandler):
    """Keeps everything LangChain hands to a callback handler, as text."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.seen.append(json.dumps([serialized, kwargs], default=repr))

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.seen.append(repr(response) + json.dumps(kwargs, default=repr))

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen.append(repr(error) + json.dumps(kwargs, default=repr))


class _LlamaIndexRecorder(BaseEventHandler):
    """Keeps every LlamaIndex instrumentation event, as text."""

    seen: list[str] = Field(default_factory=list)

    @classmethod
    def class_name(cls) -> str:
        return "FaultsRecorder"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.seen.append(repr(event) + json.dumps(event.dict(), default=repr))


def test_the_key_is_not_in_langchain_callbacks() -> None:
    recorder = _LangChainRecorder()
    failing = json_reply({"status": "error", "message": "Provider returned error"})
    with FaultServer(json_reply(completion_body("ok")), failing) as server:
        llm = make_model("langchain", server.base_url)
        llm.invoke("hi", config={"callbacks": [recorder]})
        with pytest.raises(APIStatusError):
            llm.invoke("hi", config={"callbacks": [recorder]})
        llm.close()
    assert len(recorder.seen) == 4
    assert_no_key(recorder.seen, "LangChain callback arguments")


def test_the_key_is_not_in_llama_index_events() -> None:
    recorder = _LlamaIndexRecorder()
    dispatcher = get_dispatcher("llama_index_modelslab.base")
    root = dispatcher.root
    root.add_event_handler(recorder)
    try:
        failing = json_reply({"status": "error", "message": "Provider returned error"})
        with FaultServer(json_reply(completion_body("ok")), failing) as server:
            llm = make_model("llama_index", server.base_url)
            assert llm.complete("hi").text == "ok"
            with pytest.raises(APIStatusError):
                llm.complete("hi")
            llm.close()
    finally:
        root.event_handlers.remove(recorder)
    assert len(recorder.seen) >= 4
    assert_no_key(recorder.seen, "LlamaIndex instrumentation events")


# --------------------------------------------------- echoed keys, truncated text

# The transport quotes at most 200 characters of a body it cannot use, and keeps at
# most 2,000 characters of a non-JSON error body. A key the server echoes across those
# cut points must not survive in part. The paddings put the key's secret part about 15
# characters before the cut ("Bearer sk-faults-" and the markup come first).
_BEFORE_CUT = 167
_BEFORE_BODY_CUT = 1953


def _padding(before_key: int) -> str:
    return "p" * before_key


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
def test_key_echoed_across_a_quoted_snippet_is_not_cut_in_half(driver: Driver) -> None:
    # A garbled body (or chunk) quoting the key where the 200-character snippet ends.
    body = "{" + _padding(_BEFORE_CUT) + "{auth} and more"

    def garbled_chunk(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        event = "data: " + body.replace("{auth}", request.headers["authorization"]) + "\n\n"
        return sse_reply(chunk("a"), event, chunk(finish_reason="stop"))(conn, request)

    garbled_body = text_reply(body, 200, "application/json", echo_key=True)
    behaviour = garbled_chunk if driver.streaming else garbled_body
    with FaultServer(behaviour) as server:
        outcome = driver.run(server.base_url)
    assert_typed_error(driver, outcome, InvalidResponseError)
    assert outcome.error is not None
    assert_no_key(exception_texts(outcome.error), "a quoted snippet of a garbled reply")


@pytest.mark.parametrize("driver", ALL_DRIVERS, ids=repr)
@pytest.mark.parametrize(
    "before_key", [_BEFORE_CUT, _BEFORE_BODY_CUT], ids=["snippet-cut", "body-cut"]
)
def test_key_echoed_across_a_truncated_error_page_is_not_cut_in_half(
    driver: Driver, before_key: int
) -> None:
    page = "<html><body><p>" + _padding(before_key) + "{auth} rest of the page</p></body></html>"
    with FaultServer(text_reply(page, 502, echo_key=True)) as server:
        outcome = driver.run(server.base_url, max_retries=0)
    error = assert_typed_error(driver, outcome, ServerError)
    assert isinstance(error, ServerError)
    assert_no_key(exception_texts(error), "a truncated proxy error page")


@pytest.mark.parametrize("driver", [d for d in ALL_DRIVERS if d.streaming], ids=repr)
def test_key_echoed_across_an_error_event_snippet_is_not_cut_in_half(driver: Driver) -> None:
    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        text = _padding(_BEFORE_CUT) + request.headers["authorization"] + " failed"
        return sse_reply(chunk("a"), f"event: error\ndata: {text}\n\n")(conn, request)

    with FaultServer(behaviour) as server:
        outcome = driver.run(server.base_url)
    assert outcome.error is not None
    assert_no_key(exception_texts(outcome.error), "an error event's snippet")


# ------------------------------------------------------------ base URL checks


@FRAMEWORKS
def test_the_default_base_url_is_https(framework: Framework) -> None:
    llm = make_model(framework, DEFAULT_BASE_URL)
    default = ChatModelsLab() if framework == "langchain" else ModelsLabLLM()
    assert default.base_url == DEFAULT_BASE_URL == llm.base_url
    assert default.base_url.startswith("https://")


def _insecure_warnings(build: Any) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build()
    return [w for w in caught if issubclass(w.category, InsecureBaseURLWarning)]


def test_chat_models_lab_warns_about_plain_http_to_a_remote_host() -> None:
    # The options are checked once, when the model is built (as ModelsLabLLM does);
    # building the clients later warns no second time.
    built: list[ChatModelsLab] = []
    warned = _insecure_warnings(
        lambda: built.append(
            ChatModelsLab(api_key=FAKE_KEY, base_url="http://llm.example.com/api/v7/llm")
        )
    )
    assert len(warned) == 1
    assert "unencrypted" in str(warned[0].message)
    assert (
        _insecure_warnings(lambda: (built[0].client.sync_client, built[0].client.async_client))
        == []
    )


def test_modelslab_llm_warns_about_plain_http_to_a_remote_host() -> None:
    warned = _insecure_warnings(
        lambda: ModelsLabLLM(api_key=FAKE_KEY, base_url="http://llm.example.com/api/v7/llm")
    )
    assert len(warned) == 1
    assert "unencrypted" in str(warned[0].message)


@pytest.mark.parametrize(
    "base_url",
    ["http://127.0.0.1:8080/v1", "http://localhost:8080", "http://[::1]:9/x", DEFAULT_BASE_URL],
)
def test_no_warning_for_https_or_loopback(base_url: str) -> None:
    def build() -> None:
        ChatModelsLab(api_key=FAKE_KEY, base_url=base_url).client.sync_client  # noqa: B018
        ModelsLabLLM(api_key=FAKE_KEY, base_url=base_url)

    assert _insecure_warnings(build) == []


# ------------------------------------------------------------------ cassettes


def test_the_fault_suite_key_is_in_no_cassette() -> None:
    # Only this suite's fake key: the general scan for recording keys lives with the
    # cassette tests (tests/test_cassettes.py).
    leaks = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "cassettes").rglob("*")
        if path.is_file() and FAKE_KEY[10:26] in path.read_text(errors="replace")
    ]
    assert leaks == []


def test_async_paths_build_no_client_with_the_key_in_view() -> None:
    async def use() -> list[str]:
        with FaultServer(json_reply(completion_body("ok"))) as server:
            lc = make_model("langchain", server.base_url)
            li = make_model("llama_index", server.base_url)
            assert (await lc.ainvoke("hi")).content == "ok"
            assert (await li.acomplete("hi")).text == "ok"
            texts = _exposed_texts(lc) + _exposed_texts(li)
            await lc.aclose()
            await li.aclose()
            return texts

    assert_no_key(asyncio.run(use()), "either class after an async call")
