"""What both clients share: JSON bodies, headers, per-phase timeouts capped by the call's
deadlines, retry decisions, and copies that leave the pooled connections behind."""

from __future__ import annotations

import copy
import json
import pickle

import httpx2
import pytest

from modelslab_transport.client import ModelsLabClient
from modelslab_transport.client_core import (
    CHAT_COMPLETIONS_PATH,
    COUNT_TOKENS_PATH,
    MESSAGES_PATH,
    MODELS_PATH,
    Call,
    Deadlines,
    json_body,
)
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.errors import AuthenticationError, LocalRequestError, ServerError
from modelslab_transport.limits.deadlines import Deadline
from modelslab_transport.limits.retry import RetryPolicy
from tests.support.wire_requests import chat_request, messages_request

KEY = "sk-core-0123456789"
LOCAL = "http://127.0.0.1:9/v1"
HIGH, LOW = "\ud83d", "\ude00"


def _client(**settings: object) -> ModelsLabClient:
    fields: dict[str, object] = {"api_key": KEY, "base_url": LOCAL, **settings}
    return ModelsLabClient(ClientSettings(**fields))  # type: ignore[arg-type]


def test_the_endpoint_paths() -> None:
    assert (CHAT_COMPLETIONS_PATH, MESSAGES_PATH, COUNT_TOKENS_PATH, MODELS_PATH) == (
        "/chat/completions",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/v1/models",
    )


def test_json_body_is_compact_utf8_and_joins_split_pairs() -> None:
    assert json_body({"a": "café", "b": [1]}) == '{"a":"café","b":[1]}'.encode()
    assert json_body({"t": f"{HIGH}{LOW}"}) == '{"t":"\U0001f600"}'.encode()


def test_json_body_names_a_lone_surrogate() -> None:
    with pytest.raises(ValueError, match=r"messages\[0\]\.content has a lone UTF-16 surrogate"):
        json_body({"messages": [{"content": f"x{HIGH}"}]})


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [("bearer", "authorization", f"Bearer {KEY}"), ("x-api-key", "x-api-key", KEY)],
)
def test_headers_carry_the_key_as_the_protocol_wants(auth: str, header: str, value: str) -> None:
    headers = _client()._headers(Call("POST", "/p", b"{}", False, auth))  # type: ignore[arg-type]
    assert headers[header] == value
    assert headers["accept"] == "application/json"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith("modelslab-llm/")
    assert ("anthropic-version" in headers) is (auth == "x-api-key")


def test_a_stream_accepts_event_streams_and_a_get_has_no_content_type() -> None:
    headers = _client()._headers(Call("GET", MODELS_PATH, None, True))
    assert headers["accept"] == "text/event-stream"
    assert "content-type" not in headers


def test_the_callers_headers_replace_ours_whatever_their_case() -> None:
    client = _client(default_headers={"Anthropic-Version": "2099-01-01", "X-Extra": "1"})
    headers = client._headers(Call("GET", MODELS_PATH, None))
    assert headers["anthropic-version"] == "2099-01-01"
    assert headers["x-extra"] == "1"
    assert "Anthropic-Version" not in headers


def test_no_key_is_refused_for_modelslab_and_fine_for_a_local_server() -> None:
    keyless = ModelsLabClient(ClientSettings())
    with pytest.raises(AuthenticationError, match="no ModelsLab API key") as caught:
        keyless._headers(Call("GET", MODELS_PATH, None))
    assert caught.value.status_code is None
    local = ModelsLabClient(ClientSettings(base_url=LOCAL))
    headers = local._headers(Call("GET", MODELS_PATH, None))
    assert "authorization" not in headers
    assert "x-api-key" not in headers


def test_each_phase_is_capped_by_what_is_left_of_the_call() -> None:
    client = _client(timeout=30, connect_timeout=10, stream_chunk_timeout=20, stream_timeout=15)
    http = httpx2.Client()
    whole = Call("POST", CHAT_COMPLETIONS_PATH, b"{}")
    deadlines = Deadlines(Deadline(4, "timeout"), Deadline(None, "stream_timeout"))
    request = client._build(http, whole, deadlines)
    limits = request.extensions["timeout"]
    assert limits["connect"] <= 4
    assert limits["read"] <= 4
    assert str(request.url) == f"{LOCAL}/chat/completions"
    stream = Call("POST", CHAT_COMPLETIONS_PATH, b"{}", stream=True)
    started = Deadlines(Deadline(4, "timeout"), Deadline(15, "stream_timeout"))
    limits = client._build(http, stream, started).extensions["timeout"]
    assert limits["connect"] <= 4
    assert 4 < limits["read"] <= 15  # a stream's reads are bounded by the stream's limit only
    unlimited = Deadlines(Deadline(None, "timeout"), Deadline(None, "stream_timeout"))
    limits = _client(timeout=None)._build(http, whole, unlimited).extensions["timeout"]
    assert limits["read"] is None


def test_deadlines_start_by_the_kind_of_call() -> None:
    settings = ClientSettings(timeout=30, stream_timeout=60)
    whole = Deadlines.start(settings, Call("GET", MODELS_PATH, None))
    assert (whole.reply.seconds, whole.stream.seconds) == (30, None)
    stream = Deadlines.start(settings, Call("POST", CHAT_COMPLETIONS_PATH, b"{}", stream=True))
    assert (stream.reply.seconds, stream.stream.seconds) == (30, 60)
    before = stream.stream.at
    stream.extend(2)
    assert stream.stream.at == before + 2


def test_urls_are_parsed_once() -> None:
    client = _client()
    assert client._url("http://h/a") is client._url("http://h/a")
    for index in range(20):
        client._url(f"http://h/{index}")
    assert len(client._urls) <= 17


def test_a_chat_call_checks_send_limits_and_carries_the_protocols_auth() -> None:
    client = _client()
    call = client._chat_call(chat_request(), stream=True)
    assert (call.method, call.path, call.stream, call.auth) == (
        "POST",
        "/chat/completions",
        True,
        "bearer",
    )
    assert json.loads(call.content or b"")["stream"] is True
    deep: dict[str, object] = {}
    for _ in range(200):
        deep = {"a": deep}
    with pytest.raises(LocalRequestError, match="the request field 'metadata'"):
        client._chat_call(chat_request(metadata=deep), stream=False)


def test_a_messages_call() -> None:
    call = _client()._messages_call(messages_request(), stream=False)
    assert (call.path, call.auth, call.stream) == ("/v1/messages", "x-api-key", False)
    assert "stream" not in json.loads(call.content or b"")


def test_a_retry_past_the_deadline_is_not_made_and_the_error_says_so() -> None:
    client = _client(max_retries=3)
    client.retry_policy = RetryPolicy(initial_backoff=5, jitter=0)
    call = Call("POST", CHAT_COMPLETIONS_PATH, b"{}")
    roomy = Deadlines(Deadline(None, "timeout"), Deadline(None, "stream_timeout"))
    assert client._give_up_or_wait(0, ServerError("busy", status_code=503), call, roomy) == 5
    tight = Deadlines(Deadline(2, "timeout"), Deadline(None, "stream_timeout"))
    error = ServerError("busy", status_code=503)
    with pytest.raises(ServerError) as caught:
        client._give_up_or_wait(0, error, call, tight)
    assert "[not retried: waiting 5 s more would pass the 2 s limit" in str(caught.value)
    with pytest.raises(ServerError):
        client._give_up_or_wait(3, ServerError("busy", status_code=503), call, roomy)


def test_a_failure_after_the_deadline_is_the_deadlines_error() -> None:
    client = _client()
    call = Call("POST", CHAT_COMPLETIONS_PATH, b"{}")
    passed = Deadline(1, "timeout")
    passed.at = 0.0
    error = client._failure(httpx2.ReadError("x"), call, Deadlines(passed, Deadline(None, "s")))
    assert str(error).startswith(f"no complete reply from {LOCAL}/chat/completions within 1 s")
    fresh = Deadlines(Deadline(None, "timeout"), Deadline(None, "stream_timeout"))
    fresh_error = client._failure(httpx2.ReadError("x"), call, fresh)
    assert "broke before the whole reply arrived" in str(fresh_error)


def test_copies_have_their_own_pools_and_pickling_refuses_an_injected_client() -> None:
    client = _client()
    assert repr(client) == f"ModelsLabClient(base_url={LOCAL!r})"
    for twin in (copy.copy(client), copy.deepcopy(client), pickle.loads(pickle.dumps(client))):
        assert twin.settings == client.settings
        assert twin._http is not client._http
    given = httpx2.Client()
    injected = ModelsLabClient(ClientSettings(base_url=LOCAL), http_client=given)
    assert copy.deepcopy(injected)._injected is given
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(injected)
    client.close()


def test_the_event_size_cap_is_the_constructors_else_the_settings() -> None:
    assert _client(max_sse_event_size=10)._event_size_cap == 10
    own = ModelsLabClient(ClientSettings(max_sse_event_size=10), max_sse_event_size=None)
    assert own._event_size_cap is None
