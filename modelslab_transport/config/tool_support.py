"""Whether a model calls tools, and the one refusal both frameworks give when it does not.

A model's profile (:mod:`modelslab_transport.config.model_profiles`) may say it calls no tools
(a base model such as ``meta-llama-Llama-3.2-1B``; a catalog entry whose supported
parameters lack ``tools``). Offered tools anyway it answers in text, or the server
refuses them, having spent the credit. So both frameworks refuse before sending, with
:class:`ToolCallingUnsupportedError` naming the model, the profile and the setting that
says otherwise: ``ChatModelsLab(profile={..., "tool_calling": True})`` (LangChain's
profile key) and ``ModelsLabLLM(is_function_calling_model=True)`` (LlamaIndex's
metadata flag). A profile that does not say (``None``) is taken to call tools, as the
API documents function calling for its models.
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
    """Tools were offered to a model whose profile says it calls none; nothing was sent.

    Attributes:
        model: The model id.
        setting: The setting that says the model does call tools.
    """

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

    Args:
        model: The model id the request names.
        override: The user's say on it (a framework setting), None when unset.
        setting: The setting that says the model does call tools, for the message.
        instead: A way to do without tools, for the message (structured output's
            JSON methods), or "".

    Raises:
        ToolCallingUnsupportedError: naming the model, its profile's sources and
            ``setting``.
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
