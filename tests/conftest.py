"""Shared test configuration: VCR cassettes under ``cassettes/``, secrets scrubbed.

Replay is the default (pytest-recording's ``--record-mode`` defaults to ``none``), so
a test whose cassette is missing fails loudly instead of calling out. Recording is
done only by ``python -m tools.recording record`` (see the README), which starts a
real server and passes ``--record-mode=rewrite``. Matching and scrubbing rules are in
``tests/cassette_rules.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests import cassette_rules
from tests.cassette_rules import REPLAY_API_KEY, REPLAY_BASE_URL

REPO_ROOT = Path(__file__).resolve().parent.parent
CASSETTES = REPO_ROOT / "cassettes"

__all__ = ["CASSETTES", "REPLAY_API_KEY", "REPLAY_BASE_URL", "REPO_ROOT"]


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Register the matchers with every VCR instance pytest-recording builds."""
    cassette_rules.register_matchers(vcr)


@pytest.fixture(scope="session")
def vcr_config() -> dict[str, Any]:
    """The VCR configuration; ``record_mode`` is left to the command line."""
    return cassette_rules.vcr_config()


@pytest.fixture
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    """Cassettes live in ``cassettes/<tests sub-folder>/<module>/``."""
    module = Path(request.node.fspath)
    relative = module.parent.relative_to(REPO_ROOT / "tests")
    return str(CASSETTES / relative / module.stem)


def recording_base_url() -> str:
    """Where cassette-backed tests send requests.

    While recording, ``MODELSLAB_BASE_URL`` names the real server (the local
    llama-server), or the live API when only ``MODELSLAB_API_KEY`` is set; while
    replaying, a loopback placeholder that is never contacted.
    """
    return os.environ.get("MODELSLAB_BASE_URL") or (
        "https://modelslab.com/api/v7/llm"
        if os.environ.get("MODELSLAB_API_KEY")
        else REPLAY_BASE_URL
    )


def recording_api_key() -> str:
    """The key cassette-backed tests send (scrubbed from cassettes either way)."""
    return os.environ.get("MODELSLAB_API_KEY") or REPLAY_API_KEY


@pytest.fixture(scope="session")
def server_base_url() -> str:
    """See :func:`recording_base_url`."""
    return recording_base_url()


@pytest.fixture(scope="session")
def server_api_key() -> str:
    """See :func:`recording_api_key`."""
    return recording_api_key()


@pytest.fixture(scope="session")
def tools_base_url(server_base_url: str) -> str:
    """Where tool-calling tests send requests while recording (a second server if needed)."""
    return os.environ.get("MODELSLAB_TOOLS_BASE_URL") or server_base_url


@pytest.fixture
def benchmark() -> Any:
    """Run a langchain-tests timing test's callable once, without timing it.

    pytest-benchmark is switched off (``-p no:benchmark`` in pyproject.toml) so that the
    test run prints no timing tables; the code those tests exercise still runs and must
    not raise. Speed is measured by ``python -m benchmarks``.
    """

    def run_once(function: Any, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return run_once


@pytest.fixture(autouse=True)
def _forget_model_catalog() -> Any:
    """Each test starts and ends without remembered ``/v1/models`` limits (they are global)."""
    from modelslab_transport.config.model_profiles import forget_catalog

    forget_catalog()
    yield
    forget_catalog()
