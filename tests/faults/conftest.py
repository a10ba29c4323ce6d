"""Fault-suite fixtures: a hermetic environment and retry waits that are recorded, not slept.

Neither framework class takes a retry policy, so the transport's default one is replaced
(for the duration of each test) by one whose ``sleep`` / ``async_sleep`` record the delay
and return at once: a test can assert that a server's ``Retry-After`` was honoured
without waiting for it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from modelslab_transport import API_KEY_ENV, BASE_URL_ENV, RetryPolicy
from tests.support.clients import SleepRecorder

DEBUG_LOGGERS = (
    "modelslab_transport",
    "langchain_modelslab",
    "llama_index_modelslab",
    "httpx2",
    "httpcore2",
)
"""Our loggers and the HTTP stack's, all captured at DEBUG by :func:`debug_logs`."""


@pytest.fixture(autouse=True)
def _no_modelslab_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    monkeypatch.delenv(BASE_URL_ENV, raising=False)


@pytest.fixture(autouse=True)
def retry_delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The delays the transport waited before each retry, in order (none really slept)."""
    recorder = SleepRecorder()

    def recording_policy() -> RetryPolicy:
        return recorder.policy()

    monkeypatch.setattr("modelslab_transport.client_core.RetryPolicy", recording_policy)
    return recorder.delays


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture DEBUG records of our loggers and of httpx2/httpcore2."""
    for name in DEBUG_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


_FAULT_SUITE = Path(__file__).resolve().parent
_spent: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add up the time of each fault-suite test (setup, call and teardown)."""
    if Path(report.fspath).resolve().is_relative_to(_FAULT_SUITE):
        _spent[report.nodeid] = _spent.get(report.nodeid, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say what the fault suite cost, so every CI log shows it against its two minutes."""
    if _spent:
        terminalreporter.write_line(
            f"fault suite (tests/faults): {len(_spent)} tests, "
            f"{sum(_spent.values()):.1f} s of test time (goal: under 120 s)"
        )
