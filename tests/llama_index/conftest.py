"""Fixtures for the cassette-backed ModelsLabLLM tests.

Recorded from a real server (``python -m tools.recording record tests/llama_index``);
replayed by default. The recording model is tiny (SmolLM2-135M-Instruct), so the tests
assert structure (types, non-empty text, tool names and arguments, usage), not wisdom.
"""

from __future__ import annotations

import os

import pytest

from llama_index_modelslab import ModelsLabLLM

RECORDED_MODEL = os.environ.get("MODELSLAB_TEST_MODEL", "SmolLM2-135M-Instruct")
"""The model name sent in cassette-backed requests (it is part of the matched body)."""

RECORDING_CONTEXT_WINDOW = 4096
"""The recording server's context size (``-c 4096``)."""


def recorded_llm(base_url: str, api_key: str, **fields: object) -> ModelsLabLLM:
    """A ModelsLabLLM for cassette-backed tests: greedy, short answers, no retries."""
    settings: dict[str, object] = {
        "model": RECORDED_MODEL,
        "base_url": base_url,
        "api_key": api_key,
        "temperature": 0.0,
        "max_tokens": 48,
        "max_retries": 0,
        "context_window": RECORDING_CONTEXT_WINDOW,
    }
    settings.update(fields)
    return ModelsLabLLM(**settings)  # type: ignore[arg-type]


@pytest.fixture
def api() -> str:
    """The protocol the LLM fixtures speak; a module parametrizes it to cover both."""
    return "chat_completions"


@pytest.fixture
def llm(server_base_url: str, server_api_key: str, api: str) -> ModelsLabLLM:
    """The LLM for plain chat tests."""
    return recorded_llm(server_base_url, server_api_key, api=api)


@pytest.fixture
def tools_llm(tools_base_url: str, server_api_key: str, api: str) -> ModelsLabLLM:
    """The LLM for tool-calling and structured-output tests."""
    return recorded_llm(tools_base_url, server_api_key, max_tokens=96, api=api)
