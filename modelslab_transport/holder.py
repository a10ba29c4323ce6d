"""What a framework model inherits to call through one :class:`ModelsLab` object.

Kept apart from :mod:`modelslab_transport.modelslab`, which imports the HTTP stack: a
framework class inherits this when its package is imported, and the stack is imported
when the first call builds the object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from modelslab_transport.config.options import ModelsLabOptions
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
    """The ``ModelsLab`` a framework model keeps in its pydantic private ``_modelslab``.

    Built (and stored) on the first call, then kept in step with the attributes
    ``names`` of ``owner`` (see :meth:`ModelsLab.follow`). Both framework classes hold
    their object through this one function.
    """
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


class ModelsLabHolder(CallerClients):
    """Mixin for a framework model that calls through one :class:`ModelsLab` object.

    ``ChatModelsLab`` and ``ModelsLabLLM`` both are one: they name the fields that
    configure the object in :attr:`watched_fields`, their caller-client fields in
    ``caller_client_fields`` (sync, then async), and build the options in
    ``_options()``. The object is built on the first call (:func:`modelslab_of`) and
    kept in a pydantic private attribute ``_modelslab``, which the class declares.
    """

    watched_fields: ClassVar[tuple[str, ...]] = ()
    """The fields whose change reconfigures the ``ModelsLab`` object."""

    def _options(self) -> ModelsLabOptions:
        raise NotImplementedError

    @property
    def client(self) -> ModelsLab:
        """The :class:`~modelslab_transport.ModelsLab` object this model calls through.

        It follows the fields: after one changes (``model.base_url = ...``) the next call
        gets new transport clients, while calls already running keep theirs.

        Raises:
            ValueError: when a field changed since to a value the options refuse.
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
    """The ``ModelsLab`` that :func:`modelslab_of` built for ``owner``, if it built one.

    None before the first call, and for a copy of a framework model that still holds
    the original's object (a copy builds its own on its first call, and closing the
    copy must not close the original's connections).
    """
    # Read from pydantic's private-attribute slot: ``owner._modelslab`` goes through
    # pydantic's ``__getattr__``, which costs more than the rest of :func:`modelslab_of`.
    private = owner.__pydantic_private__
    core: ModelsLab | None = private.get("_modelslab") if private else None
    if core is None or not core.follows(owner):
        return None
    return core
