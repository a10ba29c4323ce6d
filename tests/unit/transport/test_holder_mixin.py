"""A framework model's one ``ModelsLab``: built on first use, following the model's fields,
never shared with a copy; secret fields and caller clients handled by the mixins."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, PrivateAttr, SecretStr

from modelslab_transport.config.options import ModelsLabOptions
from modelslab_transport.holder import ModelsLabHolder, modelslab_held_by, modelslab_of


class Held(ModelsLabHolder, BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    caller_client_fields: ClassVar[tuple[str, ...]] = ("http_client", "async_http_client")
    watched_fields: ClassVar[tuple[str, ...]] = ("model", "api_key", "temperature")

    model: str = "meta-llama-3-8B-instruct"
    api_key: SecretStr | None = None
    temperature: float | None = None
    http_client: Any = None
    async_http_client: Any = None
    _modelslab: Any = PrivateAttr(default=None)

    def _options(self) -> ModelsLabOptions:
        return ModelsLabOptions(
            model=self.model, api_key=self.api_key, temperature=self.temperature
        )


def test_nothing_is_built_before_the_first_use() -> None:
    held = Held()
    assert modelslab_held_by(held) is None
    held.close()  # nothing to close
    asyncio.run(held.aclose())
    assert modelslab_held_by(held) is None


def test_the_client_is_built_once_and_follows_the_fields() -> None:
    held = Held(api_key="sk-holder-0123456789")
    core = held.client
    assert modelslab_held_by(held) is core
    assert held.client is core
    assert core.options.temperature is None
    held.temperature = 0.5
    assert held.client is core
    assert core.options.temperature == 0.5
    held.close()


def test_a_field_changed_to_a_refused_value_raises_on_use() -> None:
    held = Held()
    held.client  # noqa: B018
    held.temperature = -3.0
    with pytest.raises(ValueError, match="temperature"):
        held.client  # noqa: B018


def test_a_copy_builds_its_own() -> None:
    held = Held()
    core = held.client
    for copied in (held.model_copy(), copy.copy(held), copy.deepcopy(held)):
        assert modelslab_held_by(copied) is None
        assert copied.client is not core
        assert modelslab_held_by(held) is core


def test_modelslab_of_builds_for_any_owner_with_a_private_slot() -> None:
    held = Held()
    core = modelslab_of(held, ("model",), lambda: ModelsLabOptions(model="m-1"))
    assert core.options.model == "m-1"
    assert modelslab_of(held, ("model",), lambda: ModelsLabOptions(model="m-2")) is core
    assert core.options.model == "m-1"  # ``model`` itself did not change


def test_secret_fields_and_options_hooks() -> None:
    held = Held()
    held.api_key = "sk-assigned-0123456789"  # type: ignore[assignment]
    assert isinstance(held.api_key, SecretStr)
    with pytest.raises(NotImplementedError):
        ModelsLabHolder._options(held)
