"""``ChatModelsLab``: the ModelsLab LLM API as a LangChain chat model."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

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
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, secret_from_env
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from langchain_modelslab.errors import langchain_errors
from modelslab_transport.credentials import check_default_headers, clean_api_key
from modelslab_transport.defaults import API_KEY_ENV, BASE_URL_ENV, DEFAULT_BASE_URL
from modelslab_transport.errors import APIConnectionError, NotFoundError, ServerError
from modelslab_transport.model_profiles import (
    DEFAULT_CONTEXT_WINDOW,
    default_max_tokens,
    model_profile,
)
from modelslab_transport.protocols import ChatAPI, check_messages_params, supports_response_format
from modelslab_transport.tooling import chat_tool_choice
from modelslab_transport.urls import check_base_url

if TYPE_CHECKING:
    from langchain_modelslab.structured_output import StructuredOutputMethod
    from modelslab_transport.client import AsyncModelsLabClient, ModelsLabClient
    from modelslab_transport.settings import ClientSettings
    from modelslab_transport.wire.catalog import ModelInfo
    from modelslab_transport.wire.chat import ChatCompletionRequest
    from modelslab_transport.wire.messages import CountTokensRequest

# What builds requests and reads replies (message conversions, wire types, the HTTP
# client and httpx, structured-output parsers) is imported by the methods that first
# need it, not with this module: ``import langchain_modelslab`` then costs little more
# than importing ``BaseChatModel`` itself (benchmarks/RESULTS.md, scenario 5).

__all__ = ["DEFAULT_MODEL", "ChatModelsLab"]

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "google-gemma-3-1b-it"
"""The model used when none is named."""

_CLIENT_LOCK = threading.Lock()
_TOOL_SPEC = dict[str, Any] | type | Callable[..., Any] | BaseTool

# Request parameters that map one to one onto fields of the same name.
_SAMPLING_FIELDS = ("temperature", "top_p", "n", "seed", "frequency_penalty", "presence_penalty")

# The endpoint errors get_num_tokens_from_messages answers with an estimate instead.
_COUNT_UNAVAILABLE = (APIConnectionError, NotFoundError, ServerError)


class ChatModelsLab(BaseChatModel):
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
    :mod:`modelslab_transport.model_profiles`; pass ``profile={...}`` to override it.

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
    """

    # hide_input_in_errors: a ValidationError's text never shows the arguments (the key).
    model_config = ConfigDict(populate_by_name=True, defer_build=True, hide_input_in_errors=True)

    model: str = DEFAULT_MODEL
    """The ModelsLab model id, e.g. ``"google-gemma-3-1b-it"``."""
    api_key: SecretStr | None = Field(default_factory=secret_from_env(API_KEY_ENV, default=None))
    """The ModelsLab API key; defaults to ``$MODELSLAB_API_KEY``. Needed only to send."""
    base_url: str = Field(default_factory=from_env(BASE_URL_ENV, default=DEFAULT_BASE_URL))
    """API root; defaults to ``$MODELSLAB_BASE_URL`` or ``https://modelslab.com/api/v7/llm``."""
    api: ChatAPI = "chat_completions"
    """The protocol: ``"chat_completions"`` (``/chat/completions``) or ``"messages"``
    (Anthropic-style ``/v1/messages``); the same models answer on both."""
    temperature: float | None = None
    """Sampling temperature, 0-2 (0-1 with ``api="messages"``); the server's default
    when None."""
    max_tokens: int | None = None
    """Most tokens to generate; when None, ``modelslab_transport.DEFAULT_MAX_TOKENS``
    capped by the model profile's output limit (ModelsLab's own default of 1000
    silently truncates, so a value is always sent)."""
    top_p: float | None = None
    """Nucleus sampling probability mass, 0-1."""
    stop: list[str] | str | None = None
    """Stop sequences (up to 4); a per-call ``stop`` replaces them."""
    n: int | None = None
    """Choices to generate per request (``invoke`` returns the first; not with streaming)."""
    seed: int | None = None
    """Seed for (best-effort) deterministic sampling."""
    frequency_penalty: float | None = None
    """Penalty for frequent tokens, -2 to 2."""
    presence_penalty: float | None = None
    """Penalty for tokens already present, -2 to 2."""
    timeout: Any = None
    """Seconds (or an ``httpx.Timeout``) for a non-streamed request; transport default
    (300 s) when None."""
    stream_chunk_timeout: float | None = None
    """Seconds a stream may stay silent; transport default (120 s) when None."""
    max_retries: int | None = None
    """Retries on connect errors, 429 and 5xx; transport default (2) when None."""
    default_headers: dict[str, str] | None = None
    """Extra headers sent with every request."""
    legacy_auth: bool = False
    """Also send the key (``key``) and ``model_id`` in the chat-completions body, as
    ModelsLab's older clients did; the ``Authorization`` header is sent either way."""
    streaming: bool = False
    """Whether ``invoke`` streams under the hood (callbacks then see every token)."""
    stream_usage: bool = True
    """Ask for token usage at the end of streams (``stream_options.include_usage``)."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further request parameters sent as given (``top_k``, ``repetition_penalty``, ...)."""
    http_client: Any = Field(default=None, exclude=True)
    """An ``httpx.Client`` to send sync requests through (proxies, CA bundles, mTLS)."""
    http_async_client: Any = Field(default=None, exclude=True)
    """An ``httpx.AsyncClient`` to send async requests through."""

    _sync_client: ModelsLabClient | None = PrivateAttr(default=None)
    _async_client: AsyncModelsLabClient | None = PrivateAttr(default=None)

    # ------------------------------------------------------------ construction

    @model_validator(mode="before")
    @classmethod
    def _collect_model_kwargs(cls, values: Any) -> Any:
        """Move unknown constructor arguments into ``model_kwargs``, with a warning."""
        if not isinstance(values, dict):
            return values
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
        for key in extra:
            warnings.warn(
                f"{key!r} is not a ChatModelsLab field; it is sent as a request parameter "
                "(pass it in model_kwargs to silence this warning)",
                UserWarning,
                stacklevel=4,
            )
        model_kwargs.update(extra)
        kept = {key: value for key, value in values.items() if key in known}
        return {**kept, "model_kwargs": model_kwargs}

    @model_validator(mode="after")
    def _check_connection_fields(self) -> ChatModelsLab:
        """Refuse, at construction, a key, base URL or header that could not be sent.

        The transport's own checks (:mod:`modelslab_transport.credentials`,
        :mod:`modelslab_transport.urls`); the settings built on first use repeat them.
        """
        if self.api_key is not None:
            clean_api_key(self.api_key.get_secret_value())
        check_base_url(self.base_url)
        check_default_headers(self.default_headers or {})
        return self

    @model_validator(mode="after")
    def _check_streaming_choices(self) -> ChatModelsLab:
        if self.streaming and self.n is not None and self.n > 1:
            raise ValueError("n > 1 cannot be combined with streaming=True")
        return self

    @model_validator(mode="after")
    def _check_protocol_params(self) -> ChatModelsLab:
        """Refuse, at construction, parameters ``api="messages"`` cannot send."""
        if self.api == "messages":
            check_messages_params(
                {**self.model_kwargs, **{name: getattr(self, name) for name in _SAMPLING_FIELDS}}
            )
        return self

    def _resolve_model_profile(self) -> ModelProfile | None:
        """The model's profile from :mod:`modelslab_transport.model_profiles`.

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
        return {"api_key": API_KEY_ENV}

    # ---------------------------------------------------------------- clients

    def _client_settings(self) -> ClientSettings:
        from modelslab_transport.settings import ClientSettings

        options: dict[str, Any] = {"api_key": self.api_key, "base_url": self.base_url}
        if self.timeout is not None:
            options["timeout"] = self.timeout
        if self.stream_chunk_timeout is not None:
            options["stream_chunk_timeout"] = self.stream_chunk_timeout
        if self.max_retries is not None:
            options["max_retries"] = self.max_retries
        if self.default_headers:
            options["default_headers"] = self.default_headers
        if self.legacy_auth:
            options["legacy_auth"] = True
        return ClientSettings(**options)

    @property
    def client(self) -> ModelsLabClient:
        """The sync transport client, built (once) on first use."""
        if self._sync_client is None:
            with _CLIENT_LOCK:
                if self._sync_client is None:
                    from modelslab_transport.client import ModelsLabClient

                    self._sync_client = ModelsLabClient(
                        self._client_settings(), http_client=self.http_client
                    )
        return self._sync_client

    @property
    def async_client(self) -> AsyncModelsLabClient:
        """The async transport client, built (once) on first use."""
        if self._async_client is None:
            with _CLIENT_LOCK:
                if self._async_client is None:
                    from modelslab_transport.client import AsyncModelsLabClient

                    self._async_client = AsyncModelsLabClient(
                        self._client_settings(), http_client=self.http_async_client
                    )
        return self._async_client

    def close(self) -> None:
        """Close the pooled sync connections (an injected ``http_client`` stays open)."""
        if self._sync_client is not None:
            self._sync_client.close()

    async def aclose(self) -> None:
        """Close the pooled async connections (an injected client stays open)."""
        if self._async_client is not None:
            await self._async_client.aclose()

    # --------------------------------------------------------------- requests

    @property
    def _default_params(self) -> dict[str, Any]:
        """The request parameters this instance sends on every call."""
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": (
                self.max_tokens if self.max_tokens is not None else default_max_tokens(self.model)
            ),
        }
        for name in _SAMPLING_FIELDS:
            value = getattr(self, name)
            if value is not None:
                params[name] = value
        if self.stop:
            params["stop"] = self.stop
        return {**params, **self.model_kwargs}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        """What identifies this model's configuration in traces and caches."""
        return {**self._default_params, "base_url": self.base_url, "api": self.api}

    def _build_request(
        self, messages: list[BaseMessage], stop: list[str] | None, *, stream: bool, **kwargs: Any
    ) -> ChatCompletionRequest:
        """The wire request for one call: instance defaults, then per-call arguments."""
        from langchain_modelslab.conversions import messages_to_wire
        from modelslab_transport.wire.chat import ChatCompletionRequest

        kwargs.pop("stream", None)
        stream_usage = kwargs.pop("stream_usage", self.stream_usage)
        params = self._default_params
        if stop is not None:
            params["stop"] = stop
        params.update(kwargs)
        params = {key: value for key, value in params.items() if value is not None}
        if not params.get("stop"):
            params.pop("stop", None)
        if "tool_choice" in params:
            names = [tool["function"]["name"] for tool in params.get("tools") or []]
            params["tool_choice"] = chat_tool_choice(params["tool_choice"], names)
        if stream:
            if params.get("n", 1) > 1:
                raise ValueError("n > 1 cannot be streamed; use invoke/generate")
            # The client sets ``stream`` for the call it makes, and the Messages
            # protocol, which always reports usage, drops ``stream_options``.
            if stream_usage:
                params["stream_options"] = {"include_usage": True}
        return ChatCompletionRequest(messages=messages_to_wire(messages), **params)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """One chat completion (streamed under the hood when ``streaming`` is on)."""
        if kwargs.get("stream", self.streaming):
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        from langchain_modelslab.conversions import completion_to_result

        request = self._build_request(messages, stop, stream=False, **kwargs)
        with langchain_errors():
            completion = self.client.chat(request, api=self.api)
        return completion_to_result(completion, requested_model=request.model)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        """One chat completion on the async client."""
        if kwargs.get("stream", self.streaming):
            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        from langchain_modelslab.conversions import completion_to_result

        request = self._build_request(messages, stop, stream=False, **kwargs)
        with langchain_errors():
            completion = await self.async_client.chat(request, api=self.api)
        return completion_to_result(completion, requested_model=request.model)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        """Stream a chat completion; the last chunk carries usage and the model name."""
        from langchain_modelslab.conversions import StreamConverter

        request = self._build_request(messages, stop, stream=True, **kwargs)
        converter = StreamConverter(request.model)
        with langchain_errors(), self.client.stream_chat(request, api=self.api) as events:
            for event in events:
                for chunk in converter.convert(event):
                    if run_manager is not None:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
        final = converter.final_chunk()
        if run_manager is not None:
            run_manager.on_llm_new_token("", chunk=final)
        yield final

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        """Stream a chat completion on the async client."""
        from langchain_modelslab.conversions import StreamConverter

        request = self._build_request(messages, stop, stream=True, **kwargs)
        converter = StreamConverter(request.model)
        with langchain_errors():
            async with await self.async_client.stream_chat(request, api=self.api) as events:
                async for event in events:
                    for chunk in converter.convert(event):
                        if run_manager is not None:
                            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
        final = converter.final_chunk()
        if run_manager is not None:
            await run_manager.on_llm_new_token("", chunk=final)
        yield final

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
                or Anthropic shape).
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` (call
                some tool), the name of one tool (call that one), or an OpenAI-style dict.
            strict: Ask the server to follow the tool schemas exactly.
            parallel_tool_calls: Allow (or forbid) several calls in one turn; sent only
                when set.
            kwargs: Further request parameters bound alongside.

        Raises:
            ValueError: when ``tool_choice`` names a tool that is not among ``tools``.
        """
        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        if tool_choice is not None:
            names = [tool["function"]["name"] for tool in formatted]
            kwargs["tool_choice"] = chat_tool_choice(tool_choice, names)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

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
            strict: Ask for exact schema adherence (function calling and json_schema).
            kwargs: Not accepted; named here to reject unknown options clearly.

        Raises:
            ValueError: for an unknown method or option.
        """
        from langchain_modelslab.structured_output import (
            JSON_MODE_RESPONSE_FORMAT,
            attach_parser,
            json_schema_format,
            output_parser,
        )

        if kwargs:
            raise ValueError(f"unsupported with_structured_output arguments: {sorted(kwargs)}")
        if method in ("json_mode", "json_schema") and not supports_response_format(self.api):
            method = "function_calling"
        trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
        model: Runnable[LanguageModelInput, Any]
        if method == "function_calling":
            # With a single tool, "any" is the same as naming it, and servers that
            # ignore the object form of tool_choice still force the call.
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
        return attach_parser(model, output_parser(schema, method), include_raw=include_raw)

    # -------------------------------------------------------------- token count

    def _count_tokens_request(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None
    ) -> tuple[CountTokensRequest, list[dict[str, Any]]]:
        from langchain_modelslab.conversions import messages_to_wire
        from modelslab_transport.protocol_bridge import count_tokens_request
        from modelslab_transport.wire.chat import Tool

        formatted = [convert_to_openai_tool(tool) for tool in tools or []]
        request = count_tokens_request(
            self.model,
            messages_to_wire(messages),
            [Tool.model_validate(tool) for tool in formatted],
        )
        return request, formatted

    @staticmethod
    def _approximate_tokens(
        messages: list[BaseMessage], tools: list[dict[str, Any]], error: Exception
    ) -> int:
        logger.warning(
            "count_tokens is unavailable (%s: %s); using an approximate count",
            type(error).__name__,
            error,
        )
        counted: list[BaseTool | dict[str, Any]] = list(tools)
        return count_tokens_approximately(messages, tools=counted or None)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """The exact input token count, from ModelsLab's ``/v1/messages/count_tokens``.

        ``tools`` (anything :meth:`bind_tools` takes) are counted too. System messages
        are counted as the Messages protocol's ``system``; the count is the server's
        whichever ``api`` this model speaks.

        When that endpoint cannot be reached (connection failure, timeout, 404 or
        5xx) this falls back to LangChain's ``count_tokens_approximately`` (about four
        characters a token) and logs a warning; other errors (a bad key, say) raise.
        """
        request, formatted = self._count_tokens_request(messages, tools)
        try:
            with langchain_errors():
                return self.client.count_tokens(request).input_tokens
        except _COUNT_UNAVAILABLE as exc:
            return self._approximate_tokens(messages, formatted, exc)

    async def aget_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Async :meth:`get_num_tokens_from_messages` (same fallback)."""
        request, formatted = self._count_tokens_request(messages, tools)
        try:
            with langchain_errors():
                counted = await self.async_client.count_tokens(request)
            return counted.input_tokens
        except _COUNT_UNAVAILABLE as exc:
            return self._approximate_tokens(messages, formatted, exc)

    # ------------------------------------------------------------ model catalog

    def list_models(self) -> list[ModelInfo]:
        """The models this account can use (``GET /v1/models``), as typed entries.

        Each entry has ``id`` (what ``model=`` takes), ``owned_by`` and ``created``;
        limits and capabilities are in :func:`modelslab_transport.model_profiles.model_profile`.
        """
        with langchain_errors():
            return self.client.list_models()

    async def alist_models(self) -> list[ModelInfo]:
        """Async :meth:`list_models`."""
        with langchain_errors():
            return await self.async_client.list_models()
