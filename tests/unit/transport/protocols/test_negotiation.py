"""Field negotiation: which features a body sends, and which a server's refusal names."""

from __future__ import annotations

from modelslab_transport.errors import BadRequestError
from modelslab_transport.protocols.negotiation import features_sent, refused_features


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
