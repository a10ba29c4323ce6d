"""langchain-tests' standard integration suite, replayed from cassettes.

Every test carries the ``vcr`` marker. While recording (``python -m tools.recording
record tests/langchain``) the requests go to the server named by the environment;
otherwise they are answered from ``cassettes/langchain/test_standard_integration/``
and no socket is opened. The recorded server is a local llama.cpp ``llama-server``
with SmolLM2-135M-Instruct (see ``cassettes/README.md``), so the assertions the
suite makes about answers are checked against a very small model. Requests that
force a tool call go to the recording tools server (``server_routing.py``).

The suite runs twice, once per protocol: :class:`TestChatModelsLabIntegration` over
``/chat/completions`` and :class:`TestChatModelsLabMessagesIntegration` over the
Anthropic-style ``/v1/messages`` (``api="messages"``). Both take their configuration
from :class:`ModelsLabStandardSuite`; they differ in their sampling parameters and in
their xfails, each of which names the recording server's behaviour that causes it.
Cassettes are named after the class, so the two runs never share one.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.tools import BaseTool
from langchain_tests.integration_tests import ChatModelIntegrationTests
from vcr.errors import CannotOverwriteExistingCassetteException  # type: ignore[import-untyped]

from langchain_modelslab import ChatModelsLab
from tests.langchain.server_routing import routed_model_params

pytestmark = pytest.mark.vcr


class ModelsLabStandardSuite(ChatModelIntegrationTests):
    """The standard suite configured for ModelsLab, whichever protocol.

    Not collected itself (its name does not start with ``Test``): the two classes
    below run it, each with its protocol's parameters.
    """

    @property
    def chat_model_class(self) -> type[ChatModelsLab]:
        return ChatModelsLab

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": "google-gemma-3-1b-it",
            **routed_model_params(),
            "max_tokens": 200,
            "max_retries": 0,
        }

    @property
    def enable_vcr_tests(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        # response_format {"type": "json_object"} is documented by ModelsLab; on the
        # Messages protocol json_mode is carried out as a forced tool call.
        return True

    @property
    def supports_anthropic_inputs(self) -> bool:
        # Anthropic-style content blocks and tool dicts are converted on the way out.
        return True

    @property
    def supports_image_inputs(self) -> bool:
        # Only ModelsLab's vision models read images; the default model and the
        # recording model (SmolLM2-135M) are text-only.
        return False

    @property
    def supports_image_urls(self) -> bool:
        return False

    @property
    def supports_image_tool_message(self) -> bool:
        # Chat-completions tool messages carry text only.
        return False

    @property
    def returns_usage_metadata(self) -> bool:
        return True

    @pytest.mark.xfail(
        reason=(
            "request body is not deterministic: tool_example_to_messages gives the "
            "few-shot tool calls fresh uuid4 ids on every run, so its recorded cassette "
            "can never match on replay (it passes while recording)"
        ),
        raises=CannotOverwriteExistingCassetteException,
        strict=False,
    )
    def test_structured_few_shot_examples(
        self, model: BaseChatModel, my_adder_tool: BaseTool
    ) -> None:
        super().test_structured_few_shot_examples(model, my_adder_tool)


class TestChatModelsLabIntegration(ModelsLabStandardSuite):
    """The standard suite over ``/chat/completions`` (the default protocol)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            **super().chat_model_params,
            "temperature": 0,
            # Keep the 135M recording model from repeating itself until max_tokens
            # (both are documented ModelsLab parameters, -2 to 2).
            "presence_penalty": 0.6,
            "frequency_penalty": 0.3,
        }

    @pytest.mark.xfail(
        reason=(
            "the recording server (llama-server) treats the object form of tool_choice "
            "({'type': 'function', 'function': {'name': 'magic_function'}}) as 'auto', so "
            "the 135M model answers in prose; the 'any' half of the test passes and the "
            "request shape is unit-tested in test_requests.py"
        ),
        strict=True,
    )
    def test_tool_choice(self, model: BaseChatModel) -> None:
        super().test_tool_choice(model)

    @pytest.mark.xfail(
        reason=(
            "json_object mode guarantees JSON, not keys: the 135M recording model does not "
            "use the 'setup'/'punchline' keys the prompt asks for"
        ),
        strict=True,
    )
    def test_json_mode(self, model: BaseChatModel) -> None:
        super().test_json_mode(model)

    @pytest.mark.xfail(
        reason=(
            "with tool_choice 'auto' the 135M recording model answers in prose instead of "
            "calling get_weather; the agent loop with a forced first call passes in "
            "test_end_to_end.py"
        ),
        strict=True,
    )
    @pytest.mark.parametrize("model", [{}, {"output_version": "v1"}], indirect=True)
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)


class TestChatModelsLabMessagesIntegration(ModelsLabStandardSuite):
    """The standard suite over the Anthropic-style ``/v1/messages`` (``api="messages"``)."""

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            **super().chat_model_params,
            "api": "messages",
            # The Messages protocol has no frequency/presence penalty. Greedy, the 135M
            # recording model then repeats itself inside a forced tool call's arguments
            # until max_tokens, and llama-server returns the unfinished call with input
            # {}; sampling (both parameters exist on the protocol, 0-1) lets it finish.
            "temperature": 0.7,
            "top_p": 0.9,
        }

    @pytest.mark.xfail(
        reason=(
            "the recording server (llama-server) maps tool_choice {'type': 'tool', 'name': "
            "'magic_function'} to 'required' without restricting the call to that tool, so "
            "the 135M model may call get_weather; the 'any' half of the test passes and the "
            "request shape is unit-tested in test_requests.py"
        ),
        strict=False,
    )
    def test_tool_choice(self, model: BaseChatModel) -> None:
        super().test_tool_choice(model)

    @pytest.mark.xfail(
        reason=(
            "the 135M recording model, sampling, ran into max_tokens (200) inside the "
            "forced Joke call's arguments; llama-server then returns the unfinished "
            "tool_use with input {} and stop_reason 'max_tokens', which fails validation "
            "(the other structured-output tests of this class pass)"
        ),
        strict=False,
    )
    def test_structured_output_optional_param(self, model: BaseChatModel) -> None:
        super().test_structured_output_optional_param(model)

    @pytest.mark.xfail(
        reason=(
            "as over chat completions: offered get_weather without a forced call, the 135M "
            "recording model answers in prose instead of calling it; the agent loop with "
            "a forced first call passes in test_end_to_end.py"
        ),
        strict=True,
    )
    @pytest.mark.parametrize("model", [{}, {"output_version": "v1"}], indirect=True)
    def test_agent_loop(self, model: BaseChatModel) -> None:
        super().test_agent_loop(model)
