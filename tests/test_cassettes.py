"""Checks over every recorded cassette: no secrets, recorded hosts only, SDK-valid bodies.

* **Secrets.** Authorization / x-api-key / api-key / cookie headers must hold the
  redaction marker, a JSON body ``key`` too; nothing in a cassette may look like a
  credential (``sk-…``, ``Bearer <token>``, well-known token formats), and the fake
  recording key ``test-key-for-local-server`` must be scrubbed like a real one.
* **Hosts.** Requests went to loopback (the local llama-server) or to modelslab.com
  (the live API): hosts stay as recorded.
* **Wire format.** Every successful response is validated against the official SDK
  types: ``/chat/completions`` with ``openai.types.chat.ChatCompletion`` (each SSE
  chunk with ``ChatCompletionChunk``), ``/v1/messages`` with ``anthropic.types.Message``
  (each stream event with ``anthropic.types.RawMessageStreamEvent``),
  ``/v1/messages/count_tokens`` with ``anthropic.types.MessageTokensCount`` and each
  ``/v1/models`` entry with ``openai.types.Model``, all in pydantic strict mode. The SDK
  types accept undeclared fields; those are listed in :data:`KNOWN_EXTRA_FIELDS` (with the
  server that sends them and why) so that a new one is noticed, not silently accepted.
  Documented deviations of the recording server are handled in :data:`SERVER_QUIRKS`,
  by name, for that server only.

The cassettes are read as plain YAML: these checks need neither VCR nor a network.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import os
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anthropic.types
import openai.types
import openai.types.chat
import pydantic
import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]  # no stubs in the dev extra

from tests.cassette_rules import REDACTED, REPLAY_API_KEY, endpoint

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
CASSETTE_FILES = sorted(CASSETTES.rglob("*.yaml"))

# ------------------------------------------------------------------------ loading


@dataclass(frozen=True)
class Interaction:
    """One recorded request and its response."""

    cassette: str
    """The cassette, relative to ``cassettes/``."""
    number: int
    """Position in the cassette (0-based)."""
    method: str
    uri: str
    request_headers: dict[str, list[str]]
    request_body: str | None
    status: int
    response_headers: dict[str, list[str]]
    response_body: str | None

    @property
    def where(self) -> str:
        return f"{self.cassette} #{self.number} ({self.method} {self.uri})"

    @property
    def endpoint(self) -> str:
        return endpoint(urlsplit(self.uri).path)

    def response_header(self, name: str) -> str:
        for key, values in self.response_headers.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return ""


def _text(body: Any) -> str | None:
    if isinstance(body, dict):  # a response body: {"string": ...}
        body = body.get("string")
    if body is None:
        return None
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return str(body)


def _headers(raw: Any) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, values in (raw or {}).items():
        headers[str(name)] = [str(v) for v in (values if isinstance(values, list) else [values])]
    return headers


@functools.cache
def load_cassette(path: Path) -> list[Interaction]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when built
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    assert isinstance(data, dict), f"{path} is not a VCR cassette"
    assert isinstance(data.get("interactions"), list), f"{path} has no interactions"
    name = str(path.relative_to(CASSETTES))
    interactions = []
    for number, raw in enumerate(data["interactions"]):
        request, response = raw["request"], raw["response"]
        interactions.append(
            Interaction(
                cassette=name,
                number=number,
                method=str(request["method"]),
                uri=str(request["uri"]),
                request_headers=_headers(request.get("headers")),
                request_body=_text(request.get("body")),
                status=int(response["status"]["code"]),
                response_headers=_headers(response.get("headers")),
                response_body=_text(response.get("body")),
            )
        )
    return interactions


def _cassette_param(path: Path) -> Any:
    return pytest.param(path, id=str(path.relative_to(CASSETTES)))


cassette_files = pytest.mark.parametrize("path", [_cassette_param(p) for p in CASSETTE_FILES])


def test_there_are_cassettes_to_check() -> None:
    assert len(CASSETTE_FILES) > 0, f"no cassettes under {CASSETTES}"


# ------------------------------------------------------------------------ secrets

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "key",
        "cookie",
        "set-cookie",
    }
)
"""Headers whose value must be the redaction marker, whatever ``cassette_rules`` scrubs."""

SECRET_BODY_KEYS = frozenset({"key", "api_key", "apikey", "access_token", "secret"})
"""Top-level JSON body fields (ModelsLab's legacy auth sends ``key``) that must be redacted."""

SECRET_QUERY_PARAMETERS = frozenset({"key", "api_key", "apikey", "token", "access_token"})
"""URL query parameters that would carry a credential."""

SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    "the fake recording key": re.compile(re.escape(REPLAY_API_KEY)),
    "an sk- API key": re.compile(r"(?<![A-Za-z0-9])sk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_]{16,}"),
    "a Bearer token": re.compile(r"Bearer\s+(?!\*\*REDACTED\*\*)[A-Za-z0-9._~+/=-]{8,}"),
    "a JWT": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\."),
    "an AWS access key id": re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "a Hugging Face token": re.compile(r"\bhf_[A-Za-z0-9]{30,}"),
    "a Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    "a Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
}
"""Strings that look like credentials wherever they appear in a cassette file."""


def _live_key_pattern() -> dict[str, re.Pattern[str]]:
    """The real key of this environment, if any, must not appear either."""
    key = os.environ.get("MODELSLAB_API_KEY", "").strip()
    if len(key) < 8 or key == REPLAY_API_KEY:
        return {}
    return {"the MODELSLAB_API_KEY of this environment": re.compile(re.escape(key))}


def find_secrets(text: str, interactions: list[Interaction]) -> list[str]:
    """Everything secret-looking in a cassette's raw text and its parsed interactions."""
    problems = []
    for what, pattern in {**SECRET_PATTERNS, **_live_key_pattern()}.items():
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"line {line}: {what}: {match.group(0)[:12]}…")
    for interaction in interactions:
        for side, headers in (
            ("request", interaction.request_headers),
            ("response", interaction.response_headers),
        ):
            for name, values in headers.items():
                if name.lower() in SECRET_HEADERS and any(v != REDACTED for v in values):
                    problems.append(f"{interaction.where}: {side} header {name} is not redacted")
        for side, body in (
            ("request", interaction.request_body),
            ("response", interaction.response_body),
        ):
            try:
                payload = json.loads(body) if body else None
            except ValueError:
                continue
            if isinstance(payload, dict):
                for name in SECRET_BODY_KEYS & payload.keys():
                    if payload[name] != REDACTED:
                        problems.append(
                            f"{interaction.where}: {side} body {name!r} is not redacted"
                        )
        for name, value in parse_qsl(urlsplit(interaction.uri).query):
            if name.lower() in SECRET_QUERY_PARAMETERS and value != REDACTED:
                problems.append(f"{interaction.where}: query parameter {name!r} is not redacted")
    return problems


@cassette_files
def test_cassette_holds_no_secret(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    problems = find_secrets(text, load_cassette(path))
    assert not problems, "secret-looking content:\n" + "\n".join(problems)


# -------------------------------------------------------------------------- hosts


def is_recorded_host(host: str) -> bool:
    """Loopback (the local llama-server) or ModelsLab itself."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "modelslab.com" or host.endswith(".modelslab.com")


@cassette_files
def test_cassette_hosts_are_loopback_or_modelslab(path: Path) -> None:
    problems = []
    for interaction in load_cassette(path):
        parts = urlsplit(interaction.uri)
        if parts.scheme not in ("http", "https") or not is_recorded_host(parts.hostname or ""):
            problems.append(f"{interaction.where}: host {parts.hostname!r}")
        for name, values in interaction.request_headers.items():
            if name.lower() == "host":
                hosts = [urlsplit(f"//{value}").hostname or "" for value in values]
                problems += [
                    f"{interaction.where}: host header {h!r}"
                    for h in hosts
                    if not is_recorded_host(h)
                ]
    assert not problems, "requests to hosts other than loopback or modelslab.com:\n" + "\n".join(
        problems
    )


# ------------------------------------------------------------ the scan's own tests


def _fake_interaction(**changes: Any) -> Interaction:
    values: dict[str, Any] = {
        "cassette": "fake.yaml",
        "number": 0,
        "method": "POST",
        "uri": "http://127.0.0.1:8080/chat/completions",
        "request_headers": {"authorization": [REDACTED]},
        "request_body": json.dumps({"model": "m", "key": REDACTED}),
        "status": 200,
        "response_headers": {"content-type": ["application/json"]},
        "response_body": "{}",
    }
    values.update(changes)
    return Interaction(**values)


@pytest.mark.parametrize(
    ("text", "changes"),
    [
        pytest.param("", {"request_headers": {"Authorization": ["Bearer abc"]}}, id="header"),
        pytest.param("", {"request_headers": {"x-api-key": ["k-123"]}}, id="x-api-key"),
        pytest.param("", {"response_headers": {"set-cookie": ["session=1"]}}, id="cookie"),
        pytest.param("", {"request_body": '{"key": "abc"}'}, id="body-key"),
        pytest.param("", {"uri": "https://modelslab.com/x?key=abc"}, id="query"),
        pytest.param("authorization: Bearer abcdefgh12345678", {}, id="bearer"),
        pytest.param("sk-proj-abcdefghijklmnopqrstuvwx", {}, id="sk-key"),
        pytest.param(f"'{REPLAY_API_KEY}'", {}, id="fake-key"),
        pytest.param("ghp_" + "a" * 36, {}, id="github"),
    ],
)
def test_the_secret_scan_finds_planted_secrets(text: str, changes: dict[str, Any]) -> None:
    assert find_secrets(text, [_fake_interaction(**changes)])


def test_the_secret_scan_passes_redacted_cassettes() -> None:
    text = "authorization:\n- '**REDACTED**'\nBearer **REDACTED**\ndesk-lamp task-force"
    assert find_secrets(text, [_fake_interaction()]) == []


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("modelslab.com", True),
        ("api.modelslab.com", True),
        ("evil-modelslab.com", False),
        ("modelslab.com.example.org", False),
        ("10.0.0.1", False),
        ("api.openai.com", False),
    ],
)
def test_recorded_host_rule(host: str, allowed: bool) -> None:
    assert is_recorded_host(host) is allowed


# -------------------------------------------------------------- SDK validation


@dataclass(frozen=True)
class Quirk:
    """A documented way the recording server's bodies differ from the official SDK types."""

    name: str
    server: str
    """The ``server`` response header of the server that has it."""
    applies: Callable[[str, dict[str, Any]], bool]
    """(what, payload) -> whether this quirk explains the payload."""
    normalize: Callable[[dict[str, Any]], dict[str, Any]]
    """The payload as the SDK expects it (a copy)."""
    reason: str


def _tool_use_start_without_input(what: str, payload: dict[str, Any]) -> bool:
    block = payload.get("content_block")
    return (
        what == "stream event"
        and payload.get("type") == "content_block_start"
        and isinstance(block, dict)
        and block.get("type") == "tool_use"
        and "input" not in block
    )


def _add_empty_input(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "content_block": {**payload["content_block"], "input": {}}}


LLAMA_CPP_TOOL_USE_START_WITHOUT_INPUT = Quirk(
    name="llama.cpp: content_block_start of a tool_use block has no input",
    server="llama.cpp",
    applies=_tool_use_start_without_input,
    normalize=_add_empty_input,
    reason=(
        "Anthropic's API opens a streamed tool_use block with "
        '{"type": "tool_use", "id": ..., "name": ..., "input": {}} and then streams the '
        "input as input_json_delta fragments; llama-server (b0-0c1e57098) leaves out the "
        "empty 'input', which anthropic.types.ToolUseBlock requires. The transport does not "
        "read 'input' from content_block_start (it assembles the input from the deltas), so "
        "the omission is harmless to it; the rest of the event is validated as usual."
    ),
)

SERVER_QUIRKS: tuple[Quirk, ...] = (LLAMA_CPP_TOOL_USE_START_WITHOUT_INPUT,)
"""Every tolerated deviation from the SDK types, by name. Nothing else is tolerated."""

KNOWN_EXTRA_FIELDS: dict[str, dict[str, str]] = {
    "llama.cpp": {
        "ChatCompletion.timings": "llama-server's prompt/generation timing statistics",
        "ChatCompletionChunk.timings": "the same statistics, on the final stream chunks",
        "Model.aliases": "llama-server's --alias names for the model",
        "Model.tags": "llama-server's model tags",
        "Model.meta": "llama-server's GGUF metadata (vocabulary, context, parameters, size)",
        "models": "llama-server's Ollama-style copy of the model list beside 'data'",
    },
}
"""Fields the SDK types do not declare (and accept as extras), by server, with what they are."""

_STREAM_EVENT = pydantic.TypeAdapter(anthropic.types.RawMessageStreamEvent)
_STREAM_EVENT_CLASSES: dict[str, type[pydantic.BaseModel]] = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(anthropic.types.RawMessageStreamEvent)[0])
}
"""The union's members by their ``type``, to report a failing event against its own class."""


def _validate_stream_event(payload: dict[str, Any]) -> pydantic.BaseModel | None:
    kind = payload.get("type")
    if kind == "ping":  # a documented keep-alive, which the SDK drops before the union
        assert payload == {"type": "ping"}, payload
        return None
    if kind == "error":  # a documented mid-stream error event
        return anthropic.types.ErrorResponse.model_validate(payload, strict=True)
    try:
        event: pydantic.BaseModel = _STREAM_EVENT.validate_python(payload, strict=True)
    except pydantic.ValidationError:
        cls = _STREAM_EVENT_CLASSES.get(str(kind))
        if cls is None:
            raise
        cls.model_validate(payload, strict=True)  # the same failure, without the union noise
        raise
    return event


def _validate_model_list(payload: dict[str, Any]) -> list[pydantic.BaseModel]:
    assert payload.get("object") == "list", payload.get("object")
    assert isinstance(payload.get("data"), list), "no 'data' list"
    return [openai.types.Model.model_validate(entry, strict=True) for entry in payload["data"]]


VALIDATORS: dict[tuple[str, bool], tuple[str, Callable[[dict[str, Any]], Any]]] = {
    ("/chat/completions", False): (
        "ChatCompletion",
        lambda p: openai.types.chat.ChatCompletion.model_validate(p, strict=True),
    ),
    ("/chat/completions", True): (
        "ChatCompletionChunk",
        lambda p: openai.types.chat.ChatCompletionChunk.model_validate(p, strict=True),
    ),
    ("/v1/messages", False): (
        "Message",
        lambda p: anthropic.types.Message.model_validate(p, strict=True),
    ),
    ("/v1/messages", True): ("stream event", _validate_stream_event),
    ("/v1/messages/count_tokens", False): (
        "MessageTokensCount",
        lambda p: anthropic.types.MessageTokensCount.model_validate(p, strict=True),
    ),
    ("/v1/models", False): ("model list", _validate_model_list),
}
"""(endpoint, streamed) -> (what the body is, its SDK validation)."""


@dataclass(frozen=True)
class SSEEvent:
    event: str | None
    data: str


def parse_sse(text: str) -> Iterator[SSEEvent]:
    """Server-sent events as the spec defines them (multi-line data joined, comments skipped)."""
    name: str | None = None
    data: list[str] = []
    for line in [*text.splitlines(), ""]:
        if not line:
            if data:
                yield SSEEvent(name, "\n".join(data))
            name, data = None, []
        elif line.startswith(":"):
            continue
        else:
            field_name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field_name == "data":
                data.append(value)
            elif field_name == "event":
                name = value


def _extra_fields(value: Any, owner: str = "") -> Iterator[str]:
    """``Class.field`` for every field an SDK model accepted without declaring it."""
    if isinstance(value, pydantic.BaseModel):
        for name in value.model_extra or {}:
            yield f"{type(value).__name__}.{name}"
        for name in type(value).model_fields:
            yield from _extra_fields(getattr(value, name, None))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _extra_fields(item)


@dataclass
class ValidationReport:
    """What validating one cassette found."""

    problems: list[str] = field(default_factory=list)
    validated: dict[str, int] = field(default_factory=dict)
    """Bodies validated, by what they were."""
    quirks: dict[str, int] = field(default_factory=dict)
    """Server quirks applied, by name."""
    extras: dict[str, set[str]] = field(default_factory=dict)
    """Undeclared fields seen, by server."""


def _payloads(interaction: Interaction) -> Iterator[tuple[bool, str, dict[str, Any] | str]]:
    """(streamed, where, JSON payload or a problem) for each body in a response."""
    body = interaction.response_body or ""
    content_type = interaction.response_header("content-type").lower()
    if content_type.startswith("text/event-stream"):
        for number, event in enumerate(parse_sse(body)):
            where = f"{interaction.where} event {number}"
            if event.data.strip() == "[DONE]":
                continue
            try:
                payload = json.loads(event.data)
            except ValueError:
                yield True, where, f"data is not JSON: {event.data[:80]!r}"
                continue
            if not isinstance(payload, dict):
                yield True, where, f"data is not a JSON object: {event.data[:80]!r}"
                continue
            if event.event is not None and event.event != payload.get("type"):
                yield True, where, f"event {event.event!r} carries type {payload.get('type')!r}"
                continue
            yield True, where, payload
    else:
        try:
            payload = json.loads(body)
        except ValueError:
            yield False, interaction.where, f"body is not JSON: {body[:80]!r}"
            return
        if not isinstance(payload, dict):
            yield False, interaction.where, "body is not a JSON object"
            return
        yield False, interaction.where, payload


def validate_interaction(interaction: Interaction, report: ValidationReport) -> None:
    """Validate a successful response's bodies against the SDK types, into ``report``."""
    if not 200 <= interaction.status < 300:
        return  # error bodies are not SDK success types (the transport tests cover them)
    server = interaction.response_header("server")
    for streamed, where, payload in _payloads(interaction):
        if isinstance(payload, str):
            report.problems.append(f"{where}: {payload}")
            continue
        entry = VALIDATORS.get((interaction.endpoint, streamed))
        if entry is None:
            mode = "streamed" if streamed else "plain"
            report.problems.append(f"{where}: no SDK type for a {mode} {interaction.endpoint}")
            continue
        what, validate = entry
        for quirk in SERVER_QUIRKS:
            if quirk.server == server and quirk.applies(what, payload):
                payload = quirk.normalize(payload)
                report.quirks[quirk.name] = report.quirks.get(quirk.name, 0) + 1
        try:
            validated = validate(payload)
        except (pydantic.ValidationError, AssertionError) as exc:
            report.problems.append(f"{where}: not a valid {what}: {exc}")
            continue
        report.validated[what] = report.validated.get(what, 0) + 1
        extras = set(_extra_fields(validated))
        if what == "model list":
            extras |= set(payload) - {"object", "data"}
        report.extras.setdefault(server, set()).update(extras)


@functools.cache
def validate_cassette(path: Path) -> ValidationReport:
    """The validation report of one cassette (computed once; do not modify it)."""
    report = ValidationReport()
    for interaction in load_cassette(path):
        validate_interaction(interaction, report)
    return report


@cassette_files
def test_recorded_bodies_match_the_official_sdk_types(path: Path) -> None:
    report = validate_cassette(path)
    assert not report.problems, "\n\n".join(report.problems)


@cassette_files
def test_undeclared_fields_are_known(path: Path) -> None:
    report = validate_cassette(path)
    unknown = {
        f"{name} (server {server or 'unknown'!r})"
        for server, names in report.extras.items()
        for name in names - KNOWN_EXTRA_FIELDS.get(server, {}).keys()
    }
    assert not unknown, (
        "fields the SDK types do not declare; describe them in KNOWN_EXTRA_FIELDS: "
        + ", ".join(sorted(unknown))
    )


def test_every_sdk_type_is_exercised_by_some_cassette() -> None:
    """The validation is not vacuous: each endpoint and mode has recorded bodies."""
    seen: dict[str, int] = {}
    for path in CASSETTE_FILES:
        for what, count in validate_cassette(path).validated.items():
            seen[what] = seen.get(what, 0) + count
    expected = {what for what, _ in VALIDATORS.values()}
    assert expected <= seen.keys(), f"never validated: {sorted(expected - seen.keys())}"


def test_a_quirk_does_not_hide_other_problems() -> None:
    """The tool_use quirk adds only the missing input; a broken event still fails."""
    event = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "tool_use", "id": "call_1", "name": "get_weather"},
    }
    interaction = _fake_interaction(
        uri="http://127.0.0.1:8080/v1/messages",
        response_headers={"content-type": ["text/event-stream"], "server": ["llama.cpp"]},
        response_body=f"event: content_block_start\ndata: {json.dumps(event)}\n\n",
    )
    report = ValidationReport()
    validate_interaction(interaction, report)
    assert report.problems == []
    assert report.quirks == {LLAMA_CPP_TOOL_USE_START_WITHOUT_INPUT.name: 1}

    other_server = _fake_interaction(
        uri=interaction.uri,
        response_headers={"content-type": ["text/event-stream"], "server": ["nginx"]},
        response_body=interaction.response_body,
    )
    report = ValidationReport()
    validate_interaction(other_server, report)
    assert len(report.problems) == 1
    assert "input" in report.problems[0]

    broken = {**event, "content_block": {"type": "tool_use", "name": "get_weather"}}
    report = ValidationReport()
    validate_interaction(
        _fake_interaction(
            uri=interaction.uri,
            response_headers=interaction.response_headers,
            response_body=f"data: {json.dumps(broken)}\n\n",
        ),
        report,
    )
    assert len(report.problems) == 1
    assert "id" in report.problems[0]


def test_sdk_validation_rejects_a_malformed_chat_completion() -> None:
    body = {"id": "x", "object": "chat.completion", "created": 1, "model": "m", "choices": [{}]}
    report = ValidationReport()
    validate_interaction(_fake_interaction(response_body=json.dumps(body)), report)
    assert len(report.problems) == 1
    assert "ChatCompletion" in report.problems[0]
