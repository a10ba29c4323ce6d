"""The API key never shows up in reprs, errors (even when the server echoes it) or logs."""

from __future__ import annotations

import json
import logging

import httpx2
import pytest

from modelslab_transport import (
    APIConnectionError,
    APIStatusError,
    AsyncModelsLabClient,
    AuthenticationError,
    BadRequestError,
    ClientSettings,
    InvalidResponseError,
    ModelsLabClient,
    ModelsLabError,
)
from modelslab_transport.config.redaction import (
    MIN_SECRET_LENGTH,
    REDACTED,
    can_be_key,
    redact_secret,
)
from tests.support.clients import API_KEY, SleepRecorder, async_client, settings, sync_client
from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.mock_api import ScriptedServer
from tests.support.replies import chunk, completion_body, json_response, sse, stream_response
from tests.support.wire_requests import chat_request

ECHO = f"Invalid API key: {API_KEY}"


def assert_no_key(error: BaseException) -> None:
    assert isinstance(error, ModelsLabError)
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)
    assert all(API_KEY not in str(arg) for arg in error.args)
    assert API_KEY not in error.message
    body = getattr(error, "body", None)
    assert API_KEY not in (body if isinstance(body, str) else json.dumps(body))


def test_reprs_do_not_show_the_key() -> None:
    config = settings()
    assert API_KEY not in repr(config)
    assert API_KEY not in str(config)
    assert API_KEY not in config.model_dump_json()
    assert "**********" in repr(config)
    assert API_KEY not in repr(ModelsLabClient(config))
    assert API_KEY not in repr(AsyncModelsLabClient(config))
    assert repr(ModelsLabClient(config)) == f"ModelsLabClient(base_url={config.base_url!r})"


@pytest.mark.parametrize(
    ("reply", "cls"),
    [
        (json_response({"status": "error", "message": ECHO}, 401), AuthenticationError),
        (json_response({"status": "error", "message": ECHO}), AuthenticationError),
        # For a 4xx the status decides the class; the wording does not.
        (json_response({"error": {"message": ECHO, "param": API_KEY}}, 400), BadRequestError),
        (json_response({"error": ECHO}, 500), APIStatusError),
        (json_response({"message": ECHO, "key": API_KEY}), AuthenticationError),
        (
            httpx2.Response(502, headers={"content-type": "text/html"}, text=f"<p>{ECHO}</p>"),
            APIStatusError,
        ),
        (json_response(f"not json {API_KEY}"), InvalidResponseError),
        (json_response({"choices": f"bad {API_KEY}"}), InvalidResponseError),
        (json_response({"id": API_KEY}), InvalidResponseError),
    ],
    ids=[
        "401-echo",
        "200-echo",
        "error-object-echo",
        "500-error-string",
        "no-choices-message",
        "html-page",
        "invalid-json",
        "bad-shape",
        "no-choices-no-message",
    ],
)
def test_errors_never_carry_the_key_even_when_the_server_echoes_it(
    reply: httpx2.Response, cls: type[ModelsLabError]
) -> None:
    server = ScriptedServer([reply])
    with pytest.raises(ModelsLabError) as caught:
        sync_client(server, max_retries=0).chat_completions(chat_request())
    assert isinstance(caught.value, cls)
    assert_no_key(caught.value)


def test_stream_error_event_echoing_the_key_is_redacted() -> None:
    server = ScriptedServer(
        [stream_response(sse(chunk("a"), {"error": {"message": ECHO, "type": "auth"}}))]
    )
    with pytest.raises(APIStatusError) as caught:
        list(sync_client(server).stream_chat_completions(chat_request()))
    assert_no_key(caught.value)
    assert "***" in caught.value.message


def test_malformed_stream_chunk_echoing_the_key_is_redacted() -> None:
    server = ScriptedServer([stream_response(sse(f"data: {{{API_KEY}\n\n"))])
    with pytest.raises(InvalidResponseError) as caught:
        list(sync_client(server).stream_chat_completions(chat_request()))
    assert_no_key(caught.value)


async def test_async_errors_are_redacted_too() -> None:
    server = ScriptedServer([json_response({"status": "error", "message": ECHO}, 403)])
    with pytest.raises(APIStatusError) as caught:
        await async_client(server).chat_completions(chat_request())
    assert_no_key(caught.value)


def test_transport_error_mentioning_the_key_is_redacted() -> None:
    server = ScriptedServer([httpx2.ConnectError(f"proxy refused {API_KEY}")])
    with pytest.raises(APIConnectionError) as caught:
        sync_client(server, max_retries=0).chat_completions(chat_request())
    assert_no_key(caught.value)


def test_missing_key_error_names_no_key() -> None:
    client = ModelsLabClient(ClientSettings(api_key=None))
    with pytest.raises(AuthenticationError) as caught:
        client.chat_completions(chat_request())
    assert "api_key" in str(caught.value)


# ------------------------------------------------------------------------ logs


def _script(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    body = json.loads(request.body) if request.body else {}
    if request.path.endswith("/v1/models"):
        conn.send_json({"object": "list", "data": [{"id": "m"}]})
    elif body.get("stream"):
        conn.send_sse_headers()
        conn.send_chunk(sse(chunk("hi", finish_reason="stop")))
        conn.end_chunks()
    elif body.get("model") == "rate-limited" and len(conn.server.requests) == 1:
        conn.send_json(
            {"status": "error", "message": f"Rate limit exceeded for {API_KEY}", "retry_after": 0},
            status=429,
            reason="Too Many Requests",
        )
    elif body.get("model") == "bad-key":
        conn.send_json({"status": "error", "message": ECHO}, status=401, reason="Unauthorized")
    else:
        conn.send_json(completion_body())
    return True


def _log_everything(caplog: pytest.LogCaptureFixture) -> None:
    for name in ("modelslab_transport", "httpx2", "httpcore2"):
        caplog.set_level(logging.DEBUG, logger=name)


def test_debug_logs_never_contain_the_key(caplog: pytest.LogCaptureFixture) -> None:
    _log_everything(caplog)
    recorder = SleepRecorder()
    with LoopbackServer(_script) as server:
        config = ClientSettings(api_key=API_KEY, base_url=server.base_url, legacy_auth=True)
        with ModelsLabClient(config, retry_policy=recorder.policy()) as client:
            assert client.chat_completions(chat_request(model="rate-limited")).choices
            assert [
                c.choices[0].delta.text for c in client.stream_chat_completions(chat_request())
            ] == ["hi"]
            assert [m.id for m in client.list_models()] == ["m"]
            with pytest.raises(AuthenticationError) as caught:
                client.chat_completions(chat_request(model="bad-key"))
            assert_no_key(caught.value)
        assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
        assert json.loads(server.requests[0].body)["key"] == API_KEY
    assert recorder.delays == [0.0]
    loggers = {record.name for record in caplog.records}
    assert "modelslab_transport" in loggers
    assert "httpx2" in loggers
    assert any(name.startswith("httpcore2") for name in loggers)
    assert any("retry 1 of 2" in record.getMessage() for record in caplog.records)
    assert API_KEY not in caplog.text
    for record in caplog.records:
        assert API_KEY not in record.getMessage()


async def test_async_debug_logs_never_contain_the_key(caplog: pytest.LogCaptureFixture) -> None:
    _log_everything(caplog)
    recorder = SleepRecorder()
    with LoopbackServer(_script) as server:
        config = ClientSettings(api_key=API_KEY, base_url=server.base_url, legacy_auth=True)
        async with AsyncModelsLabClient(config, retry_policy=recorder.policy()) as client:
            completion = await client.chat_completions(chat_request(model="rate-limited"))
            assert completion.choices
            stream = await client.stream_chat_completions(chat_request())
            assert [c.choices[0].delta.text async for c in stream] == ["hi"]
            with pytest.raises(AuthenticationError):
                await client.chat_completions(chat_request(model="bad-key"))
    assert recorder.delays == [0.0]
    assert any(record.name.startswith("httpcore2") for record in caplog.records)
    assert API_KEY not in caplog.text


def test_mock_transport_logs_never_contain_the_key(caplog: pytest.LogCaptureFixture) -> None:
    _log_everything(caplog)
    server = ScriptedServer(
        [
            httpx2.ConnectError(f"refused {API_KEY}"),
            json_response({"status": "error", "message": ECHO}, 503),
            json_response(completion_body()),
        ]
    )
    recorder = SleepRecorder()
    client = sync_client(server, recorder, legacy_auth=True)
    assert client.chat_completions(chat_request()).choices
    assert len(recorder.delays) == 2
    messages = [record.getMessage() for record in caplog.records]
    assert sum("retry" in m for m in messages) == 2
    assert all(API_KEY not in m for m in messages)


@pytest.mark.parametrize(
    ("secret", "could_be"),
    [("EMPTY", False), ("1234567", False), ("12345678", True), ("sk key 12345", False)],
)
def test_can_be_key_needs_the_minimum_length_and_no_spaces(secret: str, could_be: bool) -> None:
    assert len("12345678") == MIN_SECRET_LENGTH
    assert can_be_key(secret) is could_be


def test_redact_secret_replaces_every_occurrence_of_a_key_only() -> None:
    key = "sk-0123456789"
    assert redact_secret(f"a {key} b {key}", key) == f"a {REDACTED} b {REDACTED}"
    assert redact_secret("EMPTY is the key", "EMPTY") == "EMPTY is the key"
    assert redact_secret("no key here", key) == "no key here"
    assert redact_secret(f"{key}", None) == key
