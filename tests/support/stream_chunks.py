"""Hypothesis strategies for chat streams: chunk sequences of every shape a converter meets.

Text pieces (some with ``<think>`` tags, empty or absent content, list content), reasoning,
tool-call fragments, logprobs, finish reasons, usage on a text chunk or alone, a second
choice, and ids, models and fingerprints that come late or change.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from modelslab_transport.wire import ChatCompletionChunk

_TEXT = st.sampled_from(["", " ", "Hel", "lo ", "<think>", "why", "</think>", "\n", "é", "<thi"])
_HEADER = {
    "id": st.sampled_from([None, "", "chatcmpl-1", "chatcmpl-2"]),
    "model": st.sampled_from([None, "m-1", "m-2"]),
    "system_fingerprint": st.sampled_from([None, "fp-1"]),
}
_USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


@st.composite
def _chunk(draw: st.DrawFn) -> dict[str, Any]:
    body: dict[str, Any] = {"object": "chat.completion.chunk"}
    for name, values in _HEADER.items():
        value = draw(values)
        if value is not None:
            body[name] = value
    kind = draw(
        st.sampled_from(
            ["text"] * 8 + ["reasoning", "tool", "logprobs", "finish", "usage", "list", "none"]
        )
    )
    if kind == "usage":
        body["choices"] = []
        body["usage"] = _USAGE
        return body
    delta: dict[str, Any] = {}
    if draw(st.booleans()) and draw(st.booleans()):
        delta["role"] = "assistant"
    if kind == "list":
        delta["content"] = [{"type": "text", "text": draw(_TEXT)}]
    elif kind != "none":
        delta["content"] = draw(_TEXT)
    choice: dict[str, Any] = {"index": draw(st.sampled_from([0] * 6 + [1])), "delta": delta}
    if kind == "reasoning":
        delta["reasoning_content"] = "step "
    elif kind == "tool":
        fragment: dict[str, Any] = {"index": 0, "function": {"arguments": '{"a": 1'}}
        if draw(st.booleans()):
            fragment.update(id="call_1", type="function")
            fragment["function"]["name"] = "lookup"
        delta["tool_calls"] = [fragment]
    elif kind == "logprobs":
        choice["logprobs"] = {"content": [{"token": "x", "logprob": -0.5, "top_logprobs": []}]}
    elif kind == "finish":
        choice["finish_reason"] = draw(st.sampled_from(["stop", "length", "tool_calls"]))
    body["choices"] = [choice]
    if draw(st.integers(0, 9)) == 0:
        body["usage"] = _USAGE
    return body


def chunk_streams(max_size: int = 12) -> st.SearchStrategy[list[ChatCompletionChunk]]:
    """Lists of validated chunks, mostly text for the first choice."""
    return st.lists(_chunk(), max_size=max_size).map(
        lambda bodies: [ChatCompletionChunk.model_validate(body) for body in bodies]
    )
