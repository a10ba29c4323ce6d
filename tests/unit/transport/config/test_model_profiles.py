"""The model profile table, the Messages-protocol parameter checks, count_tokens requests."""

from __future__ import annotations

import re
from typing import Any

import pytest

from modelslab_transport import DEFAULT_MAX_TOKENS
from modelslab_transport.config import model_profiles as profiles
from modelslab_transport.config.model_profiles import (
    DEFAULT_CONTEXT_WINDOW,
    DEFAULT_PROFILE,
    MODEL_PROFILES,
    ModelProfile,
    context_window,
    default_max_tokens,
    lookup_model_profile,
    model_profile,
)
from modelslab_transport.protocols.encode_messages import count_tokens_request
from modelslab_transport.wire.chat import ChatMessage, FunctionDefinition, Tool
from modelslab_transport.wire.protocols import check_messages_params, supports_response_format

MODELS_NAMED_BY_MODELSLAB = [
    # seed models
    "google-gemma-3-1b-it",
    "meta-llama-Llama-3.2-1B",
    # modelslab-api.md §6, VERIFIED-FROM-DOCS
    "Qwen/Qwen2.5-VL-72B-Instruct-together",
    "meta-llama/Llama-3.1-70B-Instruct",
    "deepseek-ai/DeepSeek-R1",
    "meta-llama-3-8B-instruct",
    "meta-llama-Llama-3.3-70B-Instruct-Turbo",
    "meta-llama-Meta-Llama-3.1-405B-Instruct-Turbo",
    "deepseek-ai-DeepSeek-R1-Distill-Llama-70B",
    "deepseek-ai-DeepSeek-V3",
    "gemini-2.0-flash-001",
    "gemini-2.5-pro",
    "Qwen-Qwen2.5-72B-Instruct-Turbo",
    "Qwen-Qwen2.5-Coder-32B-Instruct",
    "mistralai-Mixtral-8x7B-Instruct-v0.1",
    "mistralai-Mistral-Small-24B-Instruct-2501",
    # modelslab-api.md §6, seen in third-party calls to v7 (T1/T2, INFERRED ids)
    "gpt-5-mini",
    "openai-gpt-4.1-mini",
    "gemini-2.5-flash",
    "gpt-oss-120b",
    "claude-3.5-sonnet",
]


@pytest.mark.parametrize("model", MODELS_NAMED_BY_MODELSLAB)
def test_every_documented_model_has_a_sourced_profile(model: str) -> None:
    profile = lookup_model_profile(model)
    assert profile is not None
    assert profile.context_window is not None
    assert profile.context_window >= 8192
    assert profile.sources
    assert all(re.match(r"https://[\w.-]+/", source) for source in profile.sources)


def test_every_entry_is_sourced() -> None:
    assert len(MODEL_PROFILES) == len(MODELS_NAMED_BY_MODELSLAB)
    for profile in MODEL_PROFILES.values():
        assert profile.sources


@pytest.mark.parametrize(
    "spelling",
    [
        "meta-llama/Llama-3.1-70B-Instruct",
        "meta-llama-Llama-3.1-70B-Instruct",
        "META-LLAMA/llama-3.1-70b-instruct ",
    ],
)
def test_both_id_spellings_find_the_profile(spelling: str) -> None:
    assert lookup_model_profile(spelling) is MODEL_PROFILES["meta-llama/Llama-3.1-70B-Instruct"]


def test_seed_model_values() -> None:
    gemma = model_profile("google-gemma-3-1b-it")
    assert (gemma.context_window, gemma.vision, gemma.tool_calling) == (32768, False, None)
    llama = model_profile("meta-llama-Llama-3.2-1B")
    assert (llama.context_window, llama.tool_calling) == (131072, False)


def test_unknown_model_gets_the_default_profile() -> None:
    assert lookup_model_profile("someone/new") is None
    assert model_profile("someone/new") is DEFAULT_PROFILE
    assert context_window("someone/new") == DEFAULT_CONTEXT_WINDOW == 8192
    assert default_max_tokens("someone/new") == DEFAULT_MAX_TOKENS


def test_default_max_tokens_is_capped_by_a_smaller_output_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    small = ModelProfile(context_window=4096, max_output_tokens=1024)
    monkeypatch.setattr(profiles, "_BY_KEY", {"tiny": small})
    assert default_max_tokens("tiny") == 1024
    assert default_max_tokens("gemini-2.0-flash-001") == DEFAULT_MAX_TOKENS  # not in the patch


def test_larger_output_limits_leave_the_default() -> None:
    assert default_max_tokens("gemini-2.5-pro") == DEFAULT_MAX_TOKENS


# ----------------------------------------------------------- Messages-protocol checks


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"seed": 1}, "seed cannot be sent with api='messages'"),
        (
            {"frequency_penalty": 0.1, "presence_penalty": 0.1},
            "frequency_penalty, presence_penalty",
        ),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
        ({"n": 3}, r"n > 1"),
        ({"temperature": 1.01}, r"temperature 1\.01 is above 1"),
    ],
)
def test_check_messages_params_refuses(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_messages_params(params)


@pytest.mark.parametrize(
    "params",
    [{}, {"temperature": 1}, {"temperature": 0.0, "top_p": 0.9, "n": 1, "seed": None}],
)
def test_check_messages_params_accepts(params: dict[str, Any]) -> None:
    check_messages_params(params)


def test_only_chat_completions_has_response_format() -> None:
    assert supports_response_format("chat_completions") is True
    assert supports_response_format("messages") is False


def test_count_tokens_request_hoists_system_and_converts_tools() -> None:
    tool = Tool(function=FunctionDefinition(name="lookup", parameters={"type": "object"}))
    request = count_tokens_request(
        "m",
        [ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content="hi")],
        [tool],
    )
    assert request.to_payload() == {
        "model": "m",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "tools": [{"name": "lookup", "input_schema": {"type": "object"}}],
    }
    assert (
        "tools"
        not in count_tokens_request("m", [ChatMessage(role="user", content="hi")]).to_payload()
    )
