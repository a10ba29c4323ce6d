"""Where the examples send their requests: the live API, a server you name, or a replay.

* ``MODELSLAB_API_KEY`` set (and no ``MODELSLAB_BASE_URL``): the live ModelsLab API.
* ``MODELSLAB_BASE_URL`` set: that server (for example the local llama-server that
  ``python -m tests.recording serve`` starts).
* Neither: the example's recorded cassette under ``cassettes/examples/`` is replayed,
  so the examples run on a fresh machine with no key and no network.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.cassette_rules import REPLAY_API_KEY, REPLAY_BASE_URL

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "examples"


@dataclass(frozen=True)
class Target:
    """The server an example talks to, and how it was chosen."""

    base_url: str
    api_key: str
    mode: str

    def describe(self) -> str:
        if self.mode == "replay":
            return "mode: replay (no MODELSLAB_API_KEY or MODELSLAB_BASE_URL: recorded cassettes)"
        return f"mode: {self.mode} ({self.base_url})"


def target() -> Target:
    """Pick live, named server, or replay from the environment."""
    base_url = os.environ.get("MODELSLAB_BASE_URL")
    api_key = os.environ.get("MODELSLAB_API_KEY")
    if base_url:
        return Target(base_url, api_key or REPLAY_API_KEY, "server")
    if api_key:
        return Target("https://modelslab.com/api/v7/llm", api_key, "live")
    return Target(REPLAY_BASE_URL, REPLAY_API_KEY, "replay")


RECORD_ENV = "MODELSLAB_RECORD_EXAMPLES"
"""Set (by the record command) to re-record the examples' cassettes from a real server."""


@contextlib.contextmanager
def replaying(name: str, where: Target) -> Iterator[None]:
    """Replay ``cassettes/examples/<name>.yaml`` in replay mode.

    Against a real server, nothing is intercepted, unless ``MODELSLAB_RECORD_EXAMPLES``
    is set: then the traffic is recorded into that cassette (secrets scrubbed).
    """
    recording = where.mode != "replay" and bool(os.environ.get(RECORD_ENV))
    if where.mode != "replay" and not recording:
        yield
        return
    import vcr  # dev dependency: only needed to replay or record

    from tests import cassette_rules

    config = cassette_rules.vcr_config()
    repeats = config.pop("allow_playback_repeats")
    recorder = vcr.VCR(record_mode="all" if recording else "none", **config)
    cassette_rules.register_matchers(recorder)
    with recorder.use_cassette(str(CASSETTES / f"{name}.yaml"), allow_playback_repeats=repeats):
        yield
