"""Whether a model calls tools, and the refusal given before sending tools to one that does not."""

from __future__ import annotations

import pytest

from modelslab_transport.config.model_profiles import MODEL_PROFILES
from modelslab_transport.config.tool_support import (
    ToolCallingUnsupportedError,
    calls_tools,
    check_tool_calling,
)

NO_TOOLS = next(name for name, profile in MODEL_PROFILES.items() if profile.tool_calling is False)
UNKNOWN = "a-model-no-profile-names"


def test_calls_tools_follows_the_profile_and_the_override() -> None:
    assert not calls_tools(NO_TOOLS)
    assert calls_tools(NO_TOOLS, override=True)
    assert calls_tools(UNKNOWN)  # unknown models are assumed to call tools
    assert not calls_tools(UNKNOWN, override=False)


def test_a_model_that_calls_tools_passes() -> None:
    check_tool_calling(UNKNOWN, override=None, setting="profile={'tool_calling': True}")
    check_tool_calling(NO_TOOLS, override=True, setting="is_function_calling_model=True")


def test_the_profile_refusal_names_the_model_the_sources_and_the_setting() -> None:
    setting = "profile={..., 'tool_calling': True}"
    with pytest.raises(ToolCallingUnsupportedError) as caught:
        check_tool_calling(NO_TOOLS, override=None, setting=setting, instead=", or no tools")
    error = caught.value
    assert (error.model, error.setting) == (NO_TOOLS, setting)
    text = str(error)
    assert text.startswith(f"the model {NO_TOOLS!r} was offered tools, but its profile says")
    assert MODEL_PROFILES[NO_TOOLS].sources[0] in text
    assert text.endswith(
        f"set {setting}; otherwise use a model that calls tools (list_models()), or no tools"
    )
    assert isinstance(error, ValueError)


def test_the_override_refusal_names_the_setting_that_said_so() -> None:
    with pytest.raises(ToolCallingUnsupportedError, match=r"but is_function_calling_model says it"):
        check_tool_calling(UNKNOWN, override=False, setting="is_function_calling_model=True")
