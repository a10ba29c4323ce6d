"""What the integrations know about each ModelsLab model: limits and capabilities.

ModelsLab documents no per-model limits, and ``GET /v1/models`` only ids
(docs.modelslab.com/llm-api/list-models), so ``model_profiles.json`` holds each model's
published native limits (upper bounds), each value cited in its entry's ``source``; a
value no source confirms is ``None``. Ids are ``org/Name`` or the slug ``org-Name``
(modelslab-api.md §6).
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
"""Context window (prompt plus answer, in tokens) assumed when unknown; an assumption."""

_DATA_FILE = "model_profiles.json"
"""The table shipped in the package, with each entry's ``source`` (``urls``, ``notes``)."""


@dataclass(frozen=True)
class ModelProfile:
    """Limits and capabilities of one model; ``None`` means "no public source says".

    ``context_window`` counts prompt and answer tokens; ``structured_output`` is what the
    vendor documents (ModelsLab documents no ``json_schema``, ``shared/modelslab-api.md`` §3);
    ``sources`` are public URLs.
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
    """One entry of the data file as a :class:`ModelProfile`."""
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
"""What the integrations assume about a model not in :data:`MODEL_PROFILES`."""

MODEL_PROFILES: dict[str, ModelProfile] = {
    model: _profile(entry) for model, entry in _DATA["models"].items()
}
"""The models ModelsLab serves that a public source describes, keyed by ModelsLab id."""

MODEL_FAMILIES: tuple[tuple[str, ModelProfile], ...] = tuple(
    (entry["pattern"], _profile(entry)) for entry in _DATA["families"]
)
"""Family patterns, searched in an unlisted id lower-cased with ``/`` as ``-``."""


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
    """The profile for ``model`` (any spelling, else its family; catalog limits win), or None."""
    table = _table_profile(_key(model))
    with _CATALOG_LOCK:
        entry = _CATALOG.get(_key(model))
    if entry is None:
        return table
    return profile_from_catalog(entry, table)


def model_profile(model: str) -> ModelProfile:
    """The profile for ``model``, or :data:`DEFAULT_PROFILE` for an unknown model."""
    known = lookup_model_profile(model)
    return known if known is not None else DEFAULT_PROFILE


# ------------------------------------------------------- limits from /v1/models

# Names the providers behind ModelsLab use: openrouter.ai/docs/api-reference/list-available-models,
# docs.together.ai/reference/models-1, console.groq.com/docs/models, llama-server meta.n_ctx.
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
    """``base`` (default :data:`DEFAULT_PROFILE`) with the limits the catalog entry states."""
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
    """Keep the limits a fetched ``/v1/models`` catalog reports, for profile lookups."""
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
    """The ``max_tokens`` sent when none is set: ``DEFAULT_MAX_TOKENS``, capped by the model."""
    cap = model_profile(model).max_output_tokens
    return min(DEFAULT_MAX_TOKENS, cap) if cap is not None else DEFAULT_MAX_TOKENS
