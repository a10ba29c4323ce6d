"""ModelsLabLLM construction, metadata, secrets, clients and errors (mock transport only)."""

from __future__ import annotations

import copy
import logging
import pickle

import httpx2
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms.function_calling import FunctionCallingLLM

from llama_index_modelslab import DEFAULT_MODEL, ModelsLabLLM
from modelslab_transport import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_TOKENS,
    APIStatusError,
    AuthenticationError,
    InsecureBaseURLWarning,
    ServerError,
)
from modelslab_transport.config.model_profiles import DEFAULT_CONTEXT_WINDOW, model_profile
from tests.support.clients import API_KEY, scripted_llm
from tests.support.replies import (
    completion_body,
    json_response,
)

USER = [ChatMessage(role="user", content="hi")]


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELSLAB_API_KEY", raising=False)
    monkeypatch.delenv("MODELSLAB_BASE_URL", raising=False)


@pytest.mark.usefixtures("no_env")
def test_constructs_without_key_or_network() -> None:
    llm = ModelsLabLLM()
    assert isinstance(llm, FunctionCallingLLM)
    assert llm.model == DEFAULT_MODEL == "google-gemma-3-1b-it"
    assert llm.api_key is None
    assert llm.base_url == DEFAULT_BASE_URL
    assert llm.class_name() == "ModelsLabLLM"


def test_reads_key_and_base_url_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", "env-key")
    monkeypatch.setenv("MODELSLAB_BASE_URL", "http://localhost:1234/v1")
    llm = ModelsLabLLM()
    assert llm.api_key is not None
    assert llm.api_key.get_secret_value() == "env-key"
    assert llm.base_url == "http://localhost:1234/v1"


@pytest.mark.usefixtures("no_env")
def test_missing_key_fails_only_when_sending_to_modelslab() -> None:
    llm = ModelsLabLLM()
    with pytest.raises(AuthenticationError, match="MODELSLAB_API_KEY"):
        llm.chat(USER)


def test_bad_base_url_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="base_url"):
        ModelsLabLLM(base_url="modelslab.com/api")


def test_plain_http_to_remote_host_warns() -> None:
    with pytest.warns(InsecureBaseURLWarning):
        ModelsLabLLM(base_url="http://example.com/api", api_key="k")


@pytest.mark.usefixtures("no_env")
def test_metadata_defaults() -> None:
    metadata = ModelsLabLLM().metadata
    assert metadata.is_chat_model is True
    assert metadata.is_function_calling_model is True
    # The default model's published window (Gemma 3 1B: 32K), from the profile table.
    assert metadata.context_window == model_profile(DEFAULT_MODEL).context_window == 32768
    assert metadata.num_output == DEFAULT_MAX_TOKENS
    assert metadata.model_name == DEFAULT_MODEL


def test_unknown_model_gets_the_conservative_window() -> None:
    metadata = ModelsLabLLM(model="not-in-the-table", api_key="k").metadata
    assert metadata.context_window == DEFAULT_CONTEXT_WINDOW
    assert metadata.num_output == DEFAULT_MAX_TOKENS


def test_metadata_follows_fields() -> None:
    llm = ModelsLabLLM(model="m", context_window=32768, max_tokens=512, api_key="k")
    assert llm.metadata.context_window == 32768
    assert llm.metadata.num_output == 512
    assert llm.metadata.model_name == "m"


@pytest.mark.parametrize(
    "fields",
    [{"temperature": 3.0}, {"max_tokens": 0}, {"context_window": 0}, {"max_retries": -1}],
)
def test_rejects_out_of_range_fields(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="validation error"):
        ModelsLabLLM(api_key="k", **fields)


def test_key_is_never_serialised_or_shown() -> None:
    llm = ModelsLabLLM(api_key=API_KEY, default_headers={"x-extra": API_KEY})
    shown = [
        repr(llm),
        str(llm),
        str(llm.to_dict()),
        llm.to_json(),
        str(llm.to_payload()),
        str(llm.model_dump()),
        llm.model_dump_json(),
    ]
    for text in shown:
        assert API_KEY not in text
    assert "api_key" not in llm.to_dict()


def test_round_trips_through_dict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", "env-key")
    llm = ModelsLabLLM(model="m", temperature=0.5, max_tokens=99, additional_kwargs={"top_p": 0.9})
    again = ModelsLabLLM.from_dict(llm.to_dict())
    assert again.model == "m"
    assert again.temperature == 0.5
    assert again.max_tokens == 99
    assert again.additional_kwargs == {"top_p": 0.9}
    assert again.api_key is not None  # from the environment, not from the dict


def test_pickles_and_copies_after_use(caplog: pytest.LogCaptureFixture) -> None:
    llm, server = scripted_llm(
        json_response(completion_body("a")), json_response(completion_body("b"))
    )
    llm.chat(USER)
    with caplog.at_level(logging.WARNING):
        plain = llm.model_copy(update={"http_client": None, "async_http_client": None})
        clone = pickle.loads(pickle.dumps(plain))
    assert "unpickleable" not in caplog.text
    assert clone.model == llm.model
    deep = copy.deepcopy(llm)
    assert deep.chat(USER).message.content == "b"
    assert len(server.requests) == 2


def test_injected_clients_carry_sync_and_async_requests() -> None:
    llm, server = scripted_llm(
        json_response(completion_body("sync")), json_response(completion_body("async"))
    )
    assert llm.chat(USER).message.content == "sync"

    import asyncio

    assert asyncio.run(llm.achat(USER)).message.content == "async"
    assert [r.url.path for r in server.requests] == ["/chat/completions"] * 2
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_settings_changes_take_effect() -> None:
    llm, server = scripted_llm(json_response(completion_body()), json_response(completion_body()))
    llm.chat(USER)
    llm.base_url = "http://127.0.0.1:10/v2"
    llm.api_key = "other-key"  # type: ignore[assignment]
    llm.chat(USER)
    assert server.requests[1].url.path == "/v2/chat/completions"
    assert server.requests[1].headers["authorization"] == "Bearer other-key"


def test_default_headers_are_sent() -> None:
    llm, server = scripted_llm(json_response(completion_body()), default_headers={"x-trace": "abc"})
    llm.chat(USER)
    assert server.requests[0].headers["x-trace"] == "abc"


def test_error_does_not_leak_key(caplog: pytest.LogCaptureFixture) -> None:
    echo = httpx2.Response(401, json={"error": {"message": f"Invalid API key {API_KEY}"}})
    llm, _ = scripted_llm(echo)
    with caplog.at_level(logging.DEBUG), pytest.raises(AuthenticationError) as info:
        llm.chat(USER)
    assert API_KEY not in str(info.value)
    assert API_KEY not in repr(info.value)
    assert API_KEY not in caplog.text


def test_error_inside_http_200_is_raised() -> None:
    llm, _ = scripted_llm(httpx2.Response(200, json={"status": "error", "message": "bad input"}))
    with pytest.raises(APIStatusError, match="bad input"):
        llm.chat(USER)


def test_retries_follow_max_retries() -> None:
    busy = httpx2.Response(503, headers={"retry-after": "0"}, json={"error": "busy"})
    llm, server = scripted_llm(busy, json_response(completion_body("ok")), max_retries=1)
    assert llm.chat(USER).message.content == "ok"
    assert len(server.requests) == 2

    llm, server = scripted_llm(busy, max_retries=0)
    with pytest.raises(ServerError):
        llm.chat(USER)
    assert len(server.requests) == 1


def test_close_is_safe_before_and_after_use() -> None:
    llm, _ = scripted_llm(json_response(completion_body()))
    llm.close()
    llm.chat(USER)
    llm.close()

    import asyncio

    asyncio.run(llm.aclose())


def test_package_never_imports_httpx() -> None:
    import re
    from pathlib import Path

    import llama_index_modelslab

    package = Path(llama_index_modelslab.__file__).parent
    pattern = re.compile(r"^\s*(import|from)\s+httpx", re.MULTILINE)
    offenders = [p.name for p in package.glob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


@pytest.mark.parametrize("model", [None, "", "two words"])
def test_metadata_after_an_invalid_model_is_assigned_names_the_field(model: object) -> None:
    llm = ModelsLabLLM(api_key="sk-test")
    assert llm.metadata.model_name == llm.model
    llm.model = model  # type: ignore[assignment]
    with pytest.raises(ValueError, match="model"):
        llm.metadata  # noqa: B018 - reading it is the check
