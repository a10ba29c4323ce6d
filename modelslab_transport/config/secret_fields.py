"""Secret fields of the framework models: ``SecretStr`` also on assignment, copy, construct."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import SecretStr

__all__ = ["SecretFields", "as_secret"]


def as_secret(value: Any, name: str) -> SecretStr | None:
    """``value`` as a ``SecretStr`` (None stays None); TypeError names any other type."""
    if value is None or isinstance(value, SecretStr):
        return value
    if isinstance(value, str):
        return SecretStr(value)
    raise TypeError(
        f"{name} must be a str or a pydantic SecretStr (or None), got {type(value).__name__}"
    )


class SecretFields:
    """Mixin (before ``pydantic.BaseModel``) keeping :attr:`secret_fields` ``SecretStr``."""

    secret_fields: ClassVar[frozenset[str]] = frozenset({"api_key"})

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.secret_fields:
            value = as_secret(value, name)
        super().__setattr__(name, value)

    @classmethod
    def model_construct(cls, _fields_set: set[str] | None = None, **values: Any) -> Self:
        """Pydantic's ``model_construct`` (no validation), with secret fields made ``SecretStr``."""
        for name in cls.secret_fields & values.keys():
            values[name] = as_secret(values[name], name)
        built: Self = super().model_construct(_fields_set, **values)  # type: ignore[misc]
        return built

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Pydantic's ``model_copy``, with secret fields in ``update`` made ``SecretStr``."""
        if update:
            secret = self.secret_fields
            update = {
                name: as_secret(value, name) if name in secret else value
                for name, value in update.items()
            }
        copied: Self = super().model_copy(update=update, deep=deep)  # type: ignore[misc]
        return copied
