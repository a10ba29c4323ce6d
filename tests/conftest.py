"""Shared test configuration: VCR cassettes under ``cassettes/``, secrets scrubbed.

Replay is the default (pytest-recording's ``--record-mode`` defaults to ``none``), so
a test whose cassette is missing fails loudly instead of calling out. Recording is
done only by ``python -m tests.recording record`` (see the README), which starts a
real server and passes ``--record-mode=rewrite``.

Requests are matched on method, endpoint path (the part after the base URL, so a
cassette recorded against a local server at ``/chat/completions`` also serves the
live API's ``/api/v7/llm/chat/completions``) and the parsed JSON body (key order does
not matter; a body ``key`` is ignored because it is scrubbed).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CASSETTES = REPO_ROOT / "cassettes"

REPLAY_BASE_URL = "http://127.0.0.1:8080"
"""Base URL tests use when replaying: never contacted, VCR answers first."""
REPLAY_API_KEY = "test-key-for-local-server"
"""A fake key for replay and for local-server recording; it is scrubbed all the same."""
REDACTED = "**REDACTED**"

_SECRET_HEADERS = ("authorization", "x-api-key", "api-key", "key", "cookie", "set-cookie")
_ENDPOINT = re.compile(r"(/v1/messages/count_tokens|/v1/messages|/v1/models|/chat/completions)$")


def _scrub_body(body: Any) -> Any:
    if not body:
        return body
    try:
        payload = json.loads(body)
    except (ValueError, TypeError, UnicodeDecodeError):
        return body
    if isinstance(payload, dict) and "key" in payload:
        payload["key"] = REDACTED
        return json.dumps(payload).encode()
    return body


def _before_record_request(request: Any) -> Any:
    for name in list(request.headers):
        if name.lower() in _SECRET_HEADERS:
            request.headers[name] = REDACTED
    request.body = _scrub_body(request.body)
    return request


def _before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in _SECRET_HEADERS:
            headers[name] = [REDACTED]
    return response


def _endpoint(path: str) -> str:
    match = _ENDPOINT.search(path.rstrip("/"))
    return match.group(1) if match else path


def _json_or_raw(body: Any) -> Any:
    if body is None or body == b"" or body == "":
        return None
    try:
        payload = json.loads(body)
    except (ValueError, TypeError, UnicodeDecodeError):
        return body
    if isinstance(payload, dict):
        payload.pop("key", None)
    return payload


def endpoint_matcher(r1: Any, r2: Any) -> None:
    """VCR matcher: the same ModelsLab endpoint, whatever base URL precedes it."""
    assert _endpoint(r1.path) == _endpoint(r2.path), (r1.path, r2.path)


def json_body_matcher(r1: Any, r2: Any) -> None:
    """VCR matcher: equal JSON bodies regardless of key order (raw compare otherwise)."""
    assert _json_or_raw(r1.body) == _json_or_raw(r2.body)


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Register the matchers with every VCR instance pytest-recording builds."""
    vcr.register_matcher("endpoint", endpoint_matcher)
    vcr.register_matcher("json_body", json_body_matcher)


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    """The VCR configuration; ``record_mode`` is left to the command line."""
    return {
        "match_on": ["method", "endpoint", "json_body"],
        "before_record_request": _before_record_request,
        "before_record_response": _before_record_response,
        "filter_headers": [(h, REDACTED) for h in _SECRET_HEADERS],
        "decode_compressed_response": True,
        "allow_playback_repeats": True,
        "serializer": "yaml",
    }


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Cassettes live in ``cassettes/<tests sub-folder>/<module>/``."""
    module = Path(request.node.fspath)
    relative = module.parent.relative_to(REPO_ROOT / "tests")
    return str(CASSETTES / relative / module.stem)


@pytest.fixture(scope="session")
def server_base_url() -> str:
    """Where cassette-backed tests send requests.

    While recording, ``MODELSLAB_BASE_URL`` names the real server (the local
    llama-server, or unset for the live API); while replaying, a loopback placeholder.
    """
    return os.environ.get("MODELSLAB_BASE_URL") or (
        "https://modelslab.com/api/v7/llm"
        if os.environ.get("MODELSLAB_API_KEY")
        else REPLAY_BASE_URL
    )


@pytest.fixture(scope="session")
def server_api_key() -> str:
    """The key cassette-backed tests send (scrubbed from cassettes either way)."""
    return os.environ.get("MODELSLAB_API_KEY") or REPLAY_API_KEY


@pytest.fixture(scope="session")
def tools_base_url(server_base_url: str) -> str:
    """Where tool-calling tests send requests while recording (a second server if needed)."""
    return os.environ.get("MODELSLAB_TOOLS_BASE_URL") or server_base_url
