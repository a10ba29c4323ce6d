"""Both framework classes configure, build and send through one ``ModelsLab`` object.

Each test here is a way the two classes could drift apart, or something callers pass
that the core handles once, checked through both public classes
against a loopback server.
"""

from __future__ import annotations

import asyncio
import copy
import json
import pickle
import re
import subprocess
import threading
import warnings
from pathlib import Path
from typing import Any

import httpx2
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, trim_messages
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms.function_calling import FunctionCallingLLM

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import ModelsLab, ModelsLabError
from modelslab_transport.config.connection import InsecureBaseURLWarning
from modelslab_transport.config.defaults import DEFAULT_STREAM_CHUNK_TIMEOUT, DEFAULT_TIMEOUT
from modelslab_transport.config.options import request_param_refusal
from tests.faults.drivers import FAKE_KEY, Framework, bounded, make_model
from tests.support.fault_server import FaultServer, json_reply
from tests.support.loopback import LoopbackConnection, LoopbackRequest
from tests.support.mock_api import ScriptedServer
from tests.support.replies import chunk, completion_body, json_response

FRAMEWORKS = pytest.mark.parametrize("framework", ["langchain", "llama_index"])
REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("modelslab_transport", "langchain_modelslab", "llama_index_modelslab")
BRANCHING = r'api == \|api != \|== "messages"\|== "chat_completions"\|api in ('
_LI_PROMPT = [ChatMessage(role=MessageRole.USER, content="Hi")]


def _ask(llm: Any, **kwargs: Any) -> str:
    if isinstance(llm, ChatModelsLab):
        return str(llm.invoke("Hi", **kwargs).content)
    return str(llm.chat(_LI_PROMPT, **kwargs).message.content)


async def _aask(llm: Any, **kwargs: Any) -> str:
    if isinstance(llm, ChatModelsLab):
        return str((await llm.ainvoke("Hi", **kwargs)).content)
    return str((await llm.achat(_LI_PROMPT, **kwargs)).message.content)


def _call(llm: Any, use_async: bool, **kwargs: Any) -> str:
    return asyncio.run(_aask(llm, **kwargs)) if use_async else _ask(llm, **kwargs)


def _answer(text: str, *, pause: float = 0.0) -> Any:
    """Answer a stream with SSE chunks and anything else with a whole completion."""

    def behaviour(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        if pause:
            conn.wait(pause)
        body = json.loads(request.body or b"{}")
        if body.get("stream"):
            conn.send_sse_headers()
            for event in (chunk(text), chunk(finish_reason="stop")):
                conn.send_chunk(f"data: {json.dumps(event)}\n\n".encode())
            conn.send_chunk(b"data: [DONE]\n\n")
            conn.end_chunks()
            return True
        return json_reply(completion_body(text))(conn, request)

    return behaviour


def _bodies(server: FaultServer) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in server.requests if request.body]


# ------------------------------------------------------------ the same options


@FRAMEWORKS
def test_timeouts_mean_the_same_in_both_classes(framework: Framework) -> None:
    cls = ChatModelsLab if framework == "langchain" else ModelsLabLLM
    settings = cls(api_key=FAKE_KEY).client.sync_client.settings
    assert settings.request_timeout().read == DEFAULT_TIMEOUT
    assert settings.stream_request_timeout().read == DEFAULT_STREAM_CHUNK_TIMEOUT
    # None is no limit at all, in both classes.
    unlimited = cls(api_key=FAKE_KEY, timeout=None, stream_chunk_timeout=None)
    settings = unlimited.client.sync_client.settings
    assert settings.request_timeout().read is None
    assert settings.stream_request_timeout().read is None


@FRAMEWORKS
def test_base_url_changed_after_the_first_call_is_honoured(framework: Framework) -> None:
    with FaultServer(_answer("first")) as first, FaultServer(_answer("second")) as second:
        llm = make_model(framework, first.base_url)
        assert bounded("first call", lambda: _ask(llm)) == "first"
        llm.base_url = second.base_url
        assert bounded("after the change", lambda: _ask(llm)) == "second"
        assert asyncio.run(_aask(llm)) == "second"
        assert (first.request_count, second.request_count) == (1, 2)


@FRAMEWORKS
def test_a_settings_change_under_sixteen_threads_closes_nothing_in_flight(
    framework: Framework,
) -> None:
    with FaultServer(_answer("ok", pause=0.01)) as server:
        llm = make_model(framework, server.base_url, max_retries=0)
        answers: list[str] = []
        failures: list[BaseException] = []
        lock = threading.Lock()

        def caller() -> None:
            for _ in range(6):
                try:
                    text = _ask(llm)
                except BaseException as exc:  # collected and asserted below
                    with lock:
                        failures.append(exc)
                else:
                    with lock:
                        answers.append(text)

        threads = [threading.Thread(target=caller, daemon=True) for _ in range(16)]
        for thread in threads:
            thread.start()
        for step in range(40):  # swap the clients again and again while calls run
            llm.timeout = 20.0 + step % 2
            threading.Event().wait(0.005)
        for thread in threads:
            thread.join(30)
        assert not any(thread.is_alive() for thread in threads), "calls hung"
        assert failures == []
        assert answers == ["ok"] * 96
        assert llm.client.sync_client.settings.timeout == 20.0 + 39 % 2


@FRAMEWORKS
def test_a_used_model_pickles_and_deep_copies(framework: Framework) -> None:
    with FaultServer(_answer("again")) as server:
        llm = make_model(framework, server.base_url)
        assert _ask(llm) == "again"
        assert asyncio.run(_aask(llm)) == "again"
        for copied in (pickle.loads(pickle.dumps(llm)), copy.deepcopy(llm)):
            assert copied.client is not llm.client
            assert copied.client.options == llm.client.options
            assert bounded("copy", lambda copied=copied: _ask(copied)) == "again"
        assert _ask(llm) == "again"  # the original keeps working


@FRAMEWORKS
@pytest.mark.parametrize("how", ["model_copy", "copy.copy"])
def test_a_copy_of_a_used_model_calls_with_its_own_settings(framework: Framework, how: str) -> None:
    # A shallow copy shares the original's private attributes, but never its ModelsLab
    # object: the original's calls keep the original's settings while the copy is in use.
    with FaultServer(_answer("first")) as first, FaultServer(_answer("second")) as second:
        original = make_model(framework, first.base_url)
        assert _ask(original) == "first"
        if how == "model_copy":
            copied = original.model_copy(update={"base_url": second.base_url})
        else:
            copied = copy.copy(original)
            copied.base_url = second.base_url
        assert copied.client is not original.client
        answers = []
        for _ in range(2):  # interleaved, sync and async
            answers += [_ask(copied), _ask(original), _call(copied, True), _call(original, True)]
        assert answers == ["second", "first"] * 4
        copied.close()  # closes the copy's own connections only
        assert _ask(original) == "first"
        assert (first.request_count, second.request_count) == (6, 4)


# --------------------------------------------------------------- what callers pass


@FRAMEWORKS
@pytest.mark.parametrize("stream", [False, True])
def test_a_per_call_stream_argument_does_not_collide(framework: Framework, stream: bool) -> None:
    with FaultServer(_answer("hello")) as server:
        llm = make_model(framework, server.base_url)
        assert _ask(llm, stream=stream) == "hello"
        assert asyncio.run(_aask(llm, stream=stream)) == "hello"
        if framework == "llama_index":  # the call kind decides; the argument is not sent
            assert [body.get("stream") for body in _bodies(server)] == [None, None]
        else:  # LangChain's own reading of stream= picks the call
            assert [bool(body.get("stream")) for body in _bodies(server)] == [stream, stream]


def _ask_with(llm: Any, history: list[tuple[str, str]]) -> str:
    if isinstance(llm, ChatModelsLab):
        return str(llm.invoke(history).content)
    return str(llm.chat([ChatMessage(role=role, content=text) for role, text in history]).message)


@FRAMEWORKS
@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_no_messages_or_only_system_ones_are_said_before_sending(
    framework: Framework, api: str
) -> None:
    with FaultServer(_answer("brief")) as server:
        llm = make_model(framework, server.base_url, api=api)
        with pytest.raises(ValueError, match="there are no messages to send"):
            _ask_with(llm, [])
        only_system = [("system", "Be brief."), ("system", "Use French.")]
        if api == "messages":
            with pytest.raises(ValueError, match=r"api='messages' needs a user turn, and these 2"):
                _ask_with(llm, only_system)
            assert server.request_count == 0
        else:  # chat completions carry it, joined into one system message
            assert "brief" in _ask_with(llm, only_system)
            (body,) = _bodies(server)
            assert body["messages"] == [{"role": "system", "content": "Be brief.\n\nUse French."}]


# A system-only list is counted as that text in the one user turn the endpoint needs.
_USER_BRIEF = {"role": "user", "content": [{"type": "text", "text": "Be brief."}]}


def _count_reply(tokens: int) -> Any:
    return json_reply({"input_tokens": tokens})


def test_langchain_counts_any_list_it_may_be_given() -> None:
    with FaultServer(_count_reply(7)) as server:
        llm = make_model("langchain", server.base_url)
        assert llm.get_num_tokens_from_messages([]) == 0
        assert asyncio.run(llm.aget_num_tokens_from_messages([])) == 0
        assert server.request_count == 0  # nothing to count, nothing sent
        assert llm.get_num_tokens_from_messages([SystemMessage("Be brief.")]) == 7
        (body,) = _bodies(server)
        assert body["messages"] == [_USER_BRIEF]
        assert llm.get_num_tokens("hello there") == 7  # no transformers needed
        history = [SystemMessage("Be brief."), HumanMessage("a"), AIMessage("b"), HumanMessage("c")]
        trimmed = trim_messages(
            history, token_counter=llm, include_system=True, strategy="last", max_tokens=7
        )
        assert trimmed[0] == history[0]
        assert all(
            request.path.endswith("/v1/messages/count_tokens") for request in server.requests
        )


def test_llama_index_counts_any_list_it_may_be_given() -> None:
    with FaultServer(_count_reply(5)) as server:
        llm = make_model("llama_index", server.base_url)
        assert llm.count_tokens([]) == 0
        assert llm.count_tokens("") == 0
        assert asyncio.run(llm.acount_tokens([])) == 0
        assert server.request_count == 0
        system_only = [ChatMessage(role=MessageRole.SYSTEM, content="Be brief.")]
        assert llm.count_tokens(system_only) == 5
        assert asyncio.run(llm.acount_tokens(system_only)) == 5
        assert _bodies(server)[0]["messages"] == [_USER_BRIEF]


def test_extra_body_is_merged_into_the_langchain_body() -> None:
    with FaultServer(_answer("ok")) as server:
        llm = make_model("langchain", server.base_url, extra_body={"top_k": 5})
        llm.invoke("Hi")
        llm.bind(extra_body={"min_p": 0.1}).invoke("Hi")
        llm.invoke("Hi", extra_body={"repetition_penalty": 1.1})
        asyncio.run(llm.ainvoke("Hi", extra_body={"top_k": 9}))
        bodies = _bodies(server)
        assert all("extra_body" not in body for body in bodies)
        assert [body["top_k"] for body in bodies] == [5, 5, 5, 9]
        assert bodies[1]["min_p"] == 0.1
        assert bodies[2]["repetition_penalty"] == 1.1


def test_extra_body_is_merged_into_the_llama_index_body() -> None:
    with FaultServer(_answer("ok")) as server:
        llm = make_model(
            "llama_index", server.base_url, additional_kwargs={"extra_body": {"top_k": 5}}
        )
        llm.chat(_LI_PROMPT)
        llm.chat(_LI_PROMPT, extra_body={"top_k": 7, "min_p": 0.2})
        list(llm.stream_chat(_LI_PROMPT))
        bodies = _bodies(server)
        assert all("extra_body" not in body for body in bodies)
        assert [body["top_k"] for body in bodies] == [5, 7, 5]
        assert bodies[1]["min_p"] == 0.2


@FRAMEWORKS
def test_extra_body_must_be_a_mapping(framework: Framework) -> None:
    llm = make_model(framework, "http://127.0.0.1:9")
    with pytest.raises(TypeError, match="extra_body must be a mapping"):
        _ask(llm, extra_body=["top_k", 5])


# ------------------------------------------------------------------ configuration


def test_chat_models_lab_misspelt_argument_warns_with_a_suggestion() -> None:
    with pytest.warns(
        UserWarning, match=r"'modle' is not a ChatModelsLab field \(did you mean 'model'\?\)"
    ) as caught:
        ChatModelsLab(modle="x")
    assert caught[0].filename == __file__


@pytest.mark.parametrize(
    ("argument", "suggestion"), [("modle", "model"), ("temprature", "temperature")]
)
def test_modelslab_llm_misspelt_argument_raises_with_a_suggestion(
    argument: str, suggestion: str
) -> None:
    with pytest.raises(
        ValueError,
        match=rf"'{argument}' is not a ModelsLabLLM argument \(did you mean '{suggestion}'\?\)",
    ):
        ModelsLabLLM(**{argument: 0.2})


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "connect_timeout",
            3,
            "is a connection setting, not a request parameter: the models take it inside "
            "timeout: timeout=httpx2.Timeout(300, connect=30)",
        ),
        (
            "anthropic_version",
            "2023-06-01",
            "is a connection setting, not a request parameter: the models send the "
            "anthropic-version header to /v1/messages; to send another version, set the header "
            "on the model: default_headers={'anthropic-version': '...'}",
        ),
    ],
)
def test_a_connection_setting_given_to_a_constructor_is_refused_at_once(
    cls: type[Any], name: str, value: Any, message: str
) -> None:
    """Refused naming the constructor, with no advice (model_kwargs, additional_kwargs)
    that would be refused in turn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "pass it in model_kwargs" warning first
        with pytest.raises(ValueError, match=re.escape(message)) as caught:
            cls(base_url="http://127.0.0.1:9", **{name: value})
    text = str(caught.value)
    assert f"'{name}' in {cls.__name__}'s arguments" in text
    assert "model_kwargs to silence" not in text
    assert "go in additional_kwargs" not in text


_CANDIDATES = {
    "connect_timeout": 3,
    "anthropic_version": "2023-06-01",
    "request_timeout": 3,
    "model_name": "m",
    "api": "messages",
    "streaming": True,
    "split_think_tags": False,
    "model_kwargs": {"top_k": 5},
    "additional_kwargs": {"top_k": 5},
    "http_async_client": None,
    "async_http_client": None,
    "structured_output_method": "json_schema",
    "context_window": 8192,
    "is_function_calling_model": True,
    "token": "t-0123456789",
    "top_k": 5,
    "repetition_penalty": 1.1,
    "modle": "m",
}
"""Arguments a user may give either class: settings of the other class, other libraries'
names, credentials, and request parameters ModelsLab takes beyond OpenAI's."""

_OTHER_NAMES = {"model_name", "request_timeout"}  # ChatModelsLab takes them as its fields


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])
def test_a_constructors_advice_is_never_refused_in_turn(cls: type[Any]) -> None:
    """Whatever an unknown constructor argument's message or warning advises (model_kwargs,
    additional_kwargs) is accepted; what would be refused there is refused at once."""
    if cls is ChatModelsLab:
        cls.model_rebuild()  # its schema is built on first use
    advised, refused = [], []
    for name, value in _CANDIDATES.items():
        if name in cls.model_fields or (cls is ChatModelsLab and name in _OTHER_NAMES):
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                cls(base_url="http://127.0.0.1:9", **{name: value})
                refusal = ""
            except ValueError as exc:
                refusal = str(exc)
        advice = " ".join([refusal, *(str(warning.message) for warning in caught)])
        if refusal:
            assert cls.__name__ in refusal, refusal  # names where it was given
            refused.append(name)
        if "in model_kwargs" in advice and "not in model_kwargs" not in advice:
            ChatModelsLab(base_url="http://127.0.0.1:9", model_kwargs={name: value})
            advised.append(name)
        if "go in additional_kwargs" in advice:
            ModelsLabLLM(base_url="http://127.0.0.1:9", additional_kwargs={name: value})
            advised.append(name)
    assert {"connect_timeout", "anthropic_version", "token"} <= set(refused)
    assert {"top_k", "repetition_penalty", "modle"} <= set(advised)


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_another_anthropic_version_is_sent_through_default_headers(
    cls: type[Any], use_async: bool
) -> None:
    """What the anthropic_version refusal advises: the header arrives, once, as given."""
    reply = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "fault-model",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }
    api = ScriptedServer([json_response(reply)])
    transport = httpx2.MockTransport(api)
    async_client = "http_async_client" if cls is ChatModelsLab else "async_http_client"
    llm = cls(
        model="fault-model",
        api_key=FAKE_KEY,
        base_url="http://127.0.0.1:9",
        api="messages",
        default_headers={"anthropic-version": "2099-01-01"},
        http_client=httpx2.Client(transport=transport),
        **{async_client: httpx2.AsyncClient(transport=transport)},
    )
    assert _call(llm, use_async) == "ok"
    (request,) = api.requests
    assert request.url.path.endswith("/v1/messages")
    assert request.headers.get_list("anthropic-version") == ["2099-01-01"]


@FRAMEWORKS
@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("messages", "would replace the conversation the call sends"),
        ("stream", "is decided by the call made"),
    ],
)
def test_body_fields_a_call_sets_itself_are_refused_wherever_given(
    framework: Framework, name: str, said: str
) -> None:
    """extra_body puts any field in the body, except the two every call sets: 'messages'
    crashed with a raw TypeError and 'stream' was dropped without a word."""
    value: Any = [] if name == "messages" else True
    given: list[tuple[dict[str, Any], str]] = (
        [  # ChatModelsLab's extra_body is a field of its own
            ({"extra_body": {name: value}}, "extra_body"),
            ({"model_kwargs": {name: value}}, "model_kwargs / additional_kwargs"),
        ]
        if framework == "langchain"
        else [
            ({"additional_kwargs": {"extra_body": {name: value}}}, "extra_body"),
            ({"additional_kwargs": {name: value}}, "model_kwargs / additional_kwargs"),
        ]
    )
    for kwargs, where in given:
        with pytest.raises(ValueError, match=re.escape(f"{name!r} in {where} {said}")):
            make_model(framework, "http://127.0.0.1:9", **kwargs)
    llm = make_model(framework, "http://127.0.0.1:9", max_retries=0)
    with pytest.raises(ValueError, match=re.escape(f"{name!r} in extra_body {said}")) as caught:
        _ask(llm, extra_body={name: value})
    assert not isinstance(caught.value, ModelsLabError)  # refused before sending


def test_every_range_the_wire_request_declares_is_checked_when_a_model_is_built() -> None:
    """Every bound the wire model holds is in the options too: a model built with a value
    out of range is refused at once, not at its first call as a raw pydantic error."""
    from annotated_types import Ge, Le

    from modelslab_transport.config.options import _RANGES
    from modelslab_transport.wire import ChatCompletionRequest

    declared = {}
    for name, field in ChatCompletionRequest.model_fields.items():
        low = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
        high = next((m.le for m in field.metadata if isinstance(m, Le)), None)
        if low is not None or high is not None:
            declared[name] = (low, high)
    assert declared == {name: (low, high) for name, (low, high, _) in _RANGES.items()}
    with pytest.raises(ValueError, match="top_logprobs must be 0 to 20, got 21"):
        ChatModelsLab(api_key=FAKE_KEY, logprobs=True, top_logprobs=21)
    with pytest.raises(ValueError, match="top_logprobs must be 0 to 20, got 21"):
        ModelsLabLLM(api_key=FAKE_KEY, additional_kwargs={"top_logprobs": 21})


@FRAMEWORKS
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", 3, "temperature must be 0 to 2, got 3"),
        ("temperature", -0.5, "temperature must be 0 to 2"),
        ("temperature", float("nan"), "temperature must be 0 to 2, got nan"),
        ("temperature", float("inf"), "temperature must be 0 to 2, got inf"),
        ("max_tokens", 0, "max_tokens must be at least 1, got 0"),
        ("max_retries", -1, "max_retries"),
        ("timeout", 0, "timeouts must be positive seconds or None"),
        ("stream_chunk_timeout", -1, "timeouts must be positive seconds or None"),
    ],
)
def test_both_classes_refuse_the_same_values(
    framework: Framework, field: str, value: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_model(framework, "http://127.0.0.1:9", **{field: value})


@FRAMEWORKS
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", 3, "temperature must be 0 to 2, got 3"),
        ("temperature", float("nan"), "temperature must be 0 to 2, got nan"),
        ("top_p", float("inf"), "top_p must be 0 to 1, got inf"),
        ("frequency_penalty", float("-inf"), "frequency_penalty must be -2 to 2, got -inf"),
        ("presence_penalty", float("nan"), "presence_penalty must be -2 to 2, got nan"),
        ("max_tokens", 0, "max_tokens must be at least 1, got 0"),
        ("top_logprobs", 21, "top_logprobs must be 0 to 20, got 21"),
    ],
)
def test_a_calls_own_value_is_checked_as_the_options_are(
    framework: Framework, field: str, value: Any, message: str
) -> None:
    """Per-call keyword arguments get the same message as the model's fields, before sending."""
    llm = make_model(framework, "http://127.0.0.1:9", max_retries=0)
    with pytest.raises(ValueError, match=message) as caught:
        _ask(llm, **{field: value})
    assert not isinstance(caught.value, ModelsLabError)  # refused here: nothing was sent


@FRAMEWORKS
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", "0.5", "temperature must be a number, got str '0.5'"),
        ("top_p", True, "top_p must be a number, got bool True"),
        ("api_key", "sk-other-key-123456", "'api_key' in a call's arguments names a credential"),
        ("openai_api_key", "sk-other-key-123456", "'openai_api_key' in a call's arguments names"),
        ("Token", "t-123456789", "'Token' in a call's arguments names a credential"),
        ("timeout", 5, "'timeout' in a call's arguments is a setting of the model"),
        ("base_url", "http://elsewhere", "'base_url' in a call's arguments is a setting"),
        ("max_retries", 7, "'max_retries' in a call's arguments is a setting of the model"),
        ("default_headers", {"X-A": "b"}, "'default_headers' in a call's arguments is a setting"),
        ("queue_timeout", 5, "'queue_timeout' in a call's arguments is a setting of the model"),
        ("connect_timeout", 5, "timeout=httpx2.Timeout(300, connect=30) times each phase"),
        ("anthropic_version", "2023-06-01", "default_headers={'anthropic-version': '...'}"),
        (
            "request_timeout",
            3,
            "'request_timeout' in a call's arguments is ChatOpenAI's name for timeout, a "
            "setting of the model, not a request parameter: set timeout=... (seconds) on the "
            "model",
        ),
        (
            "api",
            "messages",
            "'api' in a call's arguments is the protocol, a setting of the model, not a "
            "request parameter: set it on the model (ChatModelsLab(api='messages') / "
            "ModelsLabLLM(api='messages'))",
        ),
        ("split_think_tags", False, "'split_think_tags' in a call's arguments is a setting"),
        ("legacy_auth", True, "'legacy_auth' in a call's arguments is a setting of the model"),
        ("streaming", True, "stream with stream() / astream()"),
        ("model_kwargs", {"top_k": 5}, "pass the parameters themselves, as keyword arguments"),
        ("additional_kwargs", {"top_k": 5}, "pass the parameters themselves, as keyword"),
        ("http_client", object(), "ChatModelsLab(http_client=..., http_async_client=...)"),
        ("async_http_client", object(), "ModelsLabLLM(http_client=..., async_http_client="),
        ("structured_output_method", "json_schema", "pass it in structured_predict's llm_kw"),
        ("context_window", 8192, "ModelsLabLLM's setting for its metadata (tokens)"),
        ("is_function_calling_model", True, "ModelsLabLLM's setting for its metadata"),
    ],
)
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_calls_own_settings_or_credentials_are_refused_before_sending(
    framework: Framework, field: str, value: Any, message: str, use_async: bool
) -> None:
    """A call's keyword arguments go into the body: a setting there would do nothing, a key
    would travel in it. Refused, naming the argument and never its value."""
    llm = make_model(framework, "http://127.0.0.1:9", max_retries=0)
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        _call(llm, use_async, **{field: value})
    assert not isinstance(caught.value, ModelsLabError)  # nothing was sent
    if isinstance(value, str) and field not in ("temperature", "api"):  # api: named in advice
        assert value not in str(caught.value)


# Request parameters and per-call options of the same names as model fields.
_PER_CALL_NAMES = {
    "model",
    "max_tokens",
    "temperature",
    "top_p",
    "stop",
    "n",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "logprobs",
    "top_logprobs",
    "stream_usage",
    "extra_body",
}


@pytest.mark.parametrize(
    ("cls", "base"), [(ChatModelsLab, BaseChatModel), (ModelsLabLLM, FunctionCallingLLM)]
)
def test_every_setting_of_the_classes_is_refused_per_call(cls: type[Any], base: type[Any]) -> None:
    """A field the class adds that is not a request parameter would be sent, and ignored,
    if a call passed it: each is refused with a message of its own or the generic one."""
    if isinstance(cls, type) and issubclass(cls, ChatModelsLab):
        cls.model_rebuild()  # its schema is built on first use
    settings = set(cls.model_fields) - set(base.model_fields) - _PER_CALL_NAMES
    assert {"api", "timeout", "split_think_tags", "http_client"} <= settings
    unrefused = sorted(name for name in settings if request_param_refusal(name, "x") is None)
    assert unrefused == []


@FRAMEWORKS
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_calls_request_parameters_are_sent(framework: Framework, use_async: bool) -> None:
    """Real request parameters (and unknown ones) given to a call reach the body as given."""
    params: dict[str, Any] = {
        "model": "other-model",
        "max_tokens": 9,
        "temperature": 0.3,
        "top_p": 0.5,
        "stop": ["END"],
        "seed": 7,
        "logprobs": True,
        "response_format": {"type": "json_object"},
        "user": "u-1",
        "top_k": 5,
    }
    with FaultServer(_answer("ok")) as server:
        llm = make_model(framework, server.base_url)
        assert _call(llm, use_async, **params) == "ok"
        (body,) = _bodies(server)
    assert {name: body.get(name) for name in params} == params


@pytest.mark.parametrize(
    ("cls", "field"), [(ChatModelsLab, "model_kwargs"), (ModelsLabLLM, "additional_kwargs")]
)
@pytest.mark.parametrize("name", ["api_key", "secret", "stream_timeout"])
def test_request_parameters_given_at_construction_are_checked_alike(
    cls: type[Any], field: str, name: str
) -> None:
    with pytest.raises(ValueError, match=rf"'{name}'") as caught:
        cls(base_url="http://127.0.0.1:9", **{field: {name: "sk-hidden-value-123"}})
    assert "sk-hidden-value-123" not in str(caught.value)


@FRAMEWORKS
def test_both_classes_refuse_what_the_protocol_cannot_carry(framework: Framework) -> None:
    with pytest.raises(ValueError, match=r"temperature 1\.5 is above 1"):
        make_model(framework, "http://127.0.0.1:9", api="messages", temperature=1.5)


@FRAMEWORKS
def test_a_changed_field_is_validated_before_the_next_call(framework: Framework) -> None:
    llm = make_model(framework, "http://127.0.0.1:9")
    llm.temperature = 5
    with pytest.raises(ValueError, match="temperature must be 0 to 2, got 5"):
        _ask(llm)


@FRAMEWORKS
@pytest.mark.parametrize("key", [FAKE_KEY, None])
def test_insecure_url_warning_points_at_the_callers_line(
    framework: Framework, key: str | None
) -> None:
    cls = ChatModelsLab if framework == "langchain" else ModelsLabLLM
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cls(api_key=key, base_url="http://llm.example.com/v1")  # the line warned about
    (warning,) = [w for w in caught if issubclass(w.category, InsecureBaseURLWarning)]
    assert warning.filename == __file__
    text = str(warning.message)
    assert "unencrypted" in text
    assert ("API key" in text) is (key is not None)


def test_function_calling_follows_the_model_profile() -> None:
    assert not ModelsLabLLM(model="meta-llama-Llama-3.2-1B").metadata.is_function_calling_model
    assert ModelsLabLLM(model="google-gemma-3-1b-it").metadata.is_function_calling_model
    assert ModelsLabLLM(model="an-unknown-model").metadata.is_function_calling_model
    forced = ModelsLabLLM(model="meta-llama-Llama-3.2-1B", is_function_calling_model=True)
    assert forced.metadata.is_function_calling_model


@FRAMEWORKS
def test_max_tokens_default_comes_from_one_place(framework: Framework) -> None:
    with FaultServer(_answer("ok")) as server:
        llm = make_model(framework, server.base_url, max_tokens=None, model="google-gemma-3-1b-it")
        _ask(llm)
        (body,) = _bodies(server)
        assert (
            body["max_tokens"]
            == llm.client.max_tokens_for()
            == ModelsLab().max_tokens_for("google-gemma-3-1b-it")
        )


def test_the_framework_packages_do_not_branch_on_the_protocol() -> None:
    found = subprocess.run(
        [
            "grep",
            "-rn",
            "--include=*.py",
            BRANCHING,
            "langchain_modelslab",
            "llama_index_modelslab",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == ""


def test_only_the_connection_options_module_reads_the_environment() -> None:
    found = subprocess.run(
        ["grep", "-rln", "--include=*.py", "os.environ", *PACKAGES],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout.split() == ["modelslab_transport/config/connection.py"]
