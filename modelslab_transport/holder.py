"""What a framework model inherits: the shared fields and one :class:`ModelsLab` it calls."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import PrivateAttr

from modelslab_transport.config.fields import ModelsLabFields
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


_CALL_START: ContextVar[weakref.ref[ModelsLab] | None] = ContextVar(
    "modelslab_call_start", default=None
)
"""The ``ModelsLab`` resolved where the running call began (``ModelsLabHolder._start_call``)."""


class ModelsLabHolder(SecretFields, CallerClients, ModelsLabFields):
    """Mixin for a framework model: the shared fields, calling through one :class:`ModelsLab`.

    A subclass names ``caller_client_fields`` (sync, then async) and
    :attr:`extra_param_fields`, and builds the request parameters those hold in
    ``_extra_params()``.
    """

    extra_param_fields: ClassVar[tuple[str, ...]] = ()
    """The subclass's fields that become the options' ``extra_params``."""

    watched_fields: ClassVar[tuple[str, ...]] = ()
    """The fields whose change reconfigures the ``ModelsLab``: the options, the extra ones."""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.watched_fields = (*cls.option_fields, *cls.extra_param_fields)

    _modelslab: ModelsLab | None = PrivateAttr(default=None)

    def _extra_params(self) -> dict[str, Any]:
        raise NotImplementedError

    def _options(self) -> ModelsLabOptions:
        """The fields as one validated options record.

        Raises:
            ValueError: naming each invalid option and what is allowed.
        """
        return ModelsLabOptions.checked(**self._option_values(), extra_params=self._extra_params())

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

    def _start_call(self) -> ModelsLab:
        """:attr:`client`, resolved where a call begins, for :meth:`_client_for_call`.

        The frameworks read the configuration when a call begins (LangChain's invocation
        params, LlamaIndex's ``metadata`` in the start event); the request then goes out
        with that same configuration, resolved once.
        """
        core = self.client
        _CALL_START.set(weakref.ref(core))
        return core

    def _client_for_call(self) -> ModelsLab:
        """The ``ModelsLab`` a call's request goes through.

        The one :meth:`_start_call` resolved for this model in this call (then forgotten,
        so a later request resolves again), else :attr:`client`.
        """
        started = _CALL_START.get()
        if started is not None:
            _CALL_START.set(None)
            core = started()
            if core is not None and core is modelslab_held_by(self):
                return core
        return self.client

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
