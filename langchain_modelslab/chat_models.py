"""``ChatModelsLab``: the ModelsLab LLM API as a LangChain chat model."""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.language_models.chat_models import (
    BaseChatModel,
    agenerate_from_stream,
    generate_from_stream,
)
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, model_validator

from langchain_modelslab.errors import langchain_errors
from modelslab_transport.chat import chat_tool_choice
from modelslab_transport.config import (
    DEFAULT_CONTEXT_WINDOW,
    caller_stacklevel,
    check_tool_calling,
    default_max_tokens,
    defaults,
    did_you_mean,
    document_fields,
    field_description,
    is_credential_name,
    model_profile,
    request_param_refusal,
    resolve_peer_names,
)
from modelslab_transport.config.defaults import DEFAULT_MODEL
from modelslab_transport.holder import ModelsLabHolder
from modelslab_transport.wire import supports_response_format

if TYPE_CHECKING:
    from langchain_modelslab.structured_output import StructuredOutputMethod
    from modelslab_transport.modelslab import ModelsLab
    from modelslab_transport.wire import ChatCompletionRequest, ModelInfo, Tool

# What builds requests and reads replies (message conversions, wire types, the HTTP
# client and httpx2, structured-output parsers) is imported by the methods that first
# need it, not with this module: ``import langchain_modelslab`` then costs little more
# than importing ``BaseChatModel`` itself (measured by ``python -m benchmarks``).

__all__ = ["DEFAULT_MODEL", "ChatModelsLab"]

logger = logging.getLogger(__name__)

_TOOL_SPEC = dict[str, Any] | type | Callable[..., Any] | BaseTool


class ChatModelsLab(ModelsLabHolder, BaseChatModel):
    """A LangChain chat model on ModelsLab's LLM API.

    ModelsLab serves the same models over two protocols; ``api`` picks one:
    OpenAI-style ``/chat/completions`` (the default) or Anthropic-style
    ``/v1/messages`` (``api="messages"``). Text, streaming, system prompts, stop
    sequences, usage, tool calling (including streamed tool input) and structured
    output work alike on both. The Messages protocol has no ``seed``,
    ``frequency_penalty``, ``presence_penalty``, ``n > 1`` or ``response_format``,
    and caps ``temperature`` at 1: those are refused with a ``ValueError`` when the
    model is built. Structured output with ``method="json_mode"`` or
    ``"json_schema"`` is asked for by forcing a tool call on that protocol (see
    :meth:`with_structured_output`).

    Constructing it needs neither a key nor the network: the HTTP client is built on
    first use. The key is read from ``MODELSLAB_API_KEY`` unless passed as ``api_key``.
    ``profile`` (context window, output cap, tool calling, images) comes from
    :mod:`modelslab_transport.config.model_profiles`; pass ``profile={...}`` to override it.

    Example:
        .. code-block:: python

            from langchain_modelslab import ChatModelsLab

            llm = ChatModelsLab(model="google-gemma-3-1b-it", temperature=0)
            llm.invoke("Name three colours.").content

            for chunk in llm.stream("Count to five."):
                print(chunk.text, end="")

            class Weather(BaseModel):
                city: str

            llm.bind_tools([Weather], tool_choice="any").invoke("Weather in Paris?")
            llm.with_structured_output(Weather).invoke("Weather in Paris?")

            ChatModelsLab(api="messages").invoke("Hello")  # over /v1/messages
            llm.get_num_tokens_from_messages([HumanMessage("Hi")])  # counted by the server
            [model.id for model in llm.list_models()]  # GET /v1/models

    Errors are the transport's classes, each also a ``langchain_core.exceptions``
    ``Model*Error`` (see :mod:`langchain_modelslab.errors`).

    A reply cut off by ``max_tokens`` (or a content filter) says so: its
    ``response_metadata["finish_reason"]``; a tool call in it, or one whose arguments are
    not valid JSON, is in ``invalid_tool_calls`` with an ``error`` naming the cause and
    setting (a stream ends with ``IncompleteReplyError`` instead); structured output
    raises ``OutputParserException``. ``id`` is LangChain's run id; the server's is
    ``response_metadata["id"]``.

    (``help()`` lists the fields below, with their descriptions, before any instance
    exists: the pydantic schema is built on first instantiation, to keep the import fast.)
    """

    # hide_input_in_errors: a ValidationError's text never shows the arguments (the key).
    model_config = ConfigDict(populate_by_name=True, defer_build=True, hide_input_in_errors=True)

    # The fields shared with ModelsLabLLM are declared once, in ModelsLabFields
    # (modelslab_transport.config); this class's own follow.
    top_p: float | None = Field(default=None, description=field_description("top_p"))
    stop: list[str] | str | None = Field(default=None, description=field_description("stop"))
    n: int | None = Field(default=None, description=field_description("n"))
    seed: int | None = Field(default=None, description=field_description("seed"))
    frequency_penalty: float | None = Field(
        default=None, description=field_description("frequency_penalty")
    )
    presence_penalty: float | None = Field(
        default=None, description=field_description("presence_penalty")
    )
    logprobs: bool | None = Field(
        default=None,
        description=(
            "Return per-token log probabilities (response_metadata['logprobs'], streamed "
            "ones added up); chat completions only."
        ),
    )
    top_logprobs: int | None = Field(
        default=None,
        description="How many most likely alternatives (0-20) to return per token with logprobs.",
    )
    streaming: bool = Field(
        default=False,
        description="Whether invoke streams under the hood (callbacks then see every token).",
    )
    model_kwargs: dict[str, Any] = Field(
        default_factory=dict, description=field_description("model_kwargs")
    )
    extra_body: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Fields merged into every request body as given (the ChatOpenAI idiom); also "
            "accepted per call and in bind."
        ),
    )
    http_async_client: Any = Field(
        default=None, exclude=True, description=field_description("http_async_client")
    )
    caller_client_fields: ClassVar[tuple[str, ...]] = ("http_client", "http_async_client")
    extra_param_fields: ClassVar[tuple[str, ...]] = (
        "logprobs",
        "top_logprobs",
        "model_kwargs",
        "extra_body",
    )

    # ------------------------------------------------------------ construction

    def __init__(self, **kwargs: Any) -> None:
        """Build the model from its fields (see the class docstring).

        Other integrations' names for our settings are taken as them
        (``openai_api_base=`` is ``base_url=``, ``max_completion_tokens=`` is
        ``max_tokens=``, ``stop_sequences=`` is ``stop=``...).

        Raises:
            UnsupportedSettingError: for another integration's setting that has no
                counterpart here (``openai_proxy``, ``reuse_client``...), or a name given
                together with ours (``openai_api_base=`` and ``base_url=``), naming what
                to use instead.
            pydantic.ValidationError: for an invalid value.
        """
        super().__init__(**self._resolve_peer_names(kwargs))

    @classmethod
    def _resolve_peer_names(cls, values: dict[str, Any]) -> dict[str, Any]:
        return resolve_peer_names(
            values, owner="ChatModelsLab", fields=cls.model_fields, params_field="model_kwargs"
        )

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        """Move unknown constructor arguments into ``model_kwargs``, with a warning.

        Other integrations' names (``openai_api_base``, ``max_completion_tokens``,
        ``stop_sequences``...: :data:`modelslab_transport.config.peer_names.PEER_NAMES`) are taken
        as our fields or refused first (see :meth:`__init__`). An
        unknown argument that could not be a request parameter (a credential, a setting
        such as ``connect_timeout``: see
        :func:`modelslab_transport.config.options.request_param_refusal`) is a ``ValueError``.
        """
        if not isinstance(values, dict):
            return values
        values = cls._resolve_peer_names(values)
        known = set(cls.model_fields) | {
            field.alias for field in cls.model_fields.values() if field.alias
        }
        model_kwargs = dict(values.get("model_kwargs") or {})
        clashing = sorted(known & set(model_kwargs))
        if clashing:
            raise ValueError(f"pass {clashing} as ChatModelsLab arguments, not in model_kwargs")
        extra = {key: value for key, value in values.items() if key not in known}
        if not extra:
            return values
        misplaced_keys = sorted(key for key in extra if is_credential_name(key))
        if misplaced_keys:
            # Sent as a request parameter, the key would sit in the request body and in
            # model_kwargs (repr, dumps()): refuse it, never showing its value.
            raise ValueError(
                f"{', '.join(map(repr, misplaced_keys))} is not a ChatModelsLab argument; "
                "pass the ModelsLab key as api_key=... (or set MODELSLAB_API_KEY)"
            )
        for key in extra:
            # A setting (connect_timeout=, another class's field...) would be refused in
            # model_kwargs too: refuse it here, naming the constructor, instead of advising it.
            refusal = request_param_refusal(key, "ChatModelsLab's arguments")
            if refusal is not None:
                raise ValueError(refusal)
        for key in extra:
            warnings.warn(
                f"{key!r} is not a ChatModelsLab field{did_you_mean(key, known)}; it is sent "
                "as a request parameter (pass it in model_kwargs to silence this warning)",
                UserWarning,
                stacklevel=caller_stacklevel(),
            )
        model_kwargs.update(extra)
        kept = {key: value for key, value in values.items() if key in known}
        return {**kept, "model_kwargs": model_kwargs}

    @model_validator(mode="after")
    def _check_http_clients(self) -> ChatModelsLab:
        """Refuse, at construction, HTTP clients that are not httpx2 ones (``TypeError``)."""
        self._check_caller_clients()
        return self

    @model_validator(mode="after")
    def _check_streaming_choices(self) -> ChatModelsLab:
        if self.streaming and self.n is not None and self.n > 1:
            raise ValueError("n > 1 cannot be combined with streaming=True")
        return self

    @model_validator(mode="after")
    def _check_options(self) -> ChatModelsLab:
        """Check every option once, in the core (ranges, URL, the protocol's refusals)."""
        self.client  # noqa: B018 - builds the ModelsLab object, which checks the options
        return self

    def _resolve_model_profile(self) -> ModelProfile | None:
        """The model's profile from :mod:`modelslab_transport.config.model_profiles`.

        Only what the table knows is filled in; a model missing from it gets the
        conservative default (an 8192-token context window).
        """
        known = model_profile(self.model)
        profile = ModelProfile(
            max_input_tokens=known.context_window or DEFAULT_CONTEXT_WINDOW,
            text_inputs=True,
            text_outputs=True,
        )
        if known.max_output_tokens is not None:
            profile["max_output_tokens"] = known.max_output_tokens
        if known.tool_calling is not None:
            profile["tool_calling"] = known.tool_calling
            profile["tool_choice"] = known.tool_calling
        if known.vision is not None:
            profile["image_inputs"] = known.vision
        if known.structured_output is not None:
            profile["structured_output"] = known.structured_output
        if known.reasoning is not None:
            profile["reasoning_output"] = known.reasoning
        return profile

    @property
    def _llm_type(self) -> str:
        """The model type, for tracing and serialisation."""
        return "modelslab-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """ChatModelsLab can be serialised with ``dumpd`` (the key is left out)."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """Where ``load`` finds this class: ``langchain_modelslab.chat_models``."""
        return ["langchain_modelslab", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        """The key is serialised as a reference to ``MODELSLAB_API_KEY``, never its value."""
        return {"api_key": defaults.API_KEY_ENV}

    # ---------------------------------------------------------------- clients

    def _extra_params(self) -> dict[str, Any]:
        """``logprobs`` and ``top_logprobs`` when set, ``model_kwargs``, ``extra_body``."""
        extra = {name: getattr(self, name) for name in ("logprobs", "top_logprobs")}
        extra = {name: value for name, value in extra.items() if value is not None}
        extra.update(self.model_kwargs)
        if self.extra_body:
            extra["extra_body"] = {**extra.get("extra_body", {}), **self.extra_body}
        return extra

    # --------------------------------------------------------------- requests

    @property
    def _default_params(self) -> dict[str, Any]:
        """The request parameters this instance sends on every call.

        LangChain reads them where a call begins: the configuration is resolved there,
        once, and the call's request goes out with it (``_start_call``).
        """
        options = self._start_call().options
        params = options.request_params()
        params.setdefault("max_tokens", options.max_tokens_for())
        return params

    @property
    def _identifying_params(self) -> dict[str, Any]:
        """What identifies this model's configuration in traces and caches."""
        return {**self._default_params, "base_url": self.base_url, "api": self.api}

    @staticmethod
    def _response_format_parser(kwargs: dict[str, Any]) -> Callable[[str], Any] | None:
        """Turn a call's ``response_format`` given as a schema into its wire form.

        A pydantic class, a TypedDict or a JSON schema becomes a ``json_schema`` format
        (in ``kwargs``); the parser returned fills ``additional_kwargs["parsed"]``, as in
        ChatOpenAI. None when the call has no such ``response_format``.
        """
        if kwargs.get("response_format") is None:
            return None
        from langchain_modelslab.structured_output import call_response_format

        kwargs["response_format"], parse = call_response_format(kwargs["response_format"])
        return parse

    def _build_request(
        self, messages: list[BaseMessage], stop: list[str] | None, *, stream: bool, **kwargs: Any
    ) -> tuple[ModelsLab, ChatCompletionRequest]:
        """The ``ModelsLab`` object this call goes through, and its wire request.

        The fields are resolved into the object once per call; the request holds the
        instance defaults, then the call's arguments.
        """
        from langchain_modelslab.conversions import messages_to_wire

        core = self._client_for_call()
        return core, core.build_request(
            messages_to_wire(messages), stream=stream, stop=stop, params=kwargs
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """One chat completion (streamed under the hood when ``streaming`` is on)."""
        stream = kwargs.pop("stream", None)
        if self.streaming if stream is None else stream:
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        from langchain_modelslab.replies import completion_from_wire

        parse = self._response_format_parser(kwargs)
        core, request = self._build_request(messages, stop, stream=False, **kwargs)
        split_think_tags = self.split_think_tags  # as the call started (fields read once)
        with langchain_errors():
            completion = core.chat(request)
        result = completion_from_wire(
            completion, requested_model=request.model, split_think_tags=split_think_tags
        )
        return result if parse is None else _with_parsed(result, parse)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """One chat completion on the async client."""
        stream = kwargs.pop("stream", None)
        if self.streaming if stream is None else stream:
            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        from langchain_modelslab.replies import completion_from_wire

        parse = self._response_format_parser(kwargs)
        core, request = self._build_request(messages, stop, stream=False, **kwargs)
        split_think_tags = self.split_think_tags  # as the call started (fields read once)
        with langchain_errors():
            completion = await core.achat(request)
        result = completion_from_wire(
            completion, requested_model=request.model, split_think_tags=split_think_tags
        )
        return result if parse is None else _with_parsed(result, parse)

    def _streaming_disabled(self, **kwargs: Any) -> bool:
        """LangChain's choice, except that a call for ``n > 1`` choices is never streamed.

        Every streaming path of ``BaseChatModel`` (``stream()``, an ``invoke`` streamed
        for a callback, the v2 events) asks this first. A stream carries one choice, so
        a call for several is sent whole: ``stream()``/``astream()`` then yield the first
        choice as one chunk (what ``invoke`` returns; ``generate`` returns every
        choice), and ``astream_events`` or LangGraph's ``stream_mode="messages"`` see the
        whole reply instead of failing. ``streaming=True`` with ``n > 1`` is refused when
        the model is built.
        """
        n = kwargs.get("n", self.n)
        if isinstance(n, int) and not isinstance(n, bool) and n > 1:
            return True
        return super()._streaming_disabled(**kwargs)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Stream a chat completion; the last chunk carries usage and the model name.

        Raises:
            IncompleteReplyError: after the last chunk, when a tool call did not arrive
                whole (cut off by ``max_tokens`` or a filter, or not valid JSON).
        """
        from langchain_modelslab.replies import StreamConverter

        kwargs.pop("stream", None)
        parse = self._response_format_parser(kwargs)
        core, request = self._build_request(messages, stop, stream=True, **kwargs)
        converter = StreamConverter(request.model, split_think_tags=self.split_think_tags)
        text: list[str] = []
        with langchain_errors(), core.stream_chat(request) as events:
            for event in events:
                for chunk in converter.convert(event):
                    text.append(chunk.text)
                    if run_manager is not None:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        final = converter.finish()
        if parse is not None:
            _add_parsed(final, "".join(text), parse)
        if run_manager is not None:
            run_manager.on_llm_new_token("", chunk=final)
        yield final
        problem = converter.tool_call_problem()
        if problem is not None:
            raise problem

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        """Stream a chat completion on the async client."""
        from langchain_modelslab.replies import StreamConverter

        kwargs.pop("stream", None)
        parse = self._response_format_parser(kwargs)
        core, request = self._build_request(messages, stop, stream=True, **kwargs)
        converter = StreamConverter(request.model, split_think_tags=self.split_think_tags)
        text: list[str] = []
        with langchain_errors():
            async with await core.astream_chat(request) as events:
                async for event in events:
                    for chunk in converter.convert(event):
                        text.append(chunk.text)
                        if run_manager is not None:
                            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
        final = converter.finish()
        if parse is not None:
            _add_parsed(final, "".join(text), parse)
        if run_manager is not None:
            await run_manager.on_llm_new_token("", chunk=final)
        yield final
        problem = converter.tool_call_problem()
        if problem is not None:
            raise problem

    # ---------------------------------------------------------------- tracing

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """LangSmith parameters; a per-call ``model`` is reported as the model."""
        params = LangSmithParams(
            ls_provider="modelslab",
            ls_model_name=str(kwargs.get("model") or self.model),
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if isinstance(temperature, (int, float)):
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        params["ls_max_tokens"] = (
            max_tokens
            if isinstance(max_tokens, int)
            else default_max_tokens(str(kwargs.get("model") or self.model))
        )
        stops = stop if stop is not None else self.stop
        if stops:
            params["ls_stop"] = [stops] if isinstance(stops, str) else list(stops)
        return params

    # ------------------------------------------------------------ tool calling

    def bind_tools(
        self,
        tools: Sequence[_TOOL_SPEC],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools to the model.

        Args:
            tools: Pydantic classes, functions, LangChain tools, or tool dicts (OpenAI
                or Anthropic shape). A prompt-cache marker (a dict's ``cache_control``,
                a tool's ``extras["cache_control"]``) is sent with ``api="messages"``.
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` (call
                some tool), the name of one tool (call that one), or an OpenAI-style dict.
            strict: Ask the server to follow the tool schemas exactly; the schemas are then
                closed as strict mode requires (every object ``additionalProperties:
                false``, every property required, one that may be left out nullable).
            parallel_tool_calls: Allow (or forbid) several calls in one turn; sent only
                when set.
            kwargs: Further request parameters bound alongside.

        Raises:
            ValueError: when ``tool_choice`` names a tool that is not among ``tools``.
            StrictSchemaError: with ``strict=True``, for a tool schema strict mode cannot
                express (a ``ValueError``).
            ToolCallingUnsupportedError: when the model's profile says it calls no tools
                (``profile["tool_calling"]`` is False); set
                ``profile={**llm.profile, "tool_calling": True}`` if it does. The same
                refusal as ``ModelsLabLLM``'s.
        """
        from langchain_modelslab.conversions import tool_cache_control
        from langchain_modelslab.structured_output import openai_tool

        if tools:
            self._check_tool_calling()
        formatted = [openai_tool(tool, strict=strict) for tool in tools]
        for tool, spec in zip(tools, formatted, strict=True):
            marker = tool_cache_control(tool)  # sent on api="messages"
            if marker is not None:
                spec["cache_control"] = marker
        if tool_choice is not None:
            names = [tool["function"]["name"] for tool in formatted]
            kwargs["tool_choice"] = chat_tool_choice(tool_choice, names)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def _check_tool_calling(self) -> None:
        """Refuse tools for a model whose profile says it calls none (see bind_tools)."""
        said = (self.profile or {}).get("tool_calling")
        check_tool_calling(
            self.model,
            override=None if said == model_profile(self.model).tool_calling else said,
            setting="profile={**llm.profile, 'tool_calling': True} on the ChatModelsLab",
            instead="; with_structured_output(schema, method='json_schema') asks for "
            "structured output without tools",
        )

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: StructuredOutputMethod = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """A runnable that answers in the shape of ``schema``.

        Args:
            schema: A pydantic class (answers are instances of it), a TypedDict class or
                a JSON schema (answers are dicts).
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising
                when the reply does not parse.
            method: ``"function_calling"`` (default: the schema becomes the one tool the
                model must call), ``"json_mode"`` (``response_format`` ``json_object``;
                the prompt must describe the keys) or ``"json_schema"``
                (``response_format`` ``json_schema``; not every ModelsLab model honours it).
                With ``api="messages"``, which has no ``response_format``, both JSON
                methods are carried out as ``"function_calling"``: the answer has the
                same shape, but the raw message holds a tool call instead of JSON text.
            strict: Ask for exact schema adherence (function calling and json_schema;
                refused with json_mode). The schema is closed as strict mode requires.
            kwargs: Not accepted; named here to reject unknown options clearly.

        Raises:
            ValueError: for an unknown method or option, ``strict`` with
                ``"json_mode"``, or no schema with another method.
            StrictSchemaError: with ``strict=True``, for a schema strict mode cannot
                express (a ``ValueError``).
        """
        from langchain_modelslab.structured_output import (
            JSON_MODE_RESPONSE_FORMAT,
            attach_parser,
            json_schema_format,
            output_parser,
        )

        if kwargs:
            raise ValueError(f"unsupported with_structured_output arguments: {sorted(kwargs)}")
        if method == "json_mode" and strict is not None:
            raise ValueError(
                "strict applies to method='function_calling' and 'json_schema', not to "
                "method='json_mode', which asks for any JSON object: leave strict out, or "
                "use method='json_schema' for output that follows the schema exactly"
            )
        if schema is None and method != "json_mode":
            raise ValueError(
                f"with_structured_output needs a schema with method={method!r} (it becomes "
                f"the {'tool' if method == 'function_calling' else 'response format'} the "
                "model answers with); only method='json_mode' works without one"
            )
        if method in ("json_mode", "json_schema") and not supports_response_format(self.api):
            if schema is None:
                raise ValueError(
                    f"api={self.api!r} has no JSON mode (no response_format): "
                    "with_structured_output carries it out as a forced tool call, which "
                    "needs a schema; pass one, or use api='chat_completions'"
                )
            method = "function_calling"
        trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        model: Runnable[LanguageModelInput, Any]
        if method == "function_calling":
            # The tool is named as ChatOpenAI names it (convert_to_openai_tool). With a
            # single tool, "any" ("required") forces the same call as naming it, and
            # servers that ignore the object form of tool_choice (llama.cpp reads it as
            # "auto", ggml-org/llama.cpp#26535) still force it; a server that refuses
            # "required" gets the named form from the transport's negotiation
            # (modelslab_transport.protocols.negotiation).
            model = self.bind_tools(
                [schema], tool_choice="any", strict=strict, ls_structured_output_format=trace
            )
        elif method == "json_mode":
            model = self.bind(
                response_format=JSON_MODE_RESPONSE_FORMAT, ls_structured_output_format=trace
            )
        elif method == "json_schema":
            model = self.bind(
                response_format=json_schema_format(schema, strict=strict),
                ls_structured_output_format=trace,
            )
        else:
            raise ValueError(
                f"method must be 'function_calling', 'json_mode' or 'json_schema', got {method!r}"
            )
        parser = output_parser(schema, method, strict=strict)
        return attach_parser(model, parser, include_raw=include_raw)

    # -------------------------------------------------------------- token count

    @staticmethod
    def _count_inputs(
        messages: Sequence[BaseMessage], tools: Sequence[Any] | None
    ) -> tuple[list[Any], list[Tool]]:
        from langchain_modelslab.conversions import messages_to_wire
        from modelslab_transport.wire import Tool

        formatted = [convert_to_openai_tool(tool) for tool in tools or []]
        return messages_to_wire(messages), [Tool.model_validate(tool) for tool in formatted]

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """The exact input token count, from ModelsLab's ``/v1/messages/count_tokens``.

        ``tools`` (anything :meth:`bind_tools` takes) are counted too. System messages
        are counted as the Messages protocol's ``system`` (a list of system messages only,
        as ``trim_messages`` may pass, as that text); the count is the server's whichever
        ``api`` this model speaks. An empty list is 0, without a request.

        A server without that endpoint (vLLM, llama.cpp, Ollama) gets the transport's
        estimate instead, with a ``TokenCountEstimateWarning`` once per model
        (:meth:`modelslab_transport.ModelsLab.count_tokens`): the same number
        ``ModelsLabLLM.count_tokens`` gives for the same conversation. Other failures
        (unreachable, a bad key, an unknown model) raise.
        """
        wire, tool_list = self._count_inputs(messages, tools)
        with langchain_errors():
            return self.client.count_tokens(wire, tool_list)

    async def aget_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Async :meth:`get_num_tokens_from_messages` (the same estimate without the endpoint)."""
        wire, tool_list = self._count_inputs(messages, tools)
        with langchain_errors():
            return await self.client.acount_tokens(wire, tool_list)

    def get_num_tokens(self, text: str) -> int:
        """Tokens of ``text`` sent as one user message, counted by the server.

        Answered by :meth:`get_num_tokens_from_messages` (no local tokenizer, so no
        ``transformers`` needed); an empty text is 0.
        """
        from langchain_core.messages import HumanMessage

        return self.get_num_tokens_from_messages([HumanMessage(text)]) if text else 0

    async def aget_num_tokens(self, text: str) -> int:
        """Async :meth:`get_num_tokens`."""
        from langchain_core.messages import HumanMessage

        return await self.aget_num_tokens_from_messages([HumanMessage(text)]) if text else 0

    # ------------------------------------------------------------ model catalog

    def list_models(self) -> list[ModelInfo]:
        """The models this account can use (``GET /v1/models``), as typed entries.

        Each entry has ``id`` (what ``model=`` takes), ``owned_by`` and ``created``;
        limits and capabilities are in
        :func:`modelslab_transport.config.model_profiles.model_profile`.
        """
        with langchain_errors():
            return self.client.list_models()

    async def alist_models(self) -> list[ModelInfo]:
        """Async :meth:`list_models`."""
        with langchain_errors():
            return await self.client.alist_models()


def _with_parsed(result: ChatResult, parse: Callable[[str], Any]) -> ChatResult:
    from langchain_modelslab.structured_output import with_parsed

    return with_parsed(result, parse)


def _add_parsed(final: ChatGenerationChunk, text: str, parse: Callable[[str], Any]) -> None:
    from langchain_modelslab.structured_output import parsed_text

    final.message.additional_kwargs["parsed"] = parsed_text(text, parse)


document_fields(ChatModelsLab)
