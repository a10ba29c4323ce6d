"""``ModelsLabLLM``: the ModelsLab LLM API as a LlamaIndex function-calling LLM."""

from __future__ import annotations

import warnings
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictInProgressEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.program.utils import FlexibleModel
from llama_index.core.prompts import PromptTemplate
from llama_index.core.types import BasePydanticProgram, Model
from llama_index_instrumentation import get_dispatcher

from llama_index_modelslab.conversions import (
    messages_to_wire,
    tool_to_wire,
)
from llama_index_modelslab.replies import (
    StreamConverter,
    completion_from_wire,
    completion_response_from_chat,
    keep_first_tool_call,
    tool_selections,
)
from llama_index_modelslab.structured import StructuredOutputMethod, structured_program
from modelslab_transport.chat import chat_tool_choice
from modelslab_transport.config import (
    DEFAULT_CONTEXT_WINDOW,
    ToolCallingUnsupportedWarning,
    caller_stacklevel,
    calls_tools,
    check_tool_calling,
    context_window,
    did_you_mean,
    document_fields,
    field_description,
    request_param_refusal,
    resolve_peer_names,
)
from modelslab_transport.config.defaults import DEFAULT_MODEL
from modelslab_transport.holder import ModelsLabHolder
from modelslab_transport.wire import ChatCompletionRequest, ModelInfo

if TYPE_CHECKING:
    from collections.abc import Generator

    from llama_index.core.tools.types import BaseTool

    from modelslab_transport.modelslab import ModelsLab

__all__ = ["DEFAULT_MODEL", "ModelsLabLLM"]

_F = TypeVar("_F", bound=Callable[..., Any])
dispatcher = get_dispatcher(__name__)


def _chat_callback() -> Callable[[_F], _F]:
    """``llm_chat_callback()`` with its type kept (it is untyped upstream)."""
    return cast(Callable[[_F], _F], llm_chat_callback())


def _completion_callback() -> Callable[[_F], _F]:
    """``llm_completion_callback()`` with its type kept (it is untyped upstream)."""
    return cast(Callable[[_F], _F], llm_completion_callback())


class ModelsLabLLM(ModelsLabHolder, FunctionCallingLLM):
    """The ModelsLab LLM API as a LlamaIndex function-calling LLM.

    A chat model with tool calling: it works as ``Settings.llm``, in query and chat
    engines, in ``FunctionAgent`` and ``ReActAgent``, with ``predict_and_call`` and
    with structured output (``structured_predict``, ``as_structured_llm``).

    Constructing it needs neither a key nor the network: a missing key is reported
    when the first request is sent. The key never appears in ``to_dict()``,
    ``to_json()``, ``repr()``, events, logs or exceptions.

    Example:
        >>> from llama_index_modelslab import ModelsLabLLM
        >>> llm = ModelsLabLLM(model="google-gemma-3-1b-it")  # key from $MODELSLAB_API_KEY
        >>> llm.complete("Say hello").text  # doctest: +SKIP

    Token usage is in ``response.additional_kwargs`` (``prompt_tokens``,
    ``completion_tokens``, ``total_tokens``) and in ``response.raw.usage``; streams ask
    the server for it (``stream_usage``) and carry it on their last response.

    ``api="messages"`` speaks the Anthropic-style ``/v1/messages`` protocol instead of
    ``/chat/completions`` (same models, same behaviour; no ``seed``, penalties,
    ``n > 1`` or ``response_format`` there, and ``temperature`` at most 1).
    :meth:`count_tokens` asks the server for an exact prompt size and
    :meth:`list_models` lists the catalog. ``metadata.context_window`` and
    ``num_output`` come from :mod:`modelslab_transport.config.model_profiles` unless
    ``context_window`` / ``max_tokens`` are set.

    A finished reply's ``message.additional_kwargs["finish_reason"]`` is the server's;
    tool calls and structured output are read from it strictly: one cut off by
    ``max_tokens`` (or a content filter) or not valid JSON raises ``IncompleteReplyError``
    naming the cause and the setting to change, never partial arguments.
    """

    # hide_input_in_errors: a ValidationError's text never shows the arguments (the key).
    model_config = ConfigDict(hide_input_in_errors=True, defer_build=False)

    # The fields shared with ChatModelsLab are declared once, in ModelsLabFields
    # (modelslab_transport.config); this class's own follow.
    context_window: int | None = Field(
        default=None,
        gt=0,
        description=(
            "Tokens the model accepts (prompt plus answer). If None, the model profile's "
            "published window (modelslab_transport.config.model_profiles), or a conservative "
            f"{DEFAULT_CONTEXT_WINDOW} for a model the table does not know."
        ),
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description=field_description("additional_kwargs")
    )
    is_function_calling_model: bool | None = Field(
        default=None,
        description=(
            "Whether the model calls tools; None: the model profile's tool flag (unknown: "
            "yes). Tools offered to a model that calls none are refused "
            "(ToolCallingUnsupportedError)."
        ),
    )
    structured_output_method: StructuredOutputMethod = Field(
        default="function_calling",
        description=(
            "How structured_predict asks for structured output: by forcing a tool call, or "
            "with a json_schema response_format (on api='messages', which has no "
            "response_format, always by a tool call). A call can override it with "
            "llm_kwargs={'structured_output_method': ...}."
        ),
    )
    async_http_client: Any = Field(
        default=None,
        exclude=True,
        repr=False,
        description=field_description("async_http_client"),
    )
    caller_client_fields: ClassVar[tuple[str, ...]] = ("http_client", "async_http_client")
    extra_param_fields: ClassVar[tuple[str, ...]] = ("additional_kwargs",)

    _warned_no_tools: str | None = PrivateAttr(default=None)

    def __init__(self, **kwargs: Any) -> None:
        """Build the LLM from its fields (see the class docstring).

        Other integrations' names for our settings are taken as them (``api_base=`` is
        ``base_url=``, ``max_completion_tokens=`` is ``max_tokens=``,
        ``stop_sequences=`` goes in ``additional_kwargs`` as ``stop``...).

        Raises:
            UnsupportedSettingError: for another integration's setting that has no
                counterpart here (``reuse_client``, ``api_version``,
                ``is_chat_model=False``...), or a name given together with ours
                (``api_base=`` and ``base_url=``), naming what to use instead.
            pydantic.ValidationError: for an invalid value or an unknown argument.
        """
        super().__init__(**self._resolve_peer_names(kwargs))

    @classmethod
    def _resolve_peer_names(cls, values: dict[str, Any]) -> dict[str, Any]:
        return resolve_peer_names(
            values, owner="ModelsLabLLM", fields=cls.model_fields, params_field="additional_kwargs"
        )

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_arguments(cls, values: Any) -> Any:
        """Refuse misspelt arguments, as LlamaIndex's own LLM classes do.

        Other integrations' names are resolved first (:meth:`__init__`).
        ``additional_kwargs`` is suggested only for names it would accept: a setting
        (``connect_timeout``, ``request_timeout``...) or a credential gets the message
        of :func:`modelslab_transport.config.options.request_param_refusal` instead.
        """
        if not isinstance(values, dict):
            return values
        values = cls._resolve_peer_names(values)
        known = set(cls.model_fields) | {
            field.alias for field in cls.model_fields.values() if field.alias
        }
        unknown = [key for key in values if key not in known and key != "class_name"]
        if not unknown:
            return values
        raise ValueError(
            "; ".join(
                request_param_refusal(key, "ModelsLabLLM's arguments")
                or f"{key!r} is not a ModelsLabLLM argument{did_you_mean(key, known)} "
                "(request parameters go in additional_kwargs)"
                for key in unknown
            )
        )

    @model_validator(mode="after")
    def _check_options(self) -> ModelsLabLLM:
        """Check every option once, in the core (ranges, URL, the protocol's refusals)."""
        self.client  # noqa: B018 - builds the ModelsLab object, which checks the options
        return self

    @model_validator(mode="after")
    def _check_http_clients(self) -> ModelsLabLLM:
        """Refuse, at construction, HTTP clients that are not httpx2 ones (``TypeError``)."""
        self._check_caller_clients()
        return self

    def _extra_params(self) -> dict[str, Any]:
        return dict(self.additional_kwargs)

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "ModelsLabLLM"

    @property
    def metadata(self) -> LLMMetadata:
        """What LlamaIndex needs to know to budget prompts and pick programs and agents."""
        # Checks the fields first (one changed since may be invalid). Read where a call
        # begins (its start event): the call's request goes out with this configuration.
        client = self._start_call()
        model = client.options.model
        tools = calls_tools(model, self.is_function_calling_model)
        if not tools and self.is_function_calling_model is None:
            self._warn_no_tools(model)
        return LLMMetadata(
            context_window=self.context_window or context_window(model),
            num_output=client.max_tokens_for(),
            is_chat_model=True,
            is_function_calling_model=tools,
            model_name=model,
            system_role=MessageRole.SYSTEM,
        )

    def _warn_no_tools(self, model: str) -> None:
        """Say once, naming the setting, why LlamaIndex will not offer this model tools."""
        if self._warned_no_tools == model:
            return
        self._warned_no_tools = model
        warnings.warn(
            f"the profile of model {model!r} says it calls no tools, so "
            "metadata.is_function_calling_model is False: LlamaIndex uses prompt-based "
            "agents and programs for it, and FunctionAgent refuses it ('LLM must be a "
            "FunctionCallingLLM'). If it does call tools on your server, set "
            "is_function_calling_model=True (False silences this warning)",
            ToolCallingUnsupportedWarning,
            stacklevel=caller_stacklevel(),
        )

    # ------------------------------------------------------------------ transport

    def _request(
        self, messages: Sequence[ChatMessage], *, stream: bool, kwargs: dict[str, Any]
    ) -> tuple[ModelsLab, ChatCompletionRequest]:
        """The ``ModelsLab`` object this call goes through (fields resolved once) and its request.

        The request holds the fields, then additional_kwargs, then the call's kwargs.
        """
        core = self._client_for_call()
        return core, core.build_request(messages_to_wire(messages), stream=stream, params=kwargs)

    def _prompt_messages(self, prompt: str, formatted: bool) -> list[ChatMessage]:
        to_prompt = self.completion_to_prompt
        text = prompt if formatted or to_prompt is None else to_prompt(prompt)
        return [ChatMessage(role=MessageRole.USER, content=text)]

    # ----------------------------------------------------------------------- chat

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        core, request = self._request(messages, stream=False, kwargs=kwargs)
        split_think_tags = self.split_think_tags  # as the call started (fields read once)
        return completion_from_wire(core.chat(request), split_think_tags=split_think_tags)

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        core, request = self._request(messages, stream=False, kwargs=kwargs)
        split_think_tags = self.split_think_tags  # as the call started (fields read once)
        completion = await core.achat(request)
        return completion_from_wire(completion, split_think_tags=split_think_tags)

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        core, request = self._request(messages, stream=True, kwargs=kwargs)
        split_think_tags = self.split_think_tags  # as the call started (fields read once)

        def responses() -> Generator[ChatResponse, None, None]:
            builder = StreamConverter(split_think_tags=split_think_tags)
            with core.stream_chat(request) as stream:
                for chunk in stream:
                    yield builder.convert(chunk)
            rest = builder.finish()
            if rest is not None:
                yield rest

        return responses()

    def _astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        core, request = self._request(messages, stream=True, kwargs=kwargs)
        split_think_tags = self.split_think_tags  # as the call started (fields read once)

        async def responses() -> AsyncGenerator[ChatResponse, None]:
            builder = StreamConverter(split_think_tags=split_think_tags)
            stream = await core.astream_chat(request)
            async with stream:
                async for chunk in stream:
                    yield builder.convert(chunk)
            rest = builder.finish()
            if rest is not None:
                yield rest

        return responses()

    @_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Send the conversation and return the whole reply."""
        return self._chat(messages, **kwargs)

    @_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async :meth:`chat`."""
        return await self._achat(messages, **kwargs)

    @_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Send the conversation and yield the reply as it is written.

        Each response holds the whole message so far and the new text as ``delta``; the
        last one carries the token usage.
        """
        return self._stream_chat(messages, **kwargs)

    @_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async :meth:`stream_chat`: await it, then ``async for`` over the result."""
        return self._astream_chat(messages, **kwargs)

    # ------------------------------------------------------------------ complete

    @_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Send ``prompt`` as a user message and return the whole reply."""
        response = self._chat(self._prompt_messages(prompt, formatted), **kwargs)
        return completion_response_from_chat(response)

    @_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async :meth:`complete`."""
        response = await self._achat(self._prompt_messages(prompt, formatted), **kwargs)
        return completion_response_from_chat(response)

    @_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Send ``prompt`` as a user message and yield the reply as it is written."""
        chat_stream = self._stream_chat(self._prompt_messages(prompt, formatted), **kwargs)

        def responses() -> Generator[CompletionResponse, None, None]:
            for response in chat_stream:
                yield completion_response_from_chat(response)

        return responses()

    @_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async :meth:`stream_complete`: await it, then ``async for`` over the result."""
        chat_stream = self._astream_chat(self._prompt_messages(prompt, formatted), **kwargs)

        async def responses() -> AsyncGenerator[CompletionResponse, None]:
            async for response in chat_stream:
                yield completion_response_from_chat(response)

        return responses()

    # --------------------------------------------------- token count and catalog

    def _count_inputs(
        self, messages: str | Sequence[ChatMessage], tools: Sequence[BaseTool] | None
    ) -> tuple[list[Any], list[Any]]:
        if isinstance(messages, str):
            messages = self._prompt_messages(messages, formatted=False) if messages else []
        return messages_to_wire(messages), [tool_to_wire(tool) for tool in tools or []]

    def count_tokens(
        self, messages: str | Sequence[ChatMessage], tools: Sequence[BaseTool] | None = None
    ) -> int:
        """The exact number of input tokens ``messages`` (and ``tools``) would use.

        Counted by the server (``POST /v1/messages/count_tokens``), whichever ``api``
        this LLM speaks; a string counts as one user message, and nothing (an empty list
        or string, no tools) is 0 without a request. Add the system prompt to
        ``messages`` yourself if it should count: ``chat`` does not prepend it.

        A server without that endpoint (vLLM, llama.cpp, Ollama) gets the transport's
        estimate instead, with a ``TokenCountEstimateWarning`` once per model
        (:meth:`modelslab_transport.ModelsLab.count_tokens`): the same number
        ``ChatModelsLab.get_num_tokens_from_messages`` gives for the same conversation.

        Raises:
            ModelsLabError: when the server cannot count otherwise (unreachable, a bad
                key, an unknown model).
        """
        return self.client.count_tokens(*self._count_inputs(messages, tools))

    async def acount_tokens(
        self, messages: str | Sequence[ChatMessage], tools: Sequence[BaseTool] | None = None
    ) -> int:
        """Async :meth:`count_tokens`."""
        return await self.client.acount_tokens(*self._count_inputs(messages, tools))

    def list_models(self) -> list[ModelInfo]:
        """The models this account can use (``GET /v1/models``), as typed entries.

        Each entry has ``id`` (what ``model=`` takes), ``owned_by`` and ``created``;
        limits and capabilities are in
        :func:`modelslab_transport.config.model_profiles.model_profile`.
        """
        return self.client.list_models()

    async def alist_models(self) -> list[ModelInfo]:
        """Async :meth:`list_models`."""
        return await self.client.alist_models()

    # -------------------------------------------------------------- tool calling

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The ``chat`` arguments that offer ``tools`` to the model.

        ``tool_choice`` may be ``"auto"``, ``"none"``, ``"required"``/``"any"``, a tool's
        name, or an OpenAI-style dict; when it is None, ``tool_required`` picks between
        ``"required"`` and ``"auto"``. ``parallel_tool_calls`` follows
        ``allow_parallel_tool_calls``.

        Raises:
            ToolCallingUnsupportedError: when the model calls no tools (its profile
                says so and ``is_function_calling_model`` is unset, or that is False);
                the same refusal as ``ChatModelsLab.bind_tools``'s.
        """
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
        elif user_msg is not None:
            messages.append(user_msg)
        chat_kwargs: dict[str, Any] = {"messages": messages, **kwargs}
        if not tools:
            return chat_kwargs
        self._check_tool_calling()
        names = [tool.metadata.name for tool in tools if tool.metadata.name]
        choice = tool_choice if tool_choice is not None else tool_required
        chat_kwargs["tools"] = [tool_to_wire(tool, strict=strict) for tool in tools]
        chat_kwargs["tool_choice"] = chat_tool_choice(choice, names) if choice else "auto"
        chat_kwargs["parallel_tool_calls"] = allow_parallel_tool_calls
        return chat_kwargs

    def _check_tool_calling(self) -> None:
        """Refuse tools for a model that calls none (see :meth:`_prepare_chat_with_tools`)."""
        check_tool_calling(
            self.client.options.model,
            override=self.is_function_calling_model,
            setting="is_function_calling_model=True on the ModelsLabLLM",
            instead="; structured_output_method='json_schema' asks for structured output "
            "without tools, and ReActAgent uses tools through the prompt",
        )

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Keep only the first tool call unless parallel calls were allowed."""
        if allow_parallel_tool_calls:
            return response
        return keep_first_tool_call(response)

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """The tool calls in a response.

        Mid-stream, partial arguments are shown as far as they can be read (never
        raising). A finished reply's arguments are final: parsed strictly, and never
        taken from a reply cut off before they were whole.

        Raises:
            IncompleteReplyError: (a ``ValueError``) when a finished reply's call was cut
                off (``max_tokens``, a content filter) or its arguments are not a valid
                JSON object; the message names the cause and the setting to change.
            ValueError: when the response calls no tool and ``error_on_no_tool_call``
                (``IncompleteReplyError`` when the reply did not finish).
        """
        selections = tool_selections(response.message)
        if not selections and error_on_no_tool_call:
            from llama_index_modelslab.replies import (
                reply_incompleteness,
            )
            from modelslab_transport.chat import IncompleteReplyError

            incomplete = reply_incompleteness(response.message)
            if incomplete is not None:
                raise IncompleteReplyError(
                    f"expected a tool call from {self.model}, got none: {incomplete.message}",
                    incomplete,
                )
            raise ValueError(
                f"expected at least one tool call from {self.model}, got none "
                f"(reply: {(response.message.content or '')[:200]!r})"
            )
        return selections

    # --------------------------------------------------------- structured output

    def _structured_program(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None,
    ) -> tuple[BasePydanticProgram[Model], dict[str, Any]]:
        """The program for one structured call, and the LLM kwargs left for it."""
        return structured_program(
            self,
            output_cls,
            prompt,
            llm_kwargs,
            default_method=self.structured_output_method,
            api=self.api,
            check_tool_calling=self._check_tool_calling,
        )

    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Fill ``prompt`` and return the model's answer as an ``output_cls``.

        Uses a forced tool call, or a ``json_schema`` response format when
        ``structured_output_method`` (the field, or ``llm_kwargs``) says so.
        """
        program, kwargs = self._structured_program(output_cls, prompt, llm_kwargs)
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        result = program(llm_kwargs=kwargs, **prompt_args)
        return self._structured_result(result, output_cls)

    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Async :meth:`structured_predict`."""
        program, kwargs = self._structured_program(output_cls, prompt, llm_kwargs)
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        result = await program.acall(llm_kwargs=kwargs, **prompt_args)
        return self._structured_result(result, output_cls)

    @staticmethod
    def _structured_result(result: Any, output_cls: type[Model]) -> Model:
        if not isinstance(result, output_cls):
            raise TypeError(
                f"structured prediction expected a {output_cls.__name__}, got "
                f"{type(result).__name__}: {result!r}"
            )
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    def stream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Model | FlexibleModel, None, None]:
        """Yield the ``output_cls`` object the streamed answer adds up to so far."""
        program, kwargs = self._structured_program(output_cls, prompt, llm_kwargs)
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        last: Any = None
        for partial in program.stream_call(llm_kwargs=kwargs, **prompt_args):
            if isinstance(partial, list):
                partial = partial[0] if partial else output_cls.model_construct()
            dispatcher.event(LLMStructuredPredictInProgressEvent(output=partial))
            last = partial
            yield partial
        if last is not None:
            dispatcher.event(LLMStructuredPredictEndEvent(output=last))

    async def astream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Model | FlexibleModel, None]:
        """Async :meth:`stream_structured_predict`: await it, then ``async for``."""
        program, kwargs = self._structured_program(output_cls, prompt, llm_kwargs)

        async def partials() -> AsyncGenerator[Model | FlexibleModel, None]:
            dispatcher.event(
                LLMStructuredPredictStartEvent(
                    output_cls=output_cls, template=prompt, template_args=prompt_args
                )
            )
            last: Any = None
            async for partial in await program.astream_call(llm_kwargs=kwargs, **prompt_args):
                if isinstance(partial, list):
                    partial = partial[0] if partial else output_cls.model_construct()
                dispatcher.event(LLMStructuredPredictInProgressEvent(output=partial))
                last = partial
                yield partial
            if last is not None:
                dispatcher.event(LLMStructuredPredictEndEvent(output=last))

        return partials()


document_fields(ModelsLabLLM)
