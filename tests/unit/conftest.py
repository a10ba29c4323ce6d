"""Unit tests run hermetically: no ModelsLab settings leak in from the environment."""

from __future__ import annotations

import pytest

from modelslab_transport import API_KEY_ENV, BASE_URL_ENV


@pytest.fixture(autouse=True)
def _no_modelslab_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
