"""What the integrations know about each ModelsLab model: limits and capabilities.

ModelsLab documents no per-model context window, output cap or capability list, and
``GET /v1/models`` is documented to return only ids (docs.modelslab.com/llm-api/list-models).
The table (``model_profiles.json`` in this package) therefore holds each model's
*published* numbers: the model card or the vendor's own documentation, cited value by
value in the entry's ``source``. They are the model's native limits; the provider
ModelsLab routes a request to may serve less, so the numbers are upper bounds, and
where the card gives a default and an opt-in extension (Qwen's YaRN), the default is
used.

A value no public source confirms is ``None`` ("unknown") rather than a guess, and the
framework integrations then fall back to the conservative :data:`DEFAULT_PROFILE`. Users
override any of it per model (LangChain: ``ChatModelsLab(profile=...)``; LlamaIndex:
``ModelsLabLLM(context_window=..., max_tokens=...)``).

Model ids come in two spellings on ModelsLab, ``org/Name`` and the slug ``org-Name``
(modelslab-api.md §6); :func:`lookup_model_profile` accepts either, in any case, and
falls back to a model family (:data:`MODEL_FAMILIES`: Qwen3, Qwen2.5-VL, DeepSeek-V3.2,
GPT-4o) for ids the table does not list. Where a fetched ``/v1/models`` reply does
carry limits (``context_length`` and the like, as the routers behind ModelsLab send),
:func:`remember_catalog` keeps them and they win over the table.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from importlib import resources
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

_DATA_FILE = "model_profiles.json"
"""The table, shipped in the package: per model (and per family) its values and, under
``source``, the public pages they come from (``urls``) and what those say (``notes``)."""


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
        structured_output: Whether the model's vendor documents native JSON-schema
            output (ModelsLab itself does not document ``json_schema``,
            ``shared/modelslab-api.md`` §3).
        reasoning: Whether the model is documented to think before it answers
            (``reasoning_content`` or thinking blocks in the reply).
        sources: Where the values come from (public URLs).
    """

    context_window: int | None
    max_output_tokens: int | None = None
    tool_calling: bool | None = None
    vision: bool | None = None
    json_mode: bool | None = None
    structured_output: bool | None = None
    reasoning: bool | None = None
    sources: tuple[str, ...] = ()


_VALUES = (
    "context_window",
    "max_output_tokens",
    "tool_calling",
    "vision",
    "json_mode",
    "structured_output",
    "reasoning",
)


def _profile(entry: Mapping[str, Any]) -> ModelProfile:
    """One entry of the data file as a :class:`ModelProfile` (its notes stay in the file)."""
    source = entry["source"]
    return ModelProfile(
        **{name: entry.get(name) for name in _VALUES}, sources=tuple(source["urls"])
    )


def _load() -> dict[str, Any]:
    text = resources.files(__package__).joinpath(_DATA_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


_DATA = _load()

DEFAULT_PROFILE = _profile(_DATA["default"])
"""What the integrations assume about a model that is not in :data:`MODEL_PROFILES`:
the :data:`DEFAULT_CONTEXT_WINDOW`, no output cap (requests send ``DEFAULT_MAX_TOKENS``),
tool calling and JSON mode (documented API-wide), no images."""

MODEL_PROFILES: dict[str, ModelProfile] = {
    model: _profile(entry) for model, entry in _DATA["models"].items()
}
"""The models ModelsLab serves that a public source describes, keyed by ModelsLab id.

Not listed, for want of a checked source: ``openai-gpt-5.4-pro`` (ModelsLab's fusion
default), ``gpt-5.2``, ``qwen-qwen3.5-122b-a10b`` and ``xiaomi-mimo-v2.5-pro-asr``
(seen in third-party calls), the uncensored ``ModelsLab/Llama-3.1-8b-Uncensored-Dare``
(no published limits). Model families whose ids vary in spelling across the catalog
are in :data:`MODEL_FAMILIES`.
"""

MODEL_FAMILIES: tuple[tuple[str, ModelProfile], ...] = tuple(
    (entry["pattern"], _profile(entry)) for entry in _DATA["families"]
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
