"""Field negotiation: which features a body sends, and which a server's refusal names."""

from __future__ import annotations

import logging

import pytest

from modelslab_transport.errors import APIStatusError, BadRequestError
from modelslab_transport.protocols.negotiation import (
    REFUSABLE_FEATURES,
    features_sent,
    log_refusal,
    negotiable,
    refused_features,
    without_refused,
)
from modelslab_transport.wire import FunctionDefinition, StreamOptions, Tool
from tests.support.wire_requests import chat_request


def test_an_echoed_request_does_not_count_as_a_refusal() -> None:
    # vLLM echoes the whole body in ``input``: every field is named, none is refused.
    error = BadRequestError(
        "[{'type': 'value_error', 'loc': ('body',), 'msg': 'Value error, When using "
        "`tool_choice`, `tools` must be set.', 'input': {'stream_options': {'include_usage': "
        "True}, 'parallel_tool_calls': False, 'tool_choice': 'required'}}]",
        status_code=400,
    )
    sent = features_sent(
        {"stream_options": {}, "parallel_tool_calls": False, "tool_choice": "required"}
    )
    assert sent == {"stream_options", "parallel_tool_calls", "tool_choice"}
    assert refused_features(error, sent) == set()
    wrong_status = BadRequestError("Unsupported param: stream_options", status_code=500)
    assert refused_features(wrong_status, sent) == set()
    assert refused_features(
        BadRequestError("Unsupported param: stream_options", status_code=400), sent
    ) == {"stream_options"}


def test_features_sent_reads_both_protocols_forms() -> None:
    assert features_sent({}) == set()
    assert features_sent({"stream_options": None, "parallel_tool_calls": None}) == set()
    assert features_sent({"tool_choice": {"type": "any"}}) == {"tool_choice"}
    assert features_sent({"tool_choice": "auto"}) == set()
    assert features_sent({"tool_choice": {"type": "tool", "name": "f"}}) == {"named_tool_choice"}
    assert features_sent({"tool_choice": {"type": "auto", "disable_parallel_tool_use": True}}) == {
        "parallel_tool_calls"
    }
    assert features_sent({"tools": [{"name": "f", "strict": True}]}) == {"strict"}
    assert features_sent({"tools": [{"type": "function", "function": {"strict": False}}]}) == {
        "strict"
    }
    assert features_sent({"tools": [{"function": {"name": "f"}}, "junk"]}) == set()


@pytest.mark.parametrize(
    ("message", "refused"),
    [
        ("stream_options: Extra inputs are not permitted", {"stream_options"}),
        ("unknown field `parallel_tool_calls`, expected one of", {"parallel_tool_calls"}),
        ("disable_parallel_tool_use is not supported", {"parallel_tool_calls"}),
        ("'param': 'strict'", {"strict"}),
        ("tool_choice must be a named tool", {"tool_choice"}),
        ("tool_choice=required is not supported", {"tool_choice"}),
        ("No endpoints found that support the provided 'tool_choice' value", {"tool_choice"}),
    ],
)
def test_each_wording_names_its_feature(message: str, refused: set[str]) -> None:
    sent = {"stream_options", "tool_choice", "strict", "parallel_tool_calls"}
    error = BadRequestError(message, status_code=400)
    assert refused_features(error, sent) == refused  # type: ignore[arg-type]


def test_a_refusal_is_read_from_the_body_too_and_only_for_features_sent() -> None:
    error = APIStatusError(
        "Unprocessable", status_code=422, body={"detail": "unknown field stream_options"}
    )
    assert refused_features(error, {"stream_options"}) == {"stream_options"}
    assert refused_features(error, {"strict"}) == set()
    assert refused_features(ValueError("stream_options is not supported"), {"stream_options"}) == (
        set()
    )


def test_a_named_choice_refusal_matches_either_form_of_tool_choice() -> None:
    error = APIStatusError("tool_choice: Input should be 'auto'", status_code=404)
    assert refused_features(error, {"named_tool_choice", "tool_choice"}) == {
        "named_tool_choice",
        "tool_choice",
    }


def _tool(name: str, strict: bool | None = None) -> Tool:
    return Tool(function=FunctionDefinition(name=name, strict=strict))


def test_without_refused_leaves_out_stream_options_and_parallel_tool_calls() -> None:
    request = chat_request(
        stream=True, stream_options=StreamOptions(include_usage=True), parallel_tool_calls=False
    )
    changed = without_refused(request, ["stream_options", "parallel_tool_calls"])
    assert changed.stream_options is None
    assert changed.parallel_tool_calls is None
    assert request.stream_options is not None  # the original is unchanged


def test_required_and_a_named_choice_swap_when_one_tool_is_offered() -> None:
    request = chat_request(tools=[_tool("f")], tool_choice="required")
    assert negotiable(request, "tool_choice")
    named = without_refused(request, ["tool_choice"])
    assert named.tool_choice == {"type": "function", "function": {"name": "f"}}
    assert negotiable(named, "named_tool_choice")
    assert without_refused(named, ["named_tool_choice"]).tool_choice == "required"


def test_required_with_several_tools_has_no_equivalent() -> None:
    request = chat_request(tools=[_tool("f"), _tool("g")], tool_choice="required")
    assert not negotiable(request, "tool_choice")
    assert without_refused(request, ["tool_choice"]) is request
    other = chat_request(
        tools=[_tool("f")], tool_choice={"type": "function", "function": {"name": "g"}}
    )
    assert not negotiable(other, "named_tool_choice")


def test_strict_is_left_out_of_every_tool() -> None:
    request = chat_request(tools=[_tool("f", strict=True), _tool("g")])
    changed = without_refused(request, ["strict"])
    assert [tool.function.strict for tool in changed.tools or []] == [None, None]
    assert without_refused(changed, ["strict"]) is changed


def test_without_refused_returns_the_request_itself_when_nothing_changes() -> None:
    request = chat_request()
    assert without_refused(request, list(REFUSABLE_FEATURES)) is request
    assert negotiable(request, "stream_options")


def test_log_refusal_names_the_features_and_server(caplog: pytest.LogCaptureFixture) -> None:
    error = BadRequestError("Unsupported param: strict", status_code=400)
    with caplog.at_level(logging.DEBUG, logger="modelslab_transport"):
        log_refusal({"strict", "stream_options"}, error, "https://h.example/v1")
    (record,) = caplog.records
    assert "https://h.example/v1 refused stream_options, strict (HTTP 400" in record.getMessage()
