"""LlamaIndex stream conversion: wire chunks -> ``ChatResponse``, without any HTTP."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llama_index_modelslab.conversions import StreamConverter, tool_selections
from modelslab_transport.wire import ChatCompletionChunk
from tests.support.replies import chunk
from tests.support.stream_chunks import chunk_streams

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _responses(
    chunks: list[ChatCompletionChunk], *, split_think_tags: bool, general_only: bool
) -> list[Any]:
    converter = StreamConverter(split_think_tags=split_think_tags)
    responses = []
    for wire in chunks:
        if general_only:
            converter._plain = False  # every chunk through the general path
        responses.append(converter.convert(wire))
    last = converter.finish()
    if last is not None:
        responses.append(last)
    out: list[Any] = []
    for response in responses:
        try:
            selections: Any = [s.model_dump() for s in tool_selections(response.message)]
        except Exception as exc:  # a finished reply's broken call raises; compare that too
            selections = repr(exc)
        out.append((response.model_dump(exclude={"raw"}), response.raw, selections))
    return out


@FAST
@given(chunks=chunk_streams(), split_think_tags=st.booleans())
def test_text_chunks_direct_path_yields_what_the_general_path_does(
    chunks: list[ChatCompletionChunk], split_think_tags: bool
) -> None:
    direct = _responses(chunks, split_think_tags=split_think_tags, general_only=False)
    general = _responses(chunks, split_think_tags=split_think_tags, general_only=True)
    assert direct == general


def test_text_chunks_carry_the_text_so_far_and_the_delta() -> None:
    converter = StreamConverter()
    first = converter.convert(ChatCompletionChunk.model_validate(chunk("", role="assistant")))
    second = converter.convert(ChatCompletionChunk.model_validate(chunk("Hel")))
    third = converter.convert(ChatCompletionChunk.model_validate(chunk("lo")))
    assert [r.delta for r in (first, second, third)] == ["", "Hel", "lo"]
    assert [r.message.content for r in (first, second, third)] == ["", "Hel", "Hello"]
    assert third.message.additional_kwargs == {}
    assert third.additional_kwargs == {}
    assert third.raw.choices[0].delta.content == "lo"
    end = converter.convert(ChatCompletionChunk.model_validate(chunk(finish_reason="stop")))
    assert end.message.content == "Hello"
    assert end.message.additional_kwargs == {"finish_reason": "stop"}
