"""Whether a model calls tools, and the one refusal both frameworks give, before sending.

Overrides: ``ChatModelsLab(profile={..., "tool_calling": True})`` and
``ModelsLabLLM(is_function_calling_model=True)``.
"""

from __future__ import annotations

from modelslab_transport.config.model_profiles import model_profile

__all__ = [
    "ToolCallingUnsupportedError",
    "ToolCallingUnsupportedWarning",
    "calls_tools",
    "check_tool_calling",
]


class ToolCallingUnsupportedError(ValueError):
    """Tools were offered to ``model``, which calls none; nothing sent (``setting`` overrides)."""

    def __init__(self, message: str, *, model: str, setting: str) -> None:
        super().__init__(message)
        self.model = model
        self.setting = setting


class ToolCallingUnsupportedWarning(UserWarning):
    """A model's profile says it calls no tools, so a framework will not offer it any."""


def calls_tools(model: str, override: bool | None = None) -> bool:
    """Whether ``model`` calls tools: ``override`` if set, else its profile (unknown: yes)."""
    if override is not None:
        return override
    return model_profile(model).tool_calling is not False


def check_tool_calling(
    model: str, *, override: bool | None, setting: str, instead: str = ""
) -> None:
    """Refuse to offer tools to ``model`` when it calls none (see :func:`calls_tools`).

    Raises:
        ToolCallingUnsupportedError: naming the model, its profile's sources and ``setting``.
    """
    if calls_tools(model, override):
        return
    if override is False:
        said = f"{setting.split('=', 1)[0]} says it calls none"
    else:
        sources = ", ".join(model_profile(model).sources) or "the model catalog"
        said = (
            f"its profile says it calls none (modelslab_transport.config.model_profiles; {sources})"
        )
    raise ToolCallingUnsupportedError(
        f"the model {model!r} was offered tools, but {said}: nothing was sent. If it does "
        f"call tools on your server, set {setting}; otherwise use a model that calls tools "
        f"(list_models()){instead}",
        model=model,
        setting=setting,
    )
