"""Reasoning written inline as ``<think>...</think>``, moved to ``reasoning_content``.

Only a ``<think>`` that opens the content (after whitespace) counts; a reply with
``</think>`` but no ``<think>`` is left as it is. Whole replies and streams go through the
same :class:`ThinkTagSplitter`, so both give the same split.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelslab_transport.wire.chat import ChatCompletion, ChatCompletionChunk, ChunkChoice, Delta

__all__ = [
    "CLOSE_TAG",
    "OPEN_TAG",
    "ThinkTagSplitter",
    "ThinkTagStream",
    "split_completion",
    "split_think_text",
]

OPEN_TAG = "<think>"
"""The tag that opens inline reasoning (it must open the content)."""
CLOSE_TAG = "</think>"
"""The tag that ends inline reasoning."""


def _partial_close_length(text: str) -> int:
    """Length of the longest suffix of ``text`` that begins :data:`CLOSE_TAG`."""
    for length in range(min(len(text), len(CLOSE_TAG) - 1), 0, -1):
        if CLOSE_TAG.startswith(text[-length:]):
            return length
    return 0


@dataclass
class ThinkTagSplitter:
    """Splits one answer's text, fed in pieces cut anywhere, into (reasoning, content).

    Only what could still be part of a tag is held back. Whitespace around the tags and
    the reasoning is dropped; an answer without the tags passes through unchanged.
    """

    _state: str = "start"
    _held: str = ""
    found: bool = False
    """Whether the text opened with ``<think>`` (set once that is known)."""

    @property
    def passing_through(self) -> bool:
        """Whether every further piece comes back unchanged as content."""
        return self._state == "content"

    def feed(self, text: str) -> tuple[str, str]:
        """Take the next piece; return the (reasoning, content) that is now certain."""
        if not text:
            return "", ""
        if self._state == "start":
            held = self._held + text
            opening = held.lstrip()
            if len(opening) < len(OPEN_TAG) and OPEN_TAG.startswith(opening):
                self._held = held
                return "", ""
            self._held = ""
            if not opening.startswith(OPEN_TAG):
                self._state = "content"
                return "", held
            self.found = True
            self._state = "think_start"
            return self.feed(opening[len(OPEN_TAG) :])
        if self._state == "think_start":
            text = text.lstrip()
            if not text:
                return "", ""
            self._state = "think"
        if self._state == "think":
            buffer = self._held + text
            end = buffer.find(CLOSE_TAG)
            if end >= 0:
                self._held = ""
                self._state = "after"
                _, content = self.feed(buffer[end + len(CLOSE_TAG) :])
                return buffer[:end].rstrip(), content
            keep = len(buffer) - _partial_close_length(buffer)
            while keep > 0 and buffer[keep - 1].isspace():
                keep -= 1
            self._held = buffer[keep:]
            return buffer[:keep], ""
        if self._state == "after":
            text = text.lstrip()
            if not text:
                return "", ""
            self._state = "content"
        return "", text

    def finish(self) -> tuple[str, str]:
        """The end of the text: return what was held back as (reasoning, content)."""
        held, self._held = self._held, ""
        state, self._state = self._state, "content"
        if state == "start":
            return "", held
        if state == "think":
            return held.rstrip(), ""
        return "", ""


def split_think_text(text: str) -> tuple[str | None, str]:
    """``(reasoning, answer)`` of a whole text; reasoning is None without leading tags."""
    splitter = ThinkTagSplitter()
    reasoning, content = splitter.feed(text)
    more_reasoning, more_content = splitter.finish()
    if not splitter.found:
        return None, text
    return reasoning + more_reasoning, content + more_content


def _joined(first: str | None, second: str | None) -> str | None:
    return (first or "") + (second or "") or None


def split_completion(completion: ChatCompletion) -> ChatCompletion:
    """``completion`` with leading ``<think>`` reasoning moved (list content is untouched)."""
    choices = []
    changed = False
    for choice in completion.choices:
        message = choice.message
        if isinstance(message.content, str):
            reasoning, answer = split_think_text(message.content)
            if reasoning is not None:
                changed = True
                message = message.model_copy(
                    update={
                        "content": answer,
                        "reasoning_content": _joined(message.reasoning_content, reasoning),
                    }
                )
                choice = choice.model_copy(update={"message": message})
        choices.append(choice)
    return completion.model_copy(update={"choices": choices}) if changed else completion


class ThinkTagStream:
    """Applies :class:`ThinkTagSplitter` to one stream's chunks, choice by choice.

    Held-back text comes out with the choice's ``finish_reason``, or from :meth:`flush`.
    """

    def __init__(self) -> None:
        self._splitters: dict[int, ThinkTagSplitter] = {}
        self._through: set[int] = set()  # choices past any leading reasoning

    def passing_through(self, index: int = 0) -> bool:
        """Whether choice ``index`` is past any leading reasoning.

        From then on :meth:`split` returns its chunks unchanged.
        """
        return index in self._through

    def split(self, chunk: ChatCompletionChunk) -> ChatCompletionChunk:
        """The chunk with inline reasoning moved out of its content."""
        if not chunk.choices:
            return chunk
        if len(chunk.choices) == 1:  # the usual chunk, once past any reasoning: as it is
            only = chunk.choices[0]
            if only.index in self._through and not only.finish_reason:
                return chunk
        choices: list[ChunkChoice] = []
        changed = False
        for choice in chunk.choices:
            delta = choice.delta
            if not isinstance(delta.content, str) and delta.content is not None:
                choices.append(choice)
                continue
            splitter = self._splitters.get(choice.index)
            if splitter is None:
                splitter = self._splitters[choice.index] = ThinkTagSplitter()
            elif splitter.passing_through and not choice.finish_reason:
                choices.append(choice)
                continue
            reasoning, content = splitter.feed(delta.content or "")
            if splitter.passing_through:
                self._through.add(choice.index)
            if choice.finish_reason:
                more_reasoning, more_content = splitter.finish()
                reasoning, content = reasoning + more_reasoning, content + more_content
            if content == (delta.content or "") and not reasoning:
                choices.append(choice)
                continue
            changed = True
            new_delta = delta.model_copy(
                update={
                    "content": content,
                    "reasoning_content": _joined(delta.reasoning_content, reasoning),
                }
            )
            choices.append(choice.model_copy(update={"delta": new_delta}))
        return chunk.model_copy(update={"choices": choices}) if changed else chunk

    def flush(self) -> ChatCompletionChunk | None:
        """A chunk with the text still held back (a stream cut inside a tag), or None."""
        choices: list[ChunkChoice] = []
        for index, splitter in sorted(self._splitters.items()):
            reasoning, content = splitter.finish()
            if reasoning or content:
                choices.append(
                    ChunkChoice(
                        index=index,
                        delta=Delta(content=content, reasoning_content=reasoning or None),
                    )
                )
        return (
            ChatCompletionChunk(object="chat.completion.chunk", choices=choices)
            if choices
            else None
        )
