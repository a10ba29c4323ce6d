"""What the integrations know about each ModelsLab model: limits and capabilities.

ModelsLab documents no per-model context window, output cap or capability list, and
``GET /v1/models`` returns only ids (docs.modelslab.com/llm-api/list-models). The
table below therefore holds each model's *published* numbers: the model card or the
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
(modelslab-api.md §6); :func:`lookup_model_profile` accepts either, in any case.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelslab_transport.defaults import DEFAULT_MAX_TOKENS

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "DEFAULT_PROFILE",
    "MODEL_PROFILES",
    "ModelProfile",
    "context_window",
    "default_max_tokens",
    "lookup_model_profile",
    "model_profile",
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
}
"""The models ModelsLab serves that a public source describes, keyed by ModelsLab id.

Not listed, for want of a source: ``meta-llama/Llama-3.1-70B-Instruct``'s siblings
that ModelsLab never names, ``openai-gpt-5.4-pro`` (ModelsLab's fusion default; no
public model card), the uncensored ``ModelsLab/Llama-3.1-8b-Uncensored-Dare`` (no
published limits), and the ids seen only in third-party code (modelslab-api.md §6).
"""


def _key(model: str) -> str:
    return model.strip().replace("/", "-").lower()


_BY_KEY = {_key(model): profile for model, profile in MODEL_PROFILES.items()}


def lookup_model_profile(model: str) -> ModelProfile | None:
    """The table's profile for ``model`` (either id spelling, any case), or None."""
    return _BY_KEY.get(_key(model))


def model_profile(model: str) -> ModelProfile:
    """The table's profile for ``model``, or :data:`DEFAULT_PROFILE` for an unknown model.

    Values the table leaves unknown (``None``) stay unknown; callers that need a
    number fall back themselves (the context window to :data:`DEFAULT_CONTEXT_WINDOW`).
    """
    known = lookup_model_profile(model)
    return known if known is not None else DEFAULT_PROFILE


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
