"""The fields ``ChatModelsLab`` and ``ModelsLabLLM`` share, declared once.

:class:`ModelsLabFields` is a pydantic mixin both framework classes inherit (through
:class:`~modelslab_transport.holder.ModelsLabHolder`). Each field's description is the
one :func:`~modelslab_transport.config.options.field_description` gives; its values are
checked when the model is built, by :class:`~.options.ModelsLabOptions`.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from modelslab_transport.config import defaults
from modelslab_transport.config.connection import (
    TimeoutSeconds,
    api_key_from_env,
    base_url_from_env,
)
from modelslab_transport.config.options import ModelsLabOptions, field_description
from modelslab_transport.wire.protocols import ChatAPI

__all__ = ["ModelsLabFields", "document_fields"]


class ModelsLabFields(BaseModel):
    """Mixin (a base of both framework classes): the fields they share.

    A framework class's own fields that are options of the same name (``top_p``,
    ``stop``...) are found by name: :attr:`option_fields` lists every field of the
    class that is a :class:`~.options.ModelsLabOptions` field.
    """

    # The schema is built with the framework class, never for the mixin alone.
    model_config = ConfigDict(defer_build=True)

    option_fields: ClassVar[tuple[str, ...]] = ()
    """The fields of the class that are options of the same name, in field order."""

    model: str = Field(default=defaults.DEFAULT_MODEL, description=field_description("model"))
    api_key: SecretStr | None = Field(
        default_factory=api_key_from_env,
        exclude=True,  # never serialised or shown (LangChain's dumps() refers to the env var)
        repr=False,
        description=field_description("api_key"),
    )
    base_url: str = Field(
        default_factory=base_url_from_env, description=field_description("base_url")
    )
    api: ChatAPI = Field(default="chat_completions", description=field_description("api"))
    temperature: float | None = Field(default=None, description=field_description("temperature"))
    max_tokens: int | None = Field(default=None, description=field_description("max_tokens"))
    split_think_tags: bool = Field(default=True, description=field_description("split_think_tags"))
    timeout: Any = Field(default=defaults.DEFAULT_TIMEOUT, description=field_description("timeout"))
    stream_chunk_timeout: TimeoutSeconds = Field(
        default=defaults.DEFAULT_STREAM_CHUNK_TIMEOUT,
        description=field_description("stream_chunk_timeout"),
    )
    stream_timeout: TimeoutSeconds = Field(
        default=defaults.DEFAULT_STREAM_TIMEOUT, description=field_description("stream_timeout")
    )
    max_retries: int = Field(
        default=defaults.DEFAULT_MAX_RETRIES, description=field_description("max_retries")
    )
    max_response_size: int | None = Field(
        default=defaults.DEFAULT_MAX_RESPONSE_SIZE,
        description=field_description("max_response_size"),
    )
    max_sse_event_size: int | None = Field(
        default=defaults.DEFAULT_MAX_SSE_EVENT_SIZE,
        description=field_description("max_sse_event_size"),
    )
    max_concurrency: int | None = Field(
        default=None, ge=1, description=field_description("max_concurrency")
    )
    queue_timeout: TimeoutSeconds = Field(
        default=defaults.DEFAULT_QUEUE_TIMEOUT, description=field_description("queue_timeout")
    )
    default_headers: dict[str, str] | None = Field(
        default=None,
        exclude=True,  # never serialised or shown: they may hold credentials
        repr=False,
        description=field_description("default_headers"),
    )
    legacy_auth: bool = Field(default=False, description=field_description("legacy_auth"))
    stream_usage: bool = Field(default=True, description=field_description("stream_usage"))
    http_client: Any = Field(
        default=None, exclude=True, repr=False, description=field_description("http_client")
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        options = ModelsLabOptions.model_fields
        cls.option_fields = tuple(name for name in cls.model_fields if name in options)

    def _option_values(self) -> dict[str, Any]:
        """The values of :attr:`option_fields`, by name (``default_headers`` None as ``{}``)."""
        values = {name: getattr(self, name) for name in self.option_fields}
        values["default_headers"] = dict(self.default_headers or {})
        return values


def document_fields(cls: type[BaseModel]) -> None:
    """List ``cls``'s fields, with their descriptions, at the end of its docstring.

    Those are the fields of :class:`ModelsLabFields` it inherits, then its own, in field
    order; so ``help()`` and IDEs show what ``model_json_schema()`` does, from the same
    text, without building a deferred pydantic schema.
    """
    fields = cls.model_fields
    ours = set(ModelsLabFields.model_fields) | set(cls.__annotations__)
    lines = [
        f"    {name}: {field.description}"
        for name, field in fields.items()
        if name in ours and field.description
    ]
    if lines:
        # Cleaned first: Python 3.13 strips a docstring's indentation when it compiles it.
        doc = inspect.cleandoc(cls.__doc__ or "")
        cls.__doc__ = doc + "\n\nFields:\n" + "\n".join(lines) + "\n"
