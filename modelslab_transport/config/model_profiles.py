"""What the integrations know about each ModelsLab model: limits and capabilities.

ModelsLab documents no per-model context window, output cap or capability list, and
``GET /v1/models`` is documented to return only ids (docs.modelslab.com/llm-api/list-models).
The table below therefore holds each model's *published* numbers: the model card or the
vendor's own documentation, cited value by value. They are the model's native
limits; the provider ModelsLab routes a request to may serve less, so the numbers are
upper bounds, and where the card gives a default and an opt-in extension (Qwen's
YaRN), the default is used.

Every value carries its source in a comment. A value no public source confirms is
``None`` ("unknown") rather than a guess, and the framework integrations then fall
back to the conservative :data:`DEFAULT_PROFILE`. Users override any of it per model
(LangChain: ``ChatModelsLab(profile=...)``; LlamaIndex: ``ModelsLabLLM(context_window=
..., max_tokens=...)``).

Model ids come in two spellings on ModelsLab, ``org/Name`` and the slug ``org-Name``
(modelslab-api.md §6); :func:`lookup_model_profile` accepts either, in any case, and
falls back to a model family (:data:`MODEL_FAMILIES`: Qwen3, Qwen2.5-VL, DeepSeek-V3.2,
GPT-4o) for ids the table does not list. Where a fetched ``/v1/models`` reply does
carry limits (``context_length`` and the like, as the routers behind ModelsLab send),
:func:`remember_catalog` keeps them and they win over the table.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from modelslab_transport.config.defaults import DEFAULT_MAX_TOKENS

if TYPE_CHECKING:
    from modelslab_transport.wire.catalog import ModelInfo

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "DEFAULT_PROFILE",
    "MODEL_FAMILIES",
    "MODEL_PROFILES",
    "ModelProfile",
    "context_window",
    "default_max_tokens",
    "forget_catalog",
    "lookup_model_profile",
    "model_profile",
    "profile_from_catalog",
    "remember_catalog",
]

DEFAULT_CONTEXT_WINDOW = 8192
"""Context window (prompt plus answer, in tokens) assumed when the model's is unknown.

An assumption, not a documented number, and conservative on purpose: current chat
models accept at least this much, and a framework that budgets its prompts against a
window that is too small only packs in a little less context, whereas one that is too
large makes requests fail.
"""

# Sources used more than once.
_MODELSLAB_FUNCTION_CALLING = "https://docs.modelslab.com/llm-api/function-calling"
_MODELSLAB_JSON_MODE = "https://docs.modelslab.com/llm-api/advanced-parameters"


@dataclass(frozen=True)
class ModelProfile:
    """Limits and capabilities of one model; ``None`` means "no public source says".

    Attributes:
        context_window: Tokens the model attends to, prompt and answer together.
        max_output_tokens: Most tokens one answer may have (``None``: only bounded by
            the context window, or undocumented).
        tool_calling: Whether the model is documented to call tools.
        vision: Whether the model reads images.
        json_mode: Whether ``response_format`` ``json_object`` applies. ModelsLab
            documents JSON mode for the chat-completions API as a whole, not per model.
        reasoning: Whether the model is documented to think before it answers
            (``reasoning_content`` or thinking blocks in the reply).
        sources: Where the values come from (public URLs).
    """

    context_window: int | None
    max_output_tokens: int | None = None
    tool_calling: bool | None = None
    vision: bool | None = None
    json_mode: bool | None = None
    reasoning: bool | None = None
    sources: tuple[str, ...] = ()


DEFAULT_PROFILE = ModelProfile(
    context_window=DEFAULT_CONTEXT_WINDOW,  # an assumption, see DEFAULT_CONTEXT_WINDOW
    max_output_tokens=None,  # unknown: requests send DEFAULT_MAX_TOKENS
    tool_calling=True,  # the API documents function calling for its models
    vision=False,  # conservative: most catalog models are text-only
    json_mode=True,  # documented API-wide
    sources=(_MODELSLAB_FUNCTION_CALLING, _MODELSLAB_JSON_MODE),
)
"""What the integrations assume about a model that is not in :data:`MODEL_PROFILES`."""


MODEL_PROFILES: dict[str, ModelProfile] = {
    # ---------------------------------------------------------------- seed models
    # Not found in any ModelsLab source (modelslab-api.md §6): the values describe the
    # upstream models these slugs name.
    "google-gemma-3-1b-it": ModelProfile(
        # Input context "32K tokens for the 1B and 270M sizes"; output shares it ("up
        # to ... 32K tokens ... per request, subtracting the request input tokens"):
        # Gemma 3 model card, https://ai.google.dev/gemma/docs/core/model_card_3 (checked
        # through a summary of it); https://huggingface.co/blog/gemma3: "32k for the 1B
        # variants".
        context_window=32768,
        max_output_tokens=32768,
        # No tool-call format of its own: Gemma takes function definitions in the
        # prompt (https://ai.google.dev/gemma/docs/capabilities/function-calling), so
        # tool calling depends on the server's template. Unknown here.
        tool_calling=None,
        # "the 1B variant is text only": https://huggingface.co/blog/gemma3
        vision=False,
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=(
            "https://ai.google.dev/gemma/docs/core/model_card_3",
            "https://huggingface.co/blog/gemma3",
            _MODELSLAB_JSON_MODE,
        ),
    ),
    "meta-llama-Llama-3.2-1B": ModelProfile(
        # Model card table: Llama 3.2 (text only) 1B, "Context Length 128k":
        # https://huggingface.co/meta-llama/Llama-3.2-1B
        context_window=131072,
        max_output_tokens=None,  # not stated separately on the card
        # This is the *pretrained* (base) checkpoint; the card documents tool use for
        # the instruction-tuned models only, so a base model is not a tool caller.
        tool_calling=False,
        vision=False,  # "text in/text out": https://huggingface.co/meta-llama/Llama-3.2-1B
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=("https://huggingface.co/meta-llama/Llama-3.2-1B", _MODELSLAB_JSON_MODE),
    ),
    # ----------------------------------------- models named in ModelsLab's docs (D1)
    "Qwen/Qwen2.5-VL-72B-Instruct-together": ModelProfile(
        # The Qwen2.5 cards set config.json for 32,768 tokens and reach 128K only with
        # YaRN enabled by the server (unknown for ModelsLab); this model's config.json
        # says max_position_embeddings 128000. The smaller 32,768 is used; UNCONFIRMED
        # which one ModelsLab's provider serves.
        # https://huggingface.co/Qwen/Qwen2.5-VL-72B-Instruct
        context_window=32768,
        max_output_tokens=None,  # not stated on the card
        tool_calling=None,  # not documented on the card
        vision=True,  # a vision-language model (card)
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=("https://huggingface.co/Qwen/Qwen2.5-VL-72B-Instruct", _MODELSLAB_JSON_MODE),
    ),
    "meta-llama/Llama-3.1-70B-Instruct": ModelProfile(
        # Card table: Llama 3.1 70B, "Context length 128k"; tool use documented for the
        # instruction-tuned models: https://huggingface.co/meta-llama/Llama-3.1-70B-Instruct
        context_window=131072,
        tool_calling=True,
        vision=False,  # "text in/text out" (card)
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=("https://huggingface.co/meta-llama/Llama-3.1-70B-Instruct", _MODELSLAB_JSON_MODE),
    ),
    "deepseek-ai/DeepSeek-R1": ModelProfile(
        # "Context Length: 128K tokens" (NVIDIA's copy of the card,
        # https://docs.api.nvidia.com/nim/reference/deepseek-ai-deepseek-r1; original:
        # https://huggingface.co/deepseek-ai/DeepSeek-R1). The card's 32,768-token
        # "maximum generation length" is an evaluation setting, not a limit: unknown.
        context_window=131072,
        max_output_tokens=None,
        tool_calling=None,  # not documented on the card
        vision=False,  # text model (card)
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        reasoning=True,  # "our first-generation reasoning models" (card)
        sources=("https://huggingface.co/deepseek-ai/DeepSeek-R1", _MODELSLAB_JSON_MODE),
    ),
    # ------------------------------ models named in ModelsLab's guide and skill (D5, D6)
    "meta-llama-3-8B-instruct": ModelProfile(
        # Card: Llama 3 8B "Context length 8k":
        # https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct
        context_window=8192,
        tool_calling=None,  # Llama 3 (unlike 3.1) documents no tool-call format
        vision=False,  # "input text only" (card)
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=(
            "https://huggingface.co/meta-llama/Meta-Llama-3-8B-Instruct",
            _MODELSLAB_JSON_MODE,
        ),
    ),
    "meta-llama-Llama-3.3-70B-Instruct-Turbo": ModelProfile(
        # Card table: Llama 3.3 70B "Context length 128k"; zero-shot function calling
        # documented: https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct and
        # https://www.llama.com/docs/model-cards-and-prompt-formats/llama3_3/
        context_window=131072,
        tool_calling=True,
        vision=False,  # "text-only" (llama.com)
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=(
            "https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct",
            "https://www.llama.com/docs/model-cards-and-prompt-formats/llama3_3/",
            _MODELSLAB_JSON_MODE,
        ),
    ),
    "meta-llama-Meta-Llama-3.1-405B-Instruct-Turbo": ModelProfile(
        # Card table: Llama 3.1 405B "Context length 128k"; tool use documented:
        # https://huggingface.co/meta-llama/Llama-3.1-405B-Instruct
        context_window=131072,
        tool_calling=True,
        vision=False,  # "text in/text out" (card)
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=("https://huggingface.co/meta-llama/Llama-3.1-405B-Instruct", _MODELSLAB_JSON_MODE),
    ),
    "deepseek-ai-DeepSeek-R1-Distill-Llama-70B": ModelProfile(
        # Distilled from Llama-3.3-70B-Instruct (card), whose context is 128k
        # (https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct). UNCONFIRMED for the
        # distilled checkpoint itself: no stored copy of its card was checked.
        # https://huggingface.co/deepseek-ai/DeepSeek-R1-Distill-Llama-70B
        context_window=131072,
        max_output_tokens=None,
        tool_calling=None,  # not documented on the card
        vision=False,
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        reasoning=True,  # distilled from DeepSeek-R1's reasoning samples (card)
        sources=(
            "https://huggingface.co/deepseek-ai/DeepSeek-R1-Distill-Llama-70B",
            _MODELSLAB_JSON_MODE,
        ),
    ),
    "deepseek-ai-DeepSeek-V3": ModelProfile(
        # Card, model downloads table: "Context Length 128K":
        # https://huggingface.co/deepseek-ai/DeepSeek-V3
        context_window=131072,
        max_output_tokens=None,  # not stated on the card
        tool_calling=None,  # not documented on the card
        vision=False,
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=("https://huggingface.co/deepseek-ai/DeepSeek-V3", _MODELSLAB_JSON_MODE),
    ),
    "gemini-2.0-flash-001": ModelProfile(
        # "Input token limit 1,048,576", "Output token limit 8,192", function calling
        # "Supported", inputs "Audio, images, video, and text":
        # https://ai.google.dev/gemini-api/docs/models/gemini-2.0-flash
        context_window=1048576,
        max_output_tokens=8192,
        tool_calling=True,
        vision=True,
        json_mode=True,  # "Structured outputs: Supported" (same page)
        sources=("https://ai.google.dev/gemini-api/docs/models/gemini-2.0-flash",),
    ),
    "gemini-2.5-pro": ModelProfile(
        # "Maximum input tokens: 1,048,576", "Maximum output tokens: 65,535 (default)";
        # inputs "Text, Code, Images, Audio, Video":
        # https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/gemini/2-5-pro
        context_window=1048576,
        max_output_tokens=65535,
        tool_calling=True,  # UNCONFIRMED on that page's stored copy (capabilities cut off)
        vision=True,
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        # "The Gemini 2.5 series models use an internal 'thinking process'":
        # https://ai.google.dev/gemini-api/docs/thinking-mode
        reasoning=True,
        sources=(
            "https://docs.cloud.google.com/gemini-enterprise-agent-platform/models/gemini/2-5-pro",
            "https://ai.google.dev/gemini-api/docs/thinking-mode",
            _MODELSLAB_JSON_MODE,
        ),
    ),
    "Qwen-Qwen2.5-72B-Instruct-Turbo": ModelProfile(
        # Card: "Context Length: Full 131,072 tokens and generation 8192 tokens", with
        # config.json set for 32,768 unless YaRN is enabled, so 32,768 here:
        # https://huggingface.co/Qwen/Qwen2.5-72B-Instruct
        context_window=32768,
        max_output_tokens=8192,
        tool_calling=None,  # not documented on the card
        vision=False,
        json_mode=True,  # card: "generating structured outputs especially JSON"
        sources=("https://huggingface.co/Qwen/Qwen2.5-72B-Instruct", _MODELSLAB_JSON_MODE),
    ),
    "Qwen-Qwen2.5-Coder-32B-Instruct": ModelProfile(
        # Card: "Context Length: Full 131,072 tokens", config.json set for 32,768
        # unless YaRN is enabled, so 32,768 here:
        # https://huggingface.co/Qwen/Qwen2.5-Coder-32B-Instruct
        context_window=32768,
        max_output_tokens=None,  # not stated on the card
        tool_calling=None,  # not documented on the card
        vision=False,
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=("https://huggingface.co/Qwen/Qwen2.5-Coder-32B-Instruct", _MODELSLAB_JSON_MODE),
    ),
    "mistralai-Mixtral-8x7B-Instruct-v0.1": ModelProfile(
        # 32k context: Mistral's release post https://mistral.ai/news/mixtral-of-experts
        # (linked from the card https://huggingface.co/mistralai/Mixtral-8x7B-Instruct-v0.1);
        # only third-party copies ("32,768 tokens") were checked here.
        context_window=32768,
        tool_calling=None,  # the v0.1 card documents no function calling
        vision=False,
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=(
            "https://mistral.ai/news/mixtral-of-experts",
            "https://huggingface.co/mistralai/Mixtral-8x7B-Instruct-v0.1",
            _MODELSLAB_JSON_MODE,
        ),
    ),
    "mistralai-Mistral-Small-24B-Instruct-2501": ModelProfile(
        # Card, key features: "Context Window: A 32k context window", "native function
        # calling and JSON outputting":
        # https://huggingface.co/mistralai/Mistral-Small-24B-Instruct-2501
        context_window=32768,
        tool_calling=True,
        vision=False,  # text-only (vision arrived with Small 3.1, 2503)
        json_mode=True,
        sources=("https://huggingface.co/mistralai/Mistral-Small-24B-Instruct-2501",),
    ),
    # ------------- ids seen in calls to ModelsLab v7 by third parties (modelslab-api.md §6,
    # T1/T2: INFERRED ids); the values describe the upstream models they name.
    "gpt-5-mini": ModelProfile(
        # "400,000 context window", "128,000 max output tokens", image input, function
        # calling: https://platform.openai.com/docs/models/gpt-5-mini
        context_window=400000,
        max_output_tokens=128000,
        tool_calling=True,
        vision=True,
        json_mode=True,  # structured outputs supported (same page)
        sources=("https://platform.openai.com/docs/models/gpt-5-mini",),
    ),
    "openai-gpt-4.1-mini": ModelProfile(
        # "1,047,576 context window", "32,768 max output tokens", image input, function
        # calling: https://platform.openai.com/docs/models/gpt-4.1-mini
        context_window=1047576,
        max_output_tokens=32768,
        tool_calling=True,
        vision=True,
        json_mode=True,  # structured outputs supported (same page)
        sources=("https://platform.openai.com/docs/models/gpt-4.1-mini",),
    ),
    "gemini-2.5-flash": ModelProfile(
        # "Input token limit 1,048,576", "Output token limit 65,536", function calling
        # supported, inputs text, images, video, audio:
        # https://ai.google.dev/gemini-api/docs/models#gemini-2.5-flash
        context_window=1048576,
        max_output_tokens=65536,
        tool_calling=True,
        vision=True,
        json_mode=True,  # "Structured outputs: Supported" (same page)
        sources=("https://ai.google.dev/gemini-api/docs/models#gemini-2.5-flash",),
    ),
    "gpt-oss-120b": ModelProfile(
        # Card: 128k context ("native context length of 128k"), "native capabilities for
        # function calling", text only: https://huggingface.co/openai/gpt-oss-120b
        context_window=131072,
        max_output_tokens=None,  # not stated on the card
        tool_calling=True,
        vision=False,
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=("https://huggingface.co/openai/gpt-oss-120b", _MODELSLAB_JSON_MODE),
    ),
    "claude-3.5-sonnet": ModelProfile(
        # Models overview table: context window 200K, max output 8192 tokens, vision
        # (text and image input), tool use:
        # https://docs.anthropic.com/en/docs/about-claude/models
        context_window=200000,
        max_output_tokens=8192,
        tool_calling=True,
        vision=True,
        json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
        sources=("https://docs.anthropic.com/en/docs/about-claude/models", _MODELSLAB_JSON_MODE),
    ),
}
"""The models ModelsLab serves that a public source describes, keyed by ModelsLab id.

Not listed, for want of a checked source: ``openai-gpt-5.4-pro`` (ModelsLab's fusion
default), ``gpt-5.2``, ``qwen-qwen3.5-122b-a10b`` and ``xiaomi-mimo-v2.5-pro-asr``
(seen in third-party calls), the uncensored ``ModelsLab/Llama-3.1-8b-Uncensored-Dare``
(no published limits). Model families whose ids vary in spelling across the catalog
are in :data:`MODEL_FAMILIES`.
"""


MODEL_FAMILIES: tuple[tuple[str, ModelProfile], ...] = (
    (
        # Qwen2.5-VL (every size): a vision-language model; config.json set for 32,768
        # tokens, longer only with YaRN enabled by the server (card):
        # https://huggingface.co/Qwen/Qwen2.5-VL-72B-Instruct
        r"qwen2\.5-vl-",
        ModelProfile(
            context_window=32768,
            tool_calling=None,  # not documented on the card
            vision=True,
            json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
            sources=("https://huggingface.co/Qwen/Qwen2.5-VL-72B-Instruct", _MODELSLAB_JSON_MODE),
        ),
    ),
    (
        # The original (hybrid thinking) Qwen3 releases, 0.6B to 235B-A22B: "Context
        # Length: 32,768 natively and 131,072 tokens with YaRN"; tool calling
        # documented ("agent capabilities ... integration with external tools"):
        # https://huggingface.co/Qwen/Qwen3-32B and the Qwen3 docs
        # (https://github.com/QwenLM/Qwen3, "Enabling long context"). The 2507 updates,
        # Qwen3-Coder, Qwen3-VL and Qwen3.5 have other limits and do not match.
        r"qwen3-\d+(\.\d+)?b(-a\d+b)?(-fp8)?$",
        ModelProfile(
            context_window=32768,
            tool_calling=True,
            vision=False,
            json_mode=True,  # ModelsLab JSON mode, API-wide (advanced-parameters)
            sources=("https://huggingface.co/Qwen/Qwen3-32B", _MODELSLAB_JSON_MODE),
        ),
    ),
    (
        # DeepSeek-V3.2 (and -Exp): 128K context, tool calls in thinking and
        # non-thinking mode, text only: DeepSeek API docs, "Models & Pricing"
        # (https://api-docs.deepseek.com/quick_start/pricing) and "Thinking Mode"
        # (https://api-docs.deepseek.com/guides/thinking_mode). The API's output caps
        # are DeepSeek's own service limits, not the model's: unknown here.
        r"deepseek-v3\.2",
        ModelProfile(
            context_window=131072,
            tool_calling=True,
            vision=False,
            json_mode=True,  # JSON Output documented (same docs)
            sources=(
                "https://api-docs.deepseek.com/quick_start/pricing",
                "https://api-docs.deepseek.com/guides/thinking_mode",
            ),
        ),
    ),
    (
        # GPT-4o and GPT-4o mini: "128,000 context window", "16,384 max output
        # tokens", image input, function calling:
        # https://platform.openai.com/docs/models/gpt-4o and .../gpt-4o-mini
        r"gpt-4o",
        ModelProfile(
            context_window=128000,
            max_output_tokens=16384,
            tool_calling=True,
            vision=True,
            json_mode=True,  # structured outputs supported (same pages)
            sources=(
                "https://platform.openai.com/docs/models/gpt-4o",
                "https://platform.openai.com/docs/models/gpt-4o-mini",
            ),
        ),
    ),
)
"""Profiles for model families, matched (``re.search``) against a model id that is not
in :data:`MODEL_PROFILES`, after the id is lower-cased and ``/`` turned into ``-``: the
catalog spells one upstream model in several ways (``Qwen/Qwen3-32B``,
``qwen-qwen3-32b``, ``openai-gpt-4o``), and these match them all."""


def _key(model: str) -> str:
    return model.strip().replace("/", "-").lower()


_BY_KEY = {_key(model): profile for model, profile in MODEL_PROFILES.items()}
_FAMILIES = tuple((re.compile(pattern), profile) for pattern, profile in MODEL_FAMILIES)


def _table_profile(key: str) -> ModelProfile | None:
    exact = _BY_KEY.get(key)
    if exact is not None:
        return exact
    for pattern, profile in _FAMILIES:
        if pattern.search(key):
            return profile
    return None


def lookup_model_profile(model: str) -> ModelProfile | None:
    """The profile for ``model`` (either id spelling, any case), or None.

    An id missing from :data:`MODEL_PROFILES` gets its family's profile
    (:data:`MODEL_FAMILIES`), if one matches. Limits a fetched ``/v1/models``
    catalog reported for the model (:func:`remember_catalog`) win over the table's.
    """
    table = _table_profile(_key(model))
    with _CATALOG_LOCK:
        entry = _CATALOG.get(_key(model))
    if entry is None:
        return table
    return profile_from_catalog(entry, table)


def model_profile(model: str) -> ModelProfile:
    """The profile for ``model``, or :data:`DEFAULT_PROFILE` for an unknown model.

    Values left unknown (``None``) stay unknown; callers that need a number fall back
    themselves (the context window to :data:`DEFAULT_CONTEXT_WINDOW`).
    """
    known = lookup_model_profile(model)
    return known if known is not None else DEFAULT_PROFILE


# ------------------------------------------------------- limits from /v1/models

# ModelsLab documents only id/object/created/owned_by for catalog entries
# (docs.modelslab.com/llm-api/list-models), but it routes to providers whose model
# lists carry limits, under these names: OpenRouter ``context_length``,
# ``top_provider.context_length`` / ``max_completion_tokens`` and
# ``architecture.input_modalities`` (https://openrouter.ai/docs/api-reference/list-available-models);
# Together ``context_length`` (https://docs.together.ai/reference/models-1); Groq
# ``context_window`` / ``max_completion_tokens`` (https://console.groq.com/docs/models);
# llama.cpp's llama-server ``meta.n_ctx``, the context it actually serves (seen in this
# project's recorded replies, cassettes/*/test_*list_models*).
_CONTEXT_KEYS = ("context_length", "context_window", "max_context_length", "max_model_len")
_OUTPUT_KEYS = ("max_completion_tokens", "max_output_tokens", "max_tokens")

_CATALOG_SOURCE = "https://docs.modelslab.com/llm-api/list-models"
"""Cited for values a ``GET /v1/models`` reply gave."""
_CATALOG: dict[str, Mapping[str, Any]] = {}
_CATALOG_LOCK = threading.Lock()


def _new_catalog_lock_in_child() -> None:  # the parent's may be held by a thread of its
    global _CATALOG_LOCK
    _CATALOG_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_new_catalog_lock_in_child)


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = int(value)
    return number if number > 0 and number == value else None


def _first_int(data: Mapping[str, Any], keys: Iterable[str]) -> int | None:
    for key in keys:
        found = _positive_int(data.get(key))
        if found is not None:
            return found
    return None


def _entry_data(entry: ModelInfo | Mapping[str, Any]) -> Mapping[str, Any]:
    return entry if isinstance(entry, Mapping) else entry.model_dump()


def profile_from_catalog(
    entry: ModelInfo | Mapping[str, Any], base: ModelProfile | None = None
) -> ModelProfile:
    """``base`` (the table's profile, or :data:`DEFAULT_PROFILE`) with the entry's limits.

    Reads a context window (``context_length``, ``context_window``,
    ``max_context_length``, ``max_model_len``, ``top_provider.context_length``, or
    llama-server's ``meta.n_ctx``),
    an output cap (``max_completion_tokens``, ``max_output_tokens``, ``max_tokens``,
    also under ``top_provider``), image input (``architecture.input_modalities`` or
    ``input_modalities`` containing ``"image"``) and tool calling
    (``supported_parameters`` containing ``"tools"``). What the entry states wins;
    what it leaves out keeps ``base``'s value. A catalog that sends none of these (the
    documented shape) leaves ``base`` as it is.
    """
    data = _entry_data(entry)
    profile = base if base is not None else DEFAULT_PROFILE
    provider = data.get("top_provider")
    provider = provider if isinstance(provider, Mapping) else {}
    meta = data.get("meta")
    meta = meta if isinstance(meta, Mapping) else {}
    context = (
        _first_int(data, _CONTEXT_KEYS)
        or _first_int(provider, ("context_length",))
        or _first_int(meta, ("n_ctx",))
    )
    output = _first_int(data, _OUTPUT_KEYS) or _first_int(provider, ("max_completion_tokens",))
    architecture = data.get("architecture")
    architecture = architecture if isinstance(architecture, Mapping) else {}
    modalities = architecture.get("input_modalities", data.get("input_modalities"))
    parameters = data.get("supported_parameters")
    changes: dict[str, Any] = {}
    if context is not None:
        changes["context_window"] = context
    if output is not None:
        changes["max_output_tokens"] = output
    if isinstance(modalities, list):
        changes["vision"] = "image" in modalities
    if isinstance(parameters, list):
        changes["tool_calling"] = "tools" in parameters
    if not changes:
        return profile
    changes["sources"] = (*profile.sources, _CATALOG_SOURCE)
    return replace(profile, **changes)


def remember_catalog(entries: Iterable[ModelInfo | Mapping[str, Any]]) -> None:
    """Keep the limits a fetched ``/v1/models`` catalog reports, for profile lookups.

    The transport clients call this from ``list_models``; from then on
    :func:`model_profile` (and so the LangChain profile and the LlamaIndex
    ``metadata`` of models built afterwards) prefers them to the table.
    """
    found = {}
    for entry in entries:
        data = _entry_data(entry)
        model_id = data.get("id")
        if isinstance(model_id, str) and model_id:
            found[_key(model_id)] = data
    with _CATALOG_LOCK:
        _CATALOG.update(found)


def forget_catalog() -> None:
    """Drop every limit :func:`remember_catalog` kept (back to the table alone)."""
    with _CATALOG_LOCK:
        _CATALOG.clear()


def context_window(model: str) -> int:
    """The context window to budget prompts against for ``model``."""
    return model_profile(model).context_window or DEFAULT_CONTEXT_WINDOW


def default_max_tokens(model: str) -> int:
    """The ``max_tokens`` sent when the user set none.

    ``DEFAULT_MAX_TOKENS``, capped by the model's published output limit: a value is
    always sent because ModelsLab's own default of 1000 silently truncates.
    """
    cap = model_profile(model).max_output_tokens
    return min(DEFAULT_MAX_TOKENS, cap) if cap is not None else DEFAULT_MAX_TOKENS
