"""Both classes' fields are described, each once, from the options record.

``ChatModelsLab`` and ``ModelsLabLLM`` take the description of every field they share
from :func:`modelslab_transport.config.options.field_description` (the options'
``Field(description=...)``), so IDE hovers, ``model_fields``, LlamaIndex's
``model_json_schema()`` and ``help()`` show the same text in both.
"""

from __future__ import annotations

import inspect

import pytest

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport.config.connection import CONNECTION_FIELDS
from modelslab_transport.config.fields import ModelsLabFields
from modelslab_transport.config.options import ModelsLabOptions, field_description

_OWN = {
    cls: [
        name
        for name in cls.model_fields
        if name in ModelsLabFields.model_fields or name in cls.__annotations__
    ]
    for cls in (ChatModelsLab, ModelsLabLLM)
}
_SAME = [
    *((name, name) for name in ModelsLabFields.model_fields),
    ("model_kwargs", "additional_kwargs"),
    ("http_async_client", "async_http_client"),
]


def test_shared_fields_are_declared_once() -> None:
    for cls in (ChatModelsLab, ModelsLabLLM):
        assert issubclass(cls, ModelsLabFields)
        assert not set(cls.__annotations__) & set(ModelsLabFields.model_fields)
        for name in ModelsLabFields.model_fields:
            shared = ModelsLabFields.model_fields[name]
            assert cls.model_fields[name].annotation == shared.annotation


def test_every_option_has_a_description() -> None:
    missing = [
        name for name, field in ModelsLabOptions.model_fields.items() if not field.description
    ]
    assert missing == []
    assert set(CONNECTION_FIELDS) <= set(ModelsLabOptions.model_fields)


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])
def test_every_own_field_has_a_description(cls: type) -> None:
    assert [name for name in _OWN[cls] if not cls.model_fields[name].description] == []


@pytest.mark.parametrize(("langchain", "llama_index"), _SAME)
def test_a_shared_field_has_one_description(langchain: str, llama_index: str) -> None:
    text = field_description(langchain)
    assert ChatModelsLab.model_fields[langchain].description == text
    assert ModelsLabLLM.model_fields[llama_index].description == text
    if langchain in ModelsLabOptions.model_fields:
        assert ModelsLabOptions.model_fields[langchain].description == text
    if langchain == "model_kwargs":
        assert text == ModelsLabOptions.model_fields["extra_params"].description


def test_descriptions_say_defaults_and_units() -> None:
    assert field_description("timeout").startswith(
        "Seconds a non-streamed call may take in all (300 by default)"
    )
    assert "/v1" in field_description("base_url")  # where a local server's root ends
    assert "$MODELSLAB_API_KEY" in field_description("api_key")


def test_llama_index_schema_shows_the_descriptions() -> None:
    properties = ModelsLabLLM.model_json_schema()["properties"]
    assert properties["timeout"]["description"] == field_description("timeout")
    assert properties["base_url"]["description"] == field_description("base_url")


@pytest.mark.parametrize("cls", [ChatModelsLab, ModelsLabLLM])
def test_help_lists_each_field_with_its_description(cls: type) -> None:
    doc = inspect.cleandoc(cls.__doc__ or "")
    section = doc.split("\nFields:\n", 1)[1]
    for name in _OWN[cls]:
        assert f"    {name}: {cls.model_fields[name].description}" in section


def test_an_unknown_name_has_no_description() -> None:
    with pytest.raises(KeyError):
        field_description("no_such_field")
