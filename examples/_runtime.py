"""Where the examples send their requests: the live API, a server you name, or a replay.

* ``MODELSLAB_API_KEY`` set (and no ``MODELSLAB_BASE_URL``): the live ModelsLab API.
* ``MODELSLAB_BASE_URL`` set: that server (for example the local llama-server that
  ``python -m tools.recording serve`` starts).
* Neither: the example's recorded cassette under ``cassettes/examples/`` is replayed,
  so the examples run on a fresh machine with no key and no network.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cassette_rules import REPLAY_API_KEY, REPLAY_BASE_URL

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes" / "examples"


@dataclass(frozen=True)
class Target:
    """The server an example talks to, and how it was chosen."""

    base_url: str
    api_key: str
    mode: str

    def describe(self) -> str:
        """One line saying where requests go (every example prints it first)."""
        if self.mode == "replay":
            return "mode: replay (no MODELSLAB_API_KEY or MODELSLAB_BASE_URL: recorded cassettes)"
        return f"mode: {self.mode} ({self.base_url})"

    def langchain_kwargs(self) -> dict[str, Any]:
        """Connection arguments for ``ChatModelsLab``."""
        kwargs: dict[str, Any] = {"base_url": self.base_url, "api_key": self.api_key}
        if HTTP_CLIENTS is not None:
            kwargs["http_client"], kwargs["http_async_client"] = HTTP_CLIENTS()
        return kwargs

    def llama_index_kwargs(self) -> dict[str, Any]:
        """Connection arguments for ``ModelsLabLLM``."""
        kwargs: dict[str, Any] = {"base_url": self.base_url, "api_key": self.api_key}
        if HTTP_CLIENTS is not None:
            kwargs["http_client"], kwargs["async_http_client"] = HTTP_CLIENTS()
        return kwargs


HTTP_CLIENTS: Callable[[], tuple[Any, Any]] | None = None
"""A factory of (sync, async) httpx clients the recording harness may install.

While cassettes are recorded from the two local llama-servers, it routes requests that
force a tool call to the tools server (see ``tools/recording``). Examples run by
users never set it.
"""


def target() -> Target:
    """Pick live, named server, or replay from the environment."""
    base_url = os.environ.get("MODELSLAB_BASE_URL")
    api_key = os.environ.get("MODELSLAB_API_KEY")
    if base_url:
        return Target(base_url, api_key or REPLAY_API_KEY, "server")
    if api_key:
        return Target("https://modelslab.com/api/v7/llm", api_key, "live")
    return Target(REPLAY_BASE_URL, REPLAY_API_KEY, "replay")


REPLAY_MISS = (
    "replay has only the recorded prompts of examples/{name}.py; to run a changed example, "
    "set MODELSLAB_BASE_URL to an OpenAI-compatible server (python -m tools.recording serve "
    "starts one) or MODELSLAB_API_KEY for the live ModelsLab API"
)
"""The one line an example exits with when it sends a request its cassette lacks."""


def _is_replay_miss(error: BaseException) -> bool:
    """Whether ``error`` (or an error it was raised from) is vcrpy's "not in the cassette"."""
    from vcr.errors import CannotOverwriteExistingCassetteException

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, CannotOverwriteExistingCassetteException):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


@contextlib.contextmanager
def replaying(name: str, where: Target) -> Iterator[None]:
    """Replay ``cassettes/examples/<name>.yaml`` in replay mode; otherwise do nothing.

    A request the cassette does not hold (an edited prompt, say) ends the example with
    the one-line :data:`REPLAY_MISS` (``SystemExit``) instead of vcrpy's long report.
    """
    if where.mode != "replay":
        yield
        return
    import vcr  # dev dependency: only needed to replay

    from tests import cassette_rules

    config = cassette_rules.vcr_config()
    repeats = config.pop("allow_playback_repeats")
    recorder = vcr.VCR(record_mode="none", **config)
    cassette_rules.register_matchers(recorder)
    try:
        with recorder.use_cassette(str(CASSETTES / f"{name}.yaml"), allow_playback_repeats=repeats):
            yield
    except Exception as error:
        if _is_replay_miss(error):
            raise SystemExit(REPLAY_MISS.format(name=name)) from None
        raise
