"""``ModelsLabFields``: the fields both framework classes share, declared once."""

from __future__ import annotations

import inspect
import json

import pytest
from langchain_core.load import dumpd, load
from pydantic import SecretStr

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport.config.fields import ModelsLabFields
from modelslab_transport.config.options import ModelsLabOptions

CLASSES = pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])


@CLASSES
def test_the_option_fields_are_found_by_name(cls: type[ModelsLabFields]) -> None:
    options = ModelsLabOptions.model_fields
    assert cls.option_fields == tuple(name for name in cls.model_fields if name in options)
    assert set(ModelsLabFields.model_fields) - set(cls.option_fields) == {
        "split_think_tags",
        "http_client",
    }


def test_shared_option_fields_default_as_the_options_do() -> None:
    options = ModelsLabOptions()
    for name in ModelsLabFields.model_fields:
        if name in ModelsLabOptions.model_fields and name != "default_headers":
            assert ModelsLabFields.model_fields[name].get_default(call_default_factory=True) == (
                getattr(options, name)
            ), name


@CLASSES
def test_the_environment_is_read_when_a_model_is_built(
    cls: type[ModelsLabFields], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELSLAB_API_KEY", "env-key")
    monkeypatch.setenv("MODELSLAB_BASE_URL", "http://localhost:8000/v1")
    model = cls()
    assert model.api_key == SecretStr("env-key")
    assert model.base_url == "http://localhost:8000/v1"
    monkeypatch.setenv("MODELSLAB_API_KEY", "other-key")
    assert cls().api_key == SecretStr("other-key")


@CLASSES
def test_help_lists_the_shared_fields_then_the_class_own(cls: type[ModelsLabFields]) -> None:
    section = inspect.cleandoc(cls.__doc__ or "").split("\nFields:\n", 1)[1]
    listed = [line.split(":", 1)[0].strip() for line in section.splitlines() if line.strip()]
    shared = list(ModelsLabFields.model_fields)
    assert listed[: len(shared)] == shared
    own = [name for name in cls.__annotations__ if name in cls.model_fields]
    assert listed[len(shared) :] == own


@CLASSES
def test_a_copy_follows_its_own_fields(cls: type[ModelsLabFields]) -> None:
    model = cls(api_key="sk-test", temperature=0.1)
    copied = model.model_copy(update={"temperature": 0.3, "api_key": "sk-copy"})
    assert copied.client is not model.client
    assert copied.client.options.temperature == 0.3
    assert model.client.options.temperature == 0.1
    assert copied.api_key == SecretStr("sk-copy")


def test_llama_index_round_trips_without_the_key_or_headers() -> None:
    llm = ModelsLabLLM(api_key="sk-test", default_headers={"X-A": "1"}, temperature=0.2)
    data = llm.to_dict()
    assert "api_key" not in data
    assert "default_headers" not in data
    again = ModelsLabLLM.from_dict(json.loads(json.dumps(data)))
    assert again.temperature == 0.2
    assert again.default_headers is None


@pytest.mark.filterwarnings("ignore:The function `load` is in beta")
def test_langchain_serialises_the_key_as_a_reference() -> None:
    llm = ChatModelsLab(api_key="sk-test", temperature=0.2)
    data = dumpd(llm)
    assert data["kwargs"]["api_key"] == {"lc": 1, "type": "secret", "id": ["MODELSLAB_API_KEY"]}
    loaded = load(
        data,
        secrets_map={"MODELSLAB_API_KEY": "sk-loaded"},
        valid_namespaces=["langchain_modelslab"],
        allowed_objects=[ChatModelsLab],
    )
    assert isinstance(loaded, ChatModelsLab)
    assert loaded.api_key == SecretStr("sk-loaded")
    assert loaded.temperature == 0.2
