"""One configuration: defaults, the options record, credentials, URLs, model profiles.

Names are imported from their modules on first access.
"""

from typing import TYPE_CHECKING

from modelslab_transport._lazy import lazy_exports, names_by_module

if TYPE_CHECKING:
    from modelslab_transport.config.connection import (
        TimeoutSeconds,
        api_key_from_env,
        base_url_from_env,
        caller_stacklevel,
    )
    from modelslab_transport.config.defaults import (
        DEFAULT_MODEL,
    )
    from modelslab_transport.config.extras import (
        require_extra,
    )
    from modelslab_transport.config.fields import (
        ModelsLabFields,
        document_fields,
    )
    from modelslab_transport.config.model_profiles import (
        DEFAULT_CONTEXT_WINDOW,
        context_window,
        default_max_tokens,
        model_profile,
    )
    from modelslab_transport.config.options import (
        ModelsLabOptions,
        did_you_mean,
        field_description,
        is_credential_name,
        request_param_refusal,
    )
    from modelslab_transport.config.peer_names import (
        resolve_peer_names,
    )
    from modelslab_transport.config.settings import (
        ClientSettings,
    )
    from modelslab_transport.config.tool_support import (
        ToolCallingUnsupportedWarning,
        calls_tools,
        check_tool_calling,
    )

_MODULE_EXPORTS: dict[str, list[str]] = {
    "connection": ["TimeoutSeconds", "api_key_from_env", "base_url_from_env", "caller_stacklevel"],
    "defaults": ["DEFAULT_MODEL"],
    "extras": ["require_extra"],
    "fields": ["ModelsLabFields", "document_fields"],
    "model_profiles": [
        "DEFAULT_CONTEXT_WINDOW",
        "context_window",
        "default_max_tokens",
        "model_profile",
    ],
    "options": [
        "ModelsLabOptions",
        "did_you_mean",
        "field_description",
        "is_credential_name",
        "request_param_refusal",
    ],
    "peer_names": ["resolve_peer_names"],
    "settings": ["ClientSettings"],
    "tool_support": ["ToolCallingUnsupportedWarning", "calls_tools", "check_tool_calling"],
}
"""Each submodule's exported names, imported on first access."""
_EXPORTS = names_by_module(_MODULE_EXPORTS)

__all__ = list(_EXPORTS)

if not TYPE_CHECKING:  # type checkers see the imports above
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
