"""The model profiles' data file, its sources, and the structured/reasoning capabilities.

The LangChain profile exposes ``structured_output`` and ``reasoning_output`` (the fields
``create_agent`` reads) exactly where a cited source says so, and leaves them out otherwise.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from langchain.agents.factory import _supports_provider_strategy

from langchain_modelslab import ChatModelsLab
from modelslab_transport.config.model_profiles import (
    DEFAULT_PROFILE,
    MODEL_FAMILIES,
    MODEL_PROFILES,
    model_profile,
)

VALUES = (
    "context_window",
    "max_output_tokens",
    "tool_calling",
    "vision",
    "json_mode",
    "structured_output",
    "reasoning",
)


def _data() -> dict[str, Any]:
    text = (
        resources.files("modelslab_transport.config")
        .joinpath("model_profiles.json")
        .read_text("utf-8")
    )
    return json.loads(text)  # type: ignore[no-any-return]


def _entries() -> list[tuple[str, dict[str, Any]]]:
    data = _data()
    return [
        ("default", data["default"]),
        *data["models"].items(),
        *((family["pattern"], family) for family in data["families"]),
    ]


def test_the_data_file_is_a_package_resource_and_the_table_is_read_from_it() -> None:
    data = _data()
    assert list(data["models"]) == list(MODEL_PROFILES)
    assert [family["pattern"] for family in data["families"]] == [p for p, _ in MODEL_FAMILIES]
    for model, entry in data["models"].items():
        profile = MODEL_PROFILES[model]
        assert {name: getattr(profile, name) for name in VALUES} == {
            name: entry[name] for name in VALUES
        }
        assert profile.sources == tuple(entry["source"]["urls"])
    assert DEFAULT_PROFILE.context_window == data["default"]["context_window"] == 8192


@pytest.mark.parametrize(("name", "entry"), _entries(), ids=[name for name, _ in _entries()])
def test_every_entry_has_a_source(name: str, entry: dict[str, Any]) -> None:
    assert set(entry) >= {*VALUES, "source"}
    assert entry["source"]["urls"], name
    assert all(url.startswith("https://") for url in entry["source"]["urls"])
    assert entry["source"]["notes"], name
    for capability in ("structured_output", "reasoning"):
        if entry[capability] is not None:  # each one filled in says where it comes from
            assert entry["source"]["notes"][capability].strip()


@pytest.mark.parametrize(
    ("model", "structured", "reasoning"),
    [
        ("deepseek-ai/DeepSeek-R1", None, True),
        ("deepseek-ai-DeepSeek-R1", None, True),
        ("deepseek-ai-DeepSeek-R1-Distill-Llama-70B", None, True),
        ("Qwen/Qwen3-32B", None, True),  # the hybrid thinking Qwen3 family
        ("qwen-qwen3-235b-a22b", None, True),
        ("deepseek-ai/DeepSeek-V3.2-Exp", None, True),
        ("gemini-2.5-pro", None, True),
        ("gemini-2.5-flash", True, True),
        ("gpt-oss-120b", True, True),
        ("gpt-5-mini", True, True),
        ("openai-gpt-4.1-mini", True, None),
        ("openai-gpt-4o-mini", True, None),
        ("gemini-2.0-flash-001", True, None),
        # No source says either: left unknown.
        ("deepseek-ai-DeepSeek-V3", None, None),
        ("meta-llama/Llama-3.1-70B-Instruct", None, None),
        ("claude-3.5-sonnet", None, None),
        ("mistralai-Mistral-Small-24B-Instruct-2501", None, None),
        ("someone/new", None, None),
    ],
)
def test_structured_and_reasoning_capabilities(
    model: str, structured: bool | None, reasoning: bool | None
) -> None:
    profile = model_profile(model)
    assert (profile.structured_output, profile.reasoning) == (structured, reasoning)
    langchain_profile = ChatModelsLab(model=model, api_key="sk-test").profile
    assert langchain_profile is not None
    assert langchain_profile.get("structured_output") is structured
    assert langchain_profile.get("reasoning_output") is reasoning


def test_create_agent_uses_the_provider_strategy_only_where_a_source_says_so() -> None:
    assert _supports_provider_strategy(ChatModelsLab(model="openai-gpt-4o", api_key="k"))
    assert not _supports_provider_strategy(
        ChatModelsLab(model="deepseek-ai/DeepSeek-R1", api_key="k")
    )


def test_a_profile_given_by_the_user_wins() -> None:
    llm = ChatModelsLab(model="gpt-5-mini", api_key="k", profile={"structured_output": False})
    assert llm.profile == {"structured_output": False}
