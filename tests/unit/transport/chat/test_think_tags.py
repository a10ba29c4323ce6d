"""Inline ``<think>...</think>`` reasoning, split out of content whole and in pieces."""

from __future__ import annotations

import itertools

import pytest

from modelslab_transport.chat.think_tags import (
    ThinkTagSplitter,
    ThinkTagStream,
    split_completion,
    split_think_text,
)
from modelslab_transport.wire.chat import ChatCompletion, ChatCompletionChunk

ANSWER_TEXT = (
    "<think>\nLet me check: 6·7 = 42 </thi no, </thinking? fine.\n</think>\n\n"
    "It is 42; write <think> to show tags."
)
REASONING = "Let me check: 6·7 = 42 </thi no, </thinking? fine."
ANSWER = "It is 42; write <think> to show tags."


def _split_in_pieces(pieces: list[str]) -> tuple[str, str]:
    splitter = ThinkTagSplitter()
    reasoning, content = "", ""
    for piece in pieces:
        more_reasoning, more_content = splitter.feed(piece)
        reasoning, content = reasoning + more_reasoning, content + more_content
    more_reasoning, more_content = splitter.finish()
    return reasoning + more_reasoning, content + more_content


def test_whole_text() -> None:
    assert split_think_text(ANSWER_TEXT) == (REASONING, ANSWER)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Plain answer.", (None, "Plain answer.")),
        ("  Indented answer.", (None, "  Indented answer.")),
        ("\n<think>plan</think>Answer", ("plan", "Answer")),  # whitespace first
        (" \n\t<think>\nplan\n</think>\n\nAnswer", ("plan", "Answer")),
        ("\n Answer <think>x</think>", (None, "\n Answer <think>x</think>")),
        ("plan</think>Answer", (None, "plan</think>Answer")),  # the prompt opened it
        ("Use <think>x</think> tags like this.", (None, "Use <think>x</think> tags like this.")),
        ("<thinking>not ours</thinking>", (None, "<thinking>not ours</thinking>")),
        ("<think>cut off by max_tokens", ("cut off by max_tokens", "")),
        ("<think></think>Answer", ("", "Answer")),
        ("<thi", (None, "<thi")),
        ("", (None, "")),
    ],
)
def test_edge_cases(text: str, expected: tuple[str | None, str]) -> None:
    assert split_think_text(text) == expected


def test_every_single_cut_gives_the_whole_result() -> None:
    for cut in range(len(ANSWER_TEXT) + 1):
        assert _split_in_pieces([ANSWER_TEXT[:cut], ANSWER_TEXT[cut:]]) == (REASONING, ANSWER), cut


def test_every_pair_of_cuts_gives_the_whole_result() -> None:
    for first, second in itertools.combinations(range(len(ANSWER_TEXT) + 1), 2):
        pieces = [ANSWER_TEXT[:first], ANSWER_TEXT[first:second], ANSWER_TEXT[second:]]
        assert _split_in_pieces(pieces) == (REASONING, ANSWER), (first, second)


def test_one_character_at_a_time() -> None:
    assert _split_in_pieces(list(ANSWER_TEXT)) == (REASONING, ANSWER)


def test_every_utf8_byte_cut_of_the_encoded_stream() -> None:
    """Cuts inside a multi-byte character are joined by the decoder before splitting."""
    import codecs

    data = ANSWER_TEXT.encode()
    for cut in range(len(data) + 1):
        decoder = codecs.getincrementaldecoder("utf-8")()
        pieces = [decoder.decode(data[:cut]), decoder.decode(data[cut:], final=True)]
        assert _split_in_pieces(pieces) == (REASONING, ANSWER), cut


def test_text_without_tags_passes_through_unheld() -> None:
    splitter = ThinkTagSplitter()
    assert splitter.feed("Hello") == ("", "Hello")
    assert splitter.feed(" <think>") == ("", " <think>")


def test_only_leading_whitespace_and_a_tag_prefix_are_held() -> None:
    splitter = ThinkTagSplitter()
    assert splitter.feed(" \n") == ("", "")  # a <think> may still follow
    assert splitter.feed(" <th") == ("", "")
    assert splitter.feed("en") == ("", " \n <then")  # not the tag: all of it, as it came


@pytest.mark.parametrize("lead", ["\n", "\n\n", "  "])
def test_every_single_cut_after_leading_whitespace(lead: str) -> None:
    text = lead + ANSWER_TEXT
    for cut in range(len(text) + 1):
        assert _split_in_pieces([text[:cut], text[cut:]]) == (REASONING, ANSWER), cut


def _completion(content: str, reasoning: str | None = None) -> ChatCompletion:
    message = {"role": "assistant", "content": content}
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return ChatCompletion.model_validate(
        {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
    )


def test_split_completion_moves_reasoning() -> None:
    split = split_completion(_completion(ANSWER_TEXT))
    assert split.choices[0].message.content == ANSWER
    assert split.choices[0].message.reasoning_content == REASONING


def test_split_completion_leaves_other_answers_alone() -> None:
    original = _completion("Tags: <think>a</think>")
    assert split_completion(original) is original


def _chunk(content: str | None, finish: str | None = None) -> ChatCompletionChunk:
    delta = {} if content is None else {"content": content}
    return ChatCompletionChunk.model_validate(
        {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    )


@pytest.mark.parametrize("cut", range(len(ANSWER_TEXT) + 1))
def test_stream_split_at_every_offset(cut: int) -> None:
    stream = ThinkTagStream()
    chunks = [_chunk(ANSWER_TEXT[:cut]), _chunk(ANSWER_TEXT[cut:]), _chunk(None, "stop")]
    reasoning, content = "", ""
    for chunk in chunks:
        delta = stream.split(chunk).choices[0].delta
        reasoning += delta.reasoning_content or ""
        content += delta.text
    assert stream.flush() is None
    assert (reasoning, content) == (REASONING, ANSWER)


def test_stream_flush_releases_held_text_without_finish_reason() -> None:
    stream = ThinkTagStream()
    assert stream.split(_chunk("<thi")).choices[0].delta.text == ""
    rest = stream.flush()
    assert rest is not None
    assert rest.choices[0].delta.text == "<thi"
