"""Errors ModelsLab reports: in HTTP 200 bodies (every documented shape) and by status."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx2
import pytest

from modelslab_transport import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    InvalidResponseError,
    ModelsLabError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)
from modelslab_transport.config.defaults import MAX_RETRY_AFTER
from modelslab_transport.decoding.error_bodies import (
    ErrorDetails,
    body_message,
    error_details_in_body,
    error_from_reply,
    parse_retry_after,
    redact_values,
)
from tests.support.clients import async_client, sync_client
from tests.support.mock_api import ScriptedServer
from tests.support.replies import completion_body, json_response
from tests.support.wire_requests import chat_request


def _call_with_body(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    server = ScriptedServer([json_response(body, status, headers)])
    client = sync_client(server, max_retries=0)
    try:
        return client.chat_completions(chat_request())
    finally:
        assert len(server.requests) == 1


# ------------------------------------------------------------ 200 error bodies


@pytest.mark.parametrize(
    ("body", "cls", "message"),
    [
        pytest.param(
            {"status": "error", "message": "Provider returned error"},
            APIStatusError,
            "Provider returned error",
            id="status-error-message",
        ),
        pytest.param(
            {"status": "error", "messege": "Something broke upstream"},
            APIStatusError,
            "Something broke upstream",
            id="status-error-messege-misspelt",
        ),
        pytest.param(
            {"error": {"message": "Bad things", "type": "invalid_request_error", "code": "bad"}},
            BadRequestError,
            "Bad things",
            id="openai-error-object",
        ),
        pytest.param(
            {"error": "upstream exploded"},
            APIStatusError,
            "upstream exploded",
            id="error-string",
        ),
        pytest.param(
            {
                "status": "error",
                "message": "outer message",
                "error": {"message": "inner message", "type": "server_error", "code": "x"},
            },
            ServerError,
            "inner message",
            id="both-shapes",
        ),
        pytest.param(
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            ServerError,
            "Overloaded",
            id="anthropic-shape",
        ),
        pytest.param(
            {"type": "error", "error": {"type": "not_found_error", "message": "no model x"}},
            NotFoundError,
            "no model x",
            id="anthropic-not-found",
        ),
        pytest.param(
            {"message": "Provider returned error", "id": "abc"},
            APIStatusError,
            "Provider returned error",
            id="no-choices-with-message",
        ),
        pytest.param(
            {"status": "error", "message": "Invalid API key"},
            AuthenticationError,
            "Invalid API key",
            id="wording-invalid-key",
        ),
        pytest.param(
            {"status": "error", "message": "Model not found: meta-llama-9000"},
            NotFoundError,
            "Model not found: meta-llama-9000",
            id="wording-model-not-found",
        ),
        pytest.param(
            {
                "status": "error",
                "message": "Insufficient credits. Please add more credits to continue.",
            },
            InsufficientCreditsError,
            "Insufficient credits. Please add more credits to continue.",
            id="wording-credits",
        ),
        pytest.param(
            {
                "status": "error",
                "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
                "retry_after": 30,
            },
            RateLimitError,
            "Rate limit exceeded. Maximum 5 queued requests allowed.",
            id="wording-rate-limit",
        ),
        pytest.param(
            {"status": "error", "message": "This feature requires a premium subscription"},
            PermissionDeniedError,
            "This feature requires a premium subscription",
            id="wording-premium",
        ),
        pytest.param(
            {"error": {"message": "nope", "code": 401}},
            AuthenticationError,
            "nope",
            id="numeric-code-401",
        ),
        pytest.param(
            {"error": {"message": "gateway", "code": "502"}},
            ServerError,
            "gateway",
            id="numeric-code-5xx",
        ),
    ],
)
def test_error_inside_http_200_body_raises_typed_error(
    body: dict[str, Any], cls: type[APIStatusError], message: str
) -> None:
    with pytest.raises(APIStatusError) as caught:
        _call_with_body(body, headers={"x-request-id": "req-42"})
    error = caught.value
    assert type(error) is cls
    assert error.message == message
    assert error.status_code == 200
    assert error.request_id == "req-42"
    assert isinstance(error.body, dict)
    assert error.body == body


def test_status_error_body_keeps_retry_after_and_code() -> None:
    with pytest.raises(RateLimitError) as caught:
        _call_with_body(
            {"status": "error", "message": "Rate limit exceeded", "retry_after": 12, "code": "q"}
        )
    assert caught.value.retry_after == 12.0
    assert caught.value.code == "q"
    assert caught.value.retryable is True


def test_openai_error_object_keeps_type_and_code() -> None:
    with pytest.raises(BadRequestError) as caught:
        _call_with_body(
            {"error": {"message": "m", "type": "invalid_request_error", "code": "bad_param"}}
        )
    assert caught.value.error_type == "invalid_request_error"
    assert caught.value.code == "bad_param"
    assert caught.value.retryable is False


def test_body_without_choices_or_message_is_invalid_response() -> None:
    with pytest.raises(InvalidResponseError) as caught:
        _call_with_body({"id": "x", "object": "chat.completion"})
    assert "choices" in str(caught.value)
    assert not isinstance(caught.value, APIStatusError)


def test_empty_choices_is_invalid_response() -> None:
    with pytest.raises(InvalidResponseError) as caught:
        _call_with_body(completion_body(choices=[]))
    assert "empty 'choices'" in str(caught.value)


def test_processing_status_is_an_error_naming_the_job() -> None:
    with pytest.raises(APIStatusError) as caught:
        _call_with_body({"status": "processing", "id": "job-77", "eta": 30, "message": "queued"})
    assert type(caught.value) is APIStatusError
    assert caught.value.error_type == "processing"
    assert "job-77" in caught.value.message
    assert "processing" in caught.value.message


def test_non_json_200_body_is_invalid_response() -> None:
    with pytest.raises(InvalidResponseError) as caught:
        _call_with_body("<html><body>maintenance</body></html>")
    assert "not valid JSON" in str(caught.value)
    assert "maintenance" in str(caught.value)


def test_json_array_body_is_invalid_response() -> None:
    with pytest.raises(InvalidResponseError) as caught:
        _call_with_body([1, 2, 3])
    assert "list" in str(caught.value)


def test_null_error_member_with_choices_is_a_success() -> None:
    completion = _call_with_body(completion_body("fine", error=None, status="success"))
    assert completion.choices[0].message.text == "fine"


async def test_async_client_raises_200_body_errors_too() -> None:
    server = ScriptedServer([json_response({"status": "error", "messege": "Invalid API key"})])
    client = async_client(server, max_retries=0)
    with pytest.raises(AuthenticationError) as caught:
        await client.chat_completions(chat_request())
    assert caught.value.message == "Invalid API key"
    assert caught.value.status_code == 200
    assert len(server.requests) == 1


# ------------------------------------------------------------- HTTP statuses


@pytest.mark.parametrize(
    ("status", "cls", "message"),
    [
        (400, BadRequestError, "prompt is required"),
        (401, AuthenticationError, "Invalid API key"),
        (402, InsufficientCreditsError, "Insufficient credits. Please add more credits."),
        (403, PermissionDeniedError, "This feature requires a premium subscription"),
        (404, NotFoundError, "Not here"),
        (422, BadRequestError, "max_tokens must be an integer"),
        (429, RateLimitError, "Rate limit exceeded. Please slow down."),
        (500, ServerError, "Internal server error. Please try again."),
        (503, ServerError, "Service temporarily unavailable. Please try again later."),
        (409, BadRequestError, "conflict"),
    ],
)
def test_http_status_picks_the_error_class(
    status: int, cls: type[APIStatusError], message: str
) -> None:
    with pytest.raises(APIStatusError) as caught:
        _call_with_body({"status": "error", "message": message}, status=status)
    assert type(caught.value) is cls
    assert caught.value.status_code == status
    assert caught.value.message == message
    assert caught.value.retryable is (status in (429, 500, 503))
    assert f"HTTP {status}" in str(caught.value)


def test_400_with_model_not_found_wording_is_not_found() -> None:
    with pytest.raises(NotFoundError) as caught:
        _call_with_body({"status": "error", "message": "Model not found: x"}, status=400)
    assert caught.value.status_code == 400


def test_401_body_wording_does_not_override_status() -> None:
    with pytest.raises(AuthenticationError):
        _call_with_body({"status": "error", "message": "Model not found: x"}, status=401)


def test_html_502_from_a_proxy_gives_a_readable_message() -> None:
    page = (
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    server = ScriptedServer(
        [httpx2.Response(502, headers={"content-type": "text/html"}, content=page.encode())]
    )
    client = sync_client(server, max_retries=0)
    with pytest.raises(ServerError) as caught:
        client.chat_completions(chat_request())
    message = caught.value.message
    assert "502 Bad Gateway" in message
    assert "nginx" in message
    assert "<" not in message
    assert "\r" not in message
    assert "\n" not in message
    assert message.startswith("HTTP 502")
    assert caught.value.body == page


def test_empty_error_body_still_has_a_message() -> None:
    server = ScriptedServer([httpx2.Response(500)])
    client = sync_client(server, max_retries=0)
    with pytest.raises(ServerError) as caught:
        client.chat_completions(chat_request())
    assert caught.value.message == "HTTP 500 with an empty body"


def test_request_id_comes_from_x_request_id_header() -> None:
    with pytest.raises(NotFoundError) as caught:
        _call_with_body(
            {"error": {"message": "gone"}}, status=404, headers={"x-request-id": "req-abc"}
        )
    assert caught.value.request_id == "req-abc"
    assert str(caught.value).endswith(" (HTTP 404, request id req-abc)")
    assert repr(caught.value) == "NotFoundError(status_code=404, message='gone')"


def test_request_id_header_fallback() -> None:
    with pytest.raises(ServerError) as caught:
        _call_with_body({"error": "boom"}, status=500, headers={"request-id": "rid-9"})
    assert caught.value.request_id == "rid-9"


def test_no_request_id_means_none() -> None:
    with pytest.raises(ServerError) as caught:
        _call_with_body({"error": "boom"}, status=500)
    assert caught.value.request_id is None
    assert str(caught.value) == "boom (HTTP 500)"


def test_every_error_is_a_modelslab_error() -> None:
    for cls in (
        APIStatusError,
        AuthenticationError,
        BadRequestError,
        InsufficientCreditsError,
        NotFoundError,
        PermissionDeniedError,
        RateLimitError,
        ServerError,
        InvalidResponseError,
    ):
        assert issubclass(cls, ModelsLabError)


# ------------------------------------------------------- pure helper functions


def test_error_details_in_body_ignores_success_bodies() -> None:
    assert error_details_in_body(completion_body()) is None
    assert error_details_in_body({"status": "success", "choices": []}) is None
    assert (
        error_details_in_body([{"id": "x"}]) is None
    )  # an array reports an error only in its items
    assert error_details_in_body({"error": ""}) is None
    assert error_details_in_body({"error": None}) is None


def test_error_details_without_any_message_have_a_placeholder() -> None:
    details = error_details_in_body({"status": "error"})
    assert details is not None
    assert details.message == "the server reported an error without a message"


def test_error_details_read_retry_after_inside_error_object() -> None:
    details = error_details_in_body({"error": {"message": "slow down", "retry_after": "7"}})
    assert details is not None
    assert details.retry_after == 7.0


def test_error_from_reply_redacts_message_and_body() -> None:
    error = error_from_reply(
        401,
        {"status": "error", "message": "Invalid API key: abc123"},
        "",
        {},
        redact=lambda s: s.replace("abc123", "***"),
    )
    assert error.message == "Invalid API key: ***"
    assert error.body == {"status": "error", "message": "Invalid API key: ***"}
    assert "abc123" not in json.dumps(error.body)


def test_parse_retry_after_precedence() -> None:
    body = {"status": "error", "message": "x", "retry_after": 30}
    assert parse_retry_after({"retry-after": "5"}, body) == 5.0
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "5"}, body) == 1.5
    assert parse_retry_after({}, body) == 30.0
    assert parse_retry_after({}, {"retry_after": "2.5"}) == 2.5
    assert parse_retry_after({}, {"choices": []}) is None
    assert parse_retry_after({"retry-after": "soon"}, None) is None
    assert parse_retry_after({"retry-after": "soon"}, body) == 30.0
    assert parse_retry_after({"retry-after": "-3"}, None) == 0.0


def test_parse_retry_after_http_date(monkeypatch: pytest.MonkeyPatch) -> None:
    import modelslab_transport.decoding.error_bodies as error_bodies

    # Wed, 21 Oct 2015 07:28:00 GMT is 1445412480 in Unix time.
    monkeypatch.setattr(error_bodies.time, "time", lambda: 1445412480.0 - 42.0)
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 42.0
    monkeypatch.setattr(error_bodies.time, "time", lambda: 1445412480.0 + 100.0)
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0


# ---------------------------------------------- every JSON shape, in one module


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"message": "m"}, "m"),
        ({"messege": "legacy spelling"}, "legacy spelling"),
        ({"msg": "pydantic"}, "pydantic"),
        ({"detail": "Not authenticated"}, "Not authenticated"),
        (
            {"detail": [{"loc": ["body", "n"], "msg": "too big", "type": "less_than_equal"}]},
            "body.n: too big (less_than_equal)",
        ),
        ({"detail": {"message": "nested"}}, "nested"),
        ({"error": {"error": {"message": "deeper"}}}, "deeper"),
        ({"errors": [{"message": "first"}, {"message": "second"}]}, "first; second"),
        ("a bare string", "a bare string"),
        ([{"error": {"message": "in an array"}}], "in an array"),
        ({"title": "Bad Request", "detail": "the detail wins"}, "the detail wins"),
        ({"choices": []}, None),
        ({"message": ""}, None),
    ],
)
def test_body_message_reads_every_shape(payload: Any, message: str | None) -> None:
    assert body_message(payload) == message


def test_array_of_error_objects_is_an_error_body() -> None:
    details = error_details_in_body(
        [{"error": {"code": 429, "message": "exhausted", "status": "RESOURCE_EXHAUSTED"}}]
    )
    assert details == ErrorDetails("exhausted", code="429", error_type="RESOURCE_EXHAUSTED")
    assert error_details_in_body([{"id": 1}, {"id": 2}]) is None
    assert error_details_in_body({"error": [{"message": "listed"}]}) == ErrorDetails("listed")


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (400, "stream_options: extra_forbidden", BadRequestError),
        (400, "permission denied for this field", BadRequestError),
        (400, "Invalid API key in field 'x'", BadRequestError),
        (422, "rate limit on this parameter", BadRequestError),
        (400, "Model not found: m", NotFoundError),
        (401, "Model not found: m", AuthenticationError),
        (403, "too many requests", PermissionDeniedError),
        (409, "forbidden", BadRequestError),
        (503, "invalid api key", ServerError),
    ],
)
def test_for_4xx_and_5xx_the_status_decides(
    status: int, message: str, expected: type[APIStatusError]
) -> None:
    error = error_from_reply(status, {"error": {"message": message}}, "", {})
    assert type(error) is expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("extra_forbidden: stream_options", APIStatusError),
        ("forbidden", PermissionDeniedError),
        ("Invalid API key", AuthenticationError),
    ],
)
def test_inside_a_200_the_wording_decides(message: str, expected: type[APIStatusError]) -> None:
    assert type(error_from_reply(200, {"error": message}, "", {})) is expected


def test_redaction_of_a_json_body_works_on_values_not_text() -> None:
    def redact(text: str) -> str:
        return text.replace("1", "***")

    body = {"error": {"message": "key 1", "code": 1}, "1": [1, "1"]}
    error = error_from_reply(400, body, json.dumps(body), {}, redact=redact)
    assert error.body == {"error": {"message": "key ***", "code": 1}, "***": [1, "***"]}
    assert error.message == "key ***"
    assert redact_values(["1", 1, None, True, 1.5], redact) == ["***", 1, None, True, 1.5]


def test_an_error_that_was_never_sent_names_no_status() -> None:
    error = AuthenticationError("no key", status_code=None)
    assert str(error) == "no key (request not sent)"


def test_an_error_inside_a_stream_says_so() -> None:
    error = error_from_reply(200, {"error": "boom"}, "", {}, in_stream=True)
    assert str(error) == "boom (an error event inside the stream)"
    assert error.status_code == 200


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "-inf"}, None),
        ({"retry-after": "1e400"}, None),
        ({"retry-after-ms": "nan"}, None),
        ({"retry-after": "-5"}, 0.0),
        ({"retry-after": "1e30"}, MAX_RETRY_AFTER),
        ({"retry-after-ms": "1e30"}, MAX_RETRY_AFTER),
        ({"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}, MAX_RETRY_AFTER),
    ],
)
def test_retry_after_edges(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected


@pytest.mark.parametrize(
    ("body_value", "expected"),
    [("nan", None), (math.inf, None), (-3, 0.0), (1e30, MAX_RETRY_AFTER), ("2.5", 2.5)],
)
def test_body_retry_after_edges(body_value: object, expected: float | None) -> None:
    assert parse_retry_after({}, {"status": "error", "retry_after": body_value}) == expected


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        # vLLM's error object.
        (
            {
                "object": "error",
                "message": "prompt too long",
                "type": "BadRequestError",
                "code": 400,
            },
            "prompt too long",
            "400",
        ),
        ({"type": "error", "message": "boom"}, "boom", None),
        # Cloudflare's API envelope.
        ({"success": False, "errors": [{"code": 7003, "message": "no route"}]}, "no route", None),
    ],
)
def test_objects_marked_as_errors_report_one(body: Any, message: str, code: str | None) -> None:
    details = error_details_in_body(body)
    assert details is not None
    assert (details.message, details.code) == (message, code)


def test_vllm_error_object_in_a_200_is_a_bad_request() -> None:
    body = {"object": "error", "message": "prompt too long", "type": "BadRequestError", "code": 400}
    assert isinstance(error_from_reply(200, body, "", {}), BadRequestError)
