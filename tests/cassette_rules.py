"""How cassettes are written and matched: one set of rules for tests and examples.

Requests are matched on method, endpoint path (the part after the base URL, so a
cassette recorded against a local server at ``/chat/completions`` also serves the
live API's ``/api/v7/llm/chat/completions``) and the parsed JSON body (key order does
not matter; a body ``key`` is ignored because it is scrubbed). Secrets in headers and
bodies are replaced before anything is written.
"""

from __future__ import annotations

import json
import re
from typing import Any

REPLAY_BASE_URL = "http://127.0.0.1:8080"
"""Base URL used when replaying: never contacted, VCR answers first."""
REPLAY_API_KEY = "test-key-for-local-server"
"""A fake key for replay and for local-server recording; it is scrubbed all the same."""
REDACTED = "**REDACTED**"

SECRET_HEADERS = ("authorization", "x-api-key", "api-key", "key", "cookie", "set-cookie")
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


def before_record_request(request: Any) -> Any:
    """Replace secret headers and a body ``key`` before a request is written."""
    for name in list(request.headers):
        if name.lower() in SECRET_HEADERS:
            request.headers[name] = REDACTED
    request.body = _scrub_body(request.body)
    return request


def before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    """Replace secret headers (cookies) before a response is written."""
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            headers[name] = [REDACTED]
    return response


def endpoint(path: str) -> str:
    """The ModelsLab endpoint a path ends with (the path itself if none)."""
    match = _ENDPOINT.search(path.rstrip("/"))
    return match.group(1) if match else path


_DOC_INDENT = re.compile(r"\n[ \t]+")


def _without_doc_indent(value: Any) -> Any:
    """``value`` with the indentation after line breaks of every ``description`` removed.

    Tool descriptions come from Python docstrings, which Python 3.13 dedents at compile
    time and 3.11-3.12 do not: the same tool is described with and without the indent.
    """
    if isinstance(value, dict):
        return {
            key: _DOC_INDENT.sub("\n", item)
            if key == "description" and isinstance(item, str)
            else _without_doc_indent(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_without_doc_indent(item) for item in value]
    return value


def comparable_body(body: Any) -> Any:
    """A body as compared for matching: parsed JSON without ``key`` and without the
    indentation of descriptions (see :func:`_without_doc_indent`), else raw."""
    if body is None or body in (b"", ""):
        return None
    try:
        payload = json.loads(body)
    except (ValueError, TypeError, UnicodeDecodeError):
        return body
    if isinstance(payload, dict):
        payload.pop("key", None)
    return _without_doc_indent(payload)


def endpoint_matcher(r1: Any, r2: Any) -> None:
    """VCR matcher: the same ModelsLab endpoint, whatever base URL precedes it."""
    assert endpoint(r1.path) == endpoint(r2.path), (r1.path, r2.path)


def json_body_matcher(r1: Any, r2: Any) -> None:
    """VCR matcher: equal JSON bodies regardless of key order (raw compare otherwise)."""
    assert comparable_body(r1.body) == comparable_body(r2.body)


def register_matchers(vcr: Any) -> None:
    """Register the two matchers on a ``vcr.VCR`` instance."""
    vcr.register_matcher("endpoint", endpoint_matcher)
    vcr.register_matcher("json_body", json_body_matcher)


def vcr_config() -> dict[str, Any]:
    """The VCR configuration; ``record_mode`` is left to the caller."""
    return {
        "match_on": ["method", "endpoint", "json_body"],
        "before_record_request": before_record_request,
        "before_record_response": before_record_response,
        "filter_headers": [(h, REDACTED) for h in SECRET_HEADERS],
        "decode_compressed_response": True,
        "allow_playback_repeats": True,
        "serializer": "yaml",
    }
