"""Secret fields of the framework models: stored as ``SecretStr`` whichever way they arrive.

Pydantic converts a ``str`` to ``SecretStr`` when a model is built, but not when a field
is assigned (``model.api_key = "sk-..."``, without ``validate_assignment``), nor in
``model_copy(update=...)`` and ``model_construct(...)``: the plain string would then show
in ``repr()``, ``str()``, ``dumps()`` and ``model_dump_json()``. :class:`SecretFields`
converts it on those paths too, so a key set in any way (constructor, environment,
assignment, copy) is a ``SecretStr``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import SecretStr

__all__ = ["SecretFields", "as_secret"]


def as_secret(value: Any, name: str) -> SecretStr | None:
    """``value`` as a ``SecretStr`` (None stays None).

    Raises:
        TypeError: ``value`` is neither a ``str``, a ``SecretStr`` nor None (the message
            names ``name`` and the type given, never the value).
    """
    if value is None or isinstance(value, SecretStr):
        return value
    if isinstance(value, str):
        return SecretStr(value)
    raise TypeError(
        f"{name} must be a str or a pydantic SecretStr (or None), got {type(value).__name__}"
    )


class SecretFields:
    """Mixin for a pydantic model whose :attr:`secret_fields` are always ``SecretStr``.

    Place it before ``pydantic.BaseModel`` in the bases.
    """

    secret_fields: ClassVar[frozenset[str]] = frozenset({"api_key"})
    """The fields holding secrets."""

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
