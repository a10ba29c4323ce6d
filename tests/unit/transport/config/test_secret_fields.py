"""Secret fields stay ``SecretStr`` however they are set: construction, assignment,
``model_construct`` and ``model_copy``; any other type is refused naming the field."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from modelslab_transport.config.secret_fields import SecretFields, as_secret


class Model(SecretFields, BaseModel):
    model_config = ConfigDict(validate_assignment=False)
    secret_fields: ClassVar[frozenset[str]] = frozenset({"api_key", "token"})

    api_key: SecretStr | None = None
    token: SecretStr | None = None
    name: str = ""


def test_as_secret_wraps_text_and_keeps_none_and_secrets() -> None:
    assert as_secret(None, "api_key") is None
    secret = SecretStr("k")
    assert as_secret(secret, "api_key") is secret
    wrapped = as_secret("sk-1", "api_key")
    assert isinstance(wrapped, SecretStr)
    assert wrapped.get_secret_value() == "sk-1"


@pytest.mark.parametrize(("value", "kind"), [(123, "int"), (b"sk", "bytes"), (["k"], "list")])
def test_as_secret_refuses_other_types_naming_the_field(value: object, kind: str) -> None:
    with pytest.raises(TypeError, match=f"token must be a str or a pydantic SecretStr .*{kind}"):
        as_secret(value, "token")


def test_assignment_of_a_secret_field_is_wrapped_and_others_are_not() -> None:
    model = Model()
    model.api_key = "sk-assigned"  # type: ignore[assignment]
    model.name = "plain"
    assert isinstance(model.api_key, SecretStr)
    assert model.api_key.get_secret_value() == "sk-assigned"
    assert model.name == "plain"
    with pytest.raises(TypeError, match="api_key must be"):
        model.api_key = 5  # type: ignore[assignment]


def test_model_construct_wraps_secret_fields() -> None:
    model = Model.model_construct(api_key="sk-c", token=None, name="n")
    assert isinstance(model.api_key, SecretStr)
    assert model.api_key.get_secret_value() == "sk-c"
    assert model.token is None
    assert "sk-c" not in repr(model)


def test_model_copy_wraps_secret_fields_in_the_update() -> None:
    original = Model(api_key=SecretStr("sk-a"))
    copied = original.model_copy(update={"token": "sk-t", "name": "x"})
    assert isinstance(copied.token, SecretStr)
    assert copied.token.get_secret_value() == "sk-t"
    assert copied.name == "x"
    assert original.token is None
    assert original.model_copy().api_key == original.api_key
