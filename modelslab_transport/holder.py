"""What a framework model inherits to call through one :class:`ModelsLab`, built on first call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from modelslab_transport.config.options import ModelsLabOptions
from modelslab_transport.config.secret_fields import SecretFields
from modelslab_transport.http.caller_clients import CallerClients

if TYPE_CHECKING:
    from modelslab_transport.modelslab import ModelsLab

__all__ = ["ModelsLabHolder", "modelslab_held_by", "modelslab_of"]


def modelslab_of(
    owner: Any,
    names: Sequence[str],
    make_options: Callable[[], ModelsLabOptions],
    *,
    http_client: Any = None,
    async_http_client: Any = None,
) -> ModelsLab:
    """``owner``'s ``ModelsLab`` (``_modelslab``): built on first call, then following ``names``."""
    core = modelslab_held_by(owner)
    if core is None:
        from modelslab_transport.modelslab import ModelsLab  # the HTTP stack, on first call

        core = ModelsLab.following(
            owner,
            names,
            make_options,
            http_client=http_client,
            async_http_client=async_http_client,
        )
        owner._modelslab = core
        return core
    return core.follow(
        owner,
        names,
        make_options,
        http_client=http_client,
        async_http_client=async_http_client,
    )


class ModelsLabHolder(SecretFields, CallerClients):
    """Mixin for a framework model that calls through one :class:`ModelsLab` object.

    A subclass names :attr:`watched_fields` and ``caller_client_fields`` (sync, then async),
    builds the options in ``_options()`` and declares the private ``_modelslab``.
    """

    watched_fields: ClassVar[tuple[str, ...]] = ()
    """The fields whose change reconfigures the ``ModelsLab`` object."""

    def _options(self) -> ModelsLabOptions:
        raise NotImplementedError

    @property
    def client(self) -> ModelsLab:
        """The ``ModelsLab`` this model calls through; it follows the fields.

        Raises:
            ValueError: when a field changed to a value the options refuse.
        """
        sync_field, async_field = self.caller_client_fields
        return modelslab_of(
            self,
            self.watched_fields,
            self._options,
            http_client=getattr(self, sync_field),
            async_http_client=getattr(self, async_field),
        )

    def close(self) -> None:
        """Close the pooled sync connections this model opened (injected ones stay open)."""
        core = modelslab_held_by(self)
        if core is not None:
            core.close()

    async def aclose(self) -> None:
        """Close the pooled async connections this model opened (injected ones stay open)."""
        core = modelslab_held_by(self)
        if core is not None:
            await core.aclose()


def modelslab_held_by(owner: Any) -> ModelsLab | None:
    """The ``ModelsLab`` :func:`modelslab_of` built for ``owner``; None before, and for a copy."""
    # The slot read directly, bypassing pydantic's ``__getattr__``.
    private = owner.__pydantic_private__
    core: ModelsLab | None = private.get("_modelslab") if private else None
    if core is None or not core.follows(owner):
        return None
    return core
