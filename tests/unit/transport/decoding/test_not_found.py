"""What a not-found means: the model, the protocol, an optional endpoint or the base URL,
with the URL requested (no secrets) and what to change. Both frameworks' texts are in
``tests/faults/test_not_found_messages.py``."""

from __future__ import annotations

import json

import httpx2

from modelslab_transport.config.defaults import DEFAULT_BASE_URL
from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.not_found import describe_not_found
from modelslab_transport.errors import BadRequestError, NotFoundError

KEY = "sk-not-found-unit-0123456789"
LOCAL = "http://127.0.0.1:8000"


def _described(
    base_url: str,
    path: str,
    *,
    method: str = "POST",
    model: str | None = "m-1",
    error: NotFoundError | None = None,
) -> NotFoundError:
    settings = ClientSettings(api_key=KEY, base_url=base_url)
    body = json.dumps({"model": model}).encode() if model is not None else b""
    request = httpx2.Request(method, base_url + path, content=body if method == "POST" else None)
    response = httpx2.Response(404, request=request)
    error = error or NotFoundError("Not Found", status_code=404)
    describe_not_found(error, response, settings)
    return error


def test_a_local_server_without_v1_is_told_the_root_to_use() -> None:
    error = _described(LOCAL, "/chat/completions")
    assert (error.cause, error.url, error.model) == ("base_url", f"{LOCAL}/chat/completions", "m-1")
    assert error.hint == (
        f"POST {LOCAL}/chat/completions does not exist; base_url '{LOCAL}' lacks the path the "
        "server serves the API under: OpenAI-compatible servers (vLLM, llama.cpp, Ollama, LM "
        f"Studio) use '{LOCAL}/v1'"
    )


def test_messages_against_an_openai_only_server_names_the_protocol() -> None:
    error = _described(f"{LOCAL}/v1", "/v1/messages")
    assert error.cause == "protocol"
    assert "may not serve the Anthropic-style Messages protocol (api='messages')" in str(error.hint)
    assert str(error.hint).endswith(
        f"or base_url '{LOCAL}/v1' is not where this server serves the API"
    )


def test_optional_endpoints_are_named_as_such() -> None:
    count = _described(f"{LOCAL}/v1", "/v1/messages/count_tokens")
    assert count.cause == "endpoint"
    assert "the server has no count_tokens endpoint" in str(count.hint)
    models = _described(f"{LOCAL}/v1", "/v1/models", method="GET")
    assert (models.cause, models.model) == ("endpoint", None)
    assert str(models.hint).startswith(f"GET {LOCAL}/v1/v1/models does not exist; the server")


def test_a_text_naming_the_missing_model_means_the_model() -> None:
    error = _described(
        f"{LOCAL}/v1",
        "/chat/completions",
        error=NotFoundError("The model `m-1` does not exist", status_code=404),
    )
    assert error.cause == "model"
    assert error.hint == (
        f"the model 'm-1' is not served at {LOCAL}/v1 (POST {LOCAL}/v1/chat/completions); list "
        "the ids it serves with list_models() (GET /v1/models), or check the spelling"
    )


def test_at_modelslabs_own_root_a_404_means_the_model() -> None:
    error = _described(DEFAULT_BASE_URL, "/chat/completions", model=None)
    assert error.cause == "model"
    assert str(error.hint).startswith("the model asked for is not served at")
    assert _described(DEFAULT_BASE_URL, "/v1/models", method="GET").cause == "endpoint"


def test_a_wrong_modelslab_root_names_the_documented_one() -> None:
    error = _described("https://modelslab.com/api/v6", "/chat/completions")
    assert error.cause == "base_url"
    assert str(error.hint).endswith(
        f"base_url 'https://modelslab.com/api/v6' is not the API root: ModelsLab's is "
        f"{DEFAULT_BASE_URL!r}"
    )


def test_an_error_body_in_a_200_reply_means_the_model() -> None:
    error = _described(
        "https://modelslab.com/api/v6",
        "/chat/completions",
        error=NotFoundError("Not here", status_code=200),
    )
    assert error.cause == "model"


def test_the_url_shown_has_no_query_fragment_or_user_information() -> None:
    settings = ClientSettings(api_key=KEY, base_url=LOCAL)
    request = httpx2.Request("GET", f"http://user:pw@127.0.0.1:8000/v1/models?key={KEY}#f")
    error = NotFoundError("Not Found", status_code=404)
    describe_not_found(error, httpx2.Response(404, request=request), settings)
    assert error.url == f"{LOCAL}/v1/models"
    assert KEY not in str(error)
    assert "pw" not in str(error)
    ipv6 = _described("http://[::1]:8000", "/chat/completions")
    assert ipv6.url == "http://[::1]:8000/chat/completions"


def test_a_body_that_names_no_model_leaves_model_unset() -> None:
    settings = ClientSettings(api_key=KEY, base_url=LOCAL)
    for content in (b"not json", b'{"model": ""}', b'["model"]', b'{"model": 3}'):
        request = httpx2.Request("POST", LOCAL + "/x", content=content)
        error = NotFoundError("Not Found", status_code=404)
        describe_not_found(error, httpx2.Response(404, request=request), settings)
        assert error.model is None


def test_errors_described_already_or_of_other_classes_are_left_alone() -> None:
    settings = ClientSettings(api_key=KEY, base_url=LOCAL)
    response = httpx2.Response(404, request=httpx2.Request("GET", LOCAL))
    described = NotFoundError("nf", status_code=404, hint="kept")
    describe_not_found(described, response, settings)
    assert (described.hint, described.cause) == ("kept", None)
    other = BadRequestError("bad", status_code=400)
    describe_not_found(other, response, settings)  # type: ignore[arg-type]
    assert other.hint is None
    unsent = NotFoundError("nf", status_code=404)
    describe_not_found(unsent, httpx2.Response(404), settings)
    assert unsent.hint is None
