"""Token limits the integrations assume for a ModelsLab model.

ModelsLab documents no per-model context window or output cap, and ``GET /v1/models``
lists only ids. Until a model catalog with those numbers exists, the framework
integrations report :data:`DEFAULT_CONTEXT_WINDOW` for every model; users override it
per model (``context_window=...``) when they know better.
"""

from __future__ import annotations

__all__ = ["DEFAULT_CONTEXT_WINDOW"]

DEFAULT_CONTEXT_WINDOW = 8192
"""Context window (prompt plus answer, in tokens) assumed when the model's is unknown.

An assumption, not a documented number, and conservative on purpose: current chat
models accept at least this much, and a framework that budgets its prompts against a
window that is too small only packs in a little less context, whereas one that is too
large makes requests fail.
"""
