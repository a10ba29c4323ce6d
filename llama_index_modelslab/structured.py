"""Structured output through a ``json_schema`` response format.

:class:`JsonSchemaProgram` is the LlamaIndex pydantic program
:class:`~llama_index_modelslab.ModelsLabLLM` uses when structured output is asked for
with ``structured_output_method="json_schema"``: the prompt is sent with a
``response_format`` built from the output class's JSON schema, and the reply's text
is validated into that class. (The other method, tool calling, is LlamaIndex's own
``FunctionCallingProgram``.)
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Generic, Literal, get_args

from llama_index.core.base.llms.types import ChatMessage, ChatResponse
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import LLM
from llama_index.core.program.function_program import FunctionCallingProgram, get_function_tool
from llama_index.core.program.utils import (
    FlexibleModel,
    create_flexible_model,
    get_program_for_llm,
    process_streaming_objects,
)
from llama_index.core.prompts.base import BasePromptTemplate
from llama_index.core.types import BasePydanticProgram, Model, PydanticProgramMode
from pydantic import ValidationError

from llama_index_modelslab.replies import (
    reply_incompleteness,
)
from modelslab_transport.chat import json_schema_response_format, parse_partial_json, require_whole
from modelslab_transport.wire import ChatAPI, supports_response_format

__all__ = [
    "JsonSchemaProgram",
    "StructuredOutputMethod",
    "ToolCallProgram",
    "parse_structured_text",
    "structured_program",
]

StructuredOutputMethod = Literal["function_calling", "json_schema"]
"""How structured output is asked for: a forced tool call, or a json_schema response format."""

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_structured_text(text: str, output_cls: type[Model]) -> Model:
    """Validate a model's JSON reply into ``output_cls``.

    Tolerates a Markdown code fence around the JSON and prose before or after it.

    Raises:
        ValueError: when no JSON object in the text validates.
    """
    candidate = text.strip()
    fenced = _FENCE.match(candidate)
    if fenced:
        candidate = fenced.group(1)
    try:
        return output_cls.model_validate_json(candidate)
    except ValidationError as first_error:
        start, end = candidate.find("{"), candidate.rfind("}")
        if 0 <= start < end:
            try:
                return output_cls.model_validate_json(candidate[start : end + 1])
            except ValidationError:
                pass
        snippet = " ".join(text.split())[:200]
        raise ValueError(
            f"the model's reply is not a valid {output_cls.__name__}: {snippet!r}"
        ) from first_error


# The all-optional twin of an output class, built once per class: building a pydantic
# class is slow next to parsing one chunk, and a streamed answer needs it for nearly
# every chunk.
_flexible_model = functools.lru_cache(maxsize=128)(create_flexible_model)


def _partial_object(text: str, output_cls: type[Model]) -> Model | FlexibleModel:
    """The object a partial JSON reply adds up to so far (fields may be missing)."""
    data = parse_partial_json(text)
    try:
        return output_cls.model_validate(data)
    except ValidationError:
        flexible: type[FlexibleModel] = _flexible_model(output_cls)
        try:
            return flexible.model_validate(data)
        except ValidationError:
            return flexible()


class JsonSchemaProgram(BasePydanticProgram[Model], Generic[Model]):
    """A pydantic program that asks for JSON following the output class's schema.

    Args:
        output_cls: The pydantic class to produce.
        prompt: The prompt template; its variables are filled from the call's keyword
            arguments.
        llm: The LLM to call (any LLM whose chat accepts ``response_format``).
    """

    def __init__(self, output_cls: type[Model], prompt: BasePromptTemplate, llm: LLM) -> None:
        self._output_cls = output_cls
        self._prompt = prompt
        self._llm = llm

    @property
    def output_cls(self) -> type[Model]:
        """The pydantic class this program produces."""
        return self._output_cls

    def response_format(self) -> dict[str, Any]:
        """The ``response_format`` sent with every call."""
        schema = self._output_cls.model_json_schema()
        return json_schema_response_format(schema, name=self._output_cls.__name__)

    def _messages(self, prompt_args: dict[str, Any]) -> list[ChatMessage]:
        messages = self._prompt.format_messages(llm=self._llm, **prompt_args)
        return self._llm._extend_messages(messages)

    def _llm_kwargs(self, llm_kwargs: dict[str, Any] | None) -> dict[str, Any]:
        return {**(llm_kwargs or {}), "response_format": self.response_format()}

    def __call__(
        self, *args: Any, llm_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> Model:
        """Fill the prompt with ``kwargs``, ask the model, and validate its JSON."""
        response = self._llm.chat(self._messages(kwargs), **self._llm_kwargs(llm_kwargs))
        return self._final(response)

    async def acall(
        self, *args: Any, llm_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> Model:
        """Async :meth:`__call__`."""
        response = await self._llm.achat(self._messages(kwargs), **self._llm_kwargs(llm_kwargs))
        return self._final(response)

    def _final(self, response: ChatResponse) -> Model:
        """The whole reply's object, parsed strictly; a reply that did not finish raises."""
        require_whole(reply_incompleteness(response.message), "the structured output")
        return parse_structured_text(response.message.content or "", self._output_cls)

    def stream_call(
        self, *args: Any, llm_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> Generator[Model | FlexibleModel, None, None]:
        """Stream the reply, yielding the object parsed so far after every chunk.

        Raises:
            IncompleteReplyError: at the end, when the reply did not finish.
            ValueError: at the end, when the whole reply is not a valid object.
        """
        stream = self._llm.stream_chat(self._messages(kwargs), **self._llm_kwargs(llm_kwargs))
        last: ChatResponse | None = None
        for last in stream:
            yield _partial_object(last.message.content or "", self._output_cls)
        if last is not None:
            self._final(last)

    async def astream_call(
        self, *args: Any, llm_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncGenerator[Model | FlexibleModel, None]:
        """Async :meth:`stream_call`; await it to get the async generator."""
        stream = await self._llm.astream_chat(
            self._messages(kwargs), **self._llm_kwargs(llm_kwargs)
        )

        async def objects() -> AsyncGenerator[Model | FlexibleModel, None]:
            last: ChatResponse | None = None
            async for last in stream:
                yield _partial_object(last.message.content or "", self._output_cls)
            if last is not None:
                self._final(last)

        return objects()


_Objects = Any
"""What a streamed program yields: an object, or a list of them, possibly partial."""


class ToolCallProgram(FunctionCallingProgram[Model]):
    """LlamaIndex's ``FunctionCallingProgram``, whose streams end on a whole reply.

    LlamaIndex's own streaming skips a response whose tool call cannot be read, so a
    stream cut off by ``max_tokens`` would end on its last partial object without a
    word. Here the stream's last response is read as final
    (:meth:`ModelsLabLLM.get_tool_calls_from_response`), which raises
    ``IncompleteReplyError`` naming the cause when the call did not arrive whole, and
    ``ValueError`` when the reply, forced to call the tool, called none (as the
    non-streamed program does): partial objects read from its text are never final.
    """

    def _stream_request(
        self, llm_kwargs: dict[str, Any] | None, prompt_args: dict[str, Any]
    ) -> tuple[FunctionCallingLLM, dict[str, Any]]:
        llm = self._llm
        if not isinstance(llm, FunctionCallingLLM):
            raise TypeError("ToolCallProgram streams only from a FunctionCallingLLM")
        options = {
            key: value
            for key, value in (llm_kwargs or {}).items()
            if key not in ("tool_required", "tool_choice", "allow_parallel_tool_calls")
        }
        messages = llm._extend_messages(self._prompt.format_messages(llm=llm, **prompt_args))
        request = {
            "tools": [get_function_tool(self._output_cls)],
            "chat_history": messages,
            "verbose": self._verbose,
            "allow_parallel_tool_calls": self._allow_parallel_tool_calls,
            "tool_choice": self._tool_choice,
            **options,
        }
        return llm, request

    def _objects(
        self, llm: FunctionCallingLLM, response: ChatResponse, current: list[Any] | None
    ) -> Any:
        try:
            return process_streaming_objects(
                response,
                self._output_cls,
                cur_objects=current,
                allow_parallel_tool_calls=self._allow_parallel_tool_calls,
                flexible_mode=True,
                llm=llm,
            )
        except Exception:  # a partial call not readable yet; the final reading raises
            return None

    def stream_call(
        self, *args: Any, llm_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> Generator[_Objects, None, None]:
        """Yield the objects so far; raise at the end if the reply did not arrive whole."""
        llm, request = self._stream_request(llm_kwargs, kwargs)
        current: list[Any] | None = None
        last: ChatResponse | None = None
        for last in llm.stream_chat_with_tools(**request):
            objects = self._objects(llm, last, current)
            if objects is not None:
                current = objects if isinstance(objects, list) else [objects]
                yield objects
        if last is not None:
            llm.get_tool_calls_from_response(last)

    async def astream_call(
        self, *args: Any, llm_kwargs: dict[str, Any] | None = None, **kwargs: Any
    ) -> AsyncGenerator[_Objects, None]:
        """Async :meth:`stream_call`; await it to get the async generator."""
        llm, request = self._stream_request(llm_kwargs, kwargs)
        responses = await llm.astream_chat_with_tools(**request)

        async def objects() -> AsyncGenerator[_Objects, None]:
            current: list[Any] | None = None
            last: ChatResponse | None = None
            async for last in responses:
                found = self._objects(llm, last, current)
                if found is not None:
                    current = found if isinstance(found, list) else [found]
                    yield found
            if last is not None:
                llm.get_tool_calls_from_response(last)

        return objects()


def structured_program(
    llm: LLM,
    output_cls: type[Model],
    prompt: BasePromptTemplate,
    llm_kwargs: dict[str, Any] | None,
    *,
    default_method: StructuredOutputMethod,
    api: ChatAPI = "chat_completions",
    check_tool_calling: Callable[[], None] | None = None,
) -> tuple[BasePydanticProgram[Model], dict[str, Any]]:
    """The pydantic program for one structured call, and the LLM kwargs left for it.

    ``llm_kwargs["structured_output_method"]`` (popped) overrides ``default_method``. An
    LLM whose ``pydantic_program_mode`` is not the default gets LlamaIndex's program
    for that mode; otherwise the method decides: :class:`JsonSchemaProgram`, or
    LlamaIndex's ``FunctionCallingProgram`` with the tool call forced. On a protocol
    without ``response_format`` (``api="messages"``) ``"json_schema"`` is carried out
    by the forced tool call.

    ``check_tool_calling`` is called before a forced tool call is chosen (it raises
    when the model calls no tools).

    Raises:
        ValueError: for an unknown method.
    """
    kwargs = dict(llm_kwargs or {})
    method = kwargs.pop("structured_output_method", None) or default_method
    if method not in get_args(StructuredOutputMethod):
        raise ValueError(
            f"structured_output_method must be 'function_calling' or 'json_schema', got {method!r}"
        )
    if method == "json_schema" and not supports_response_format(api):
        method = "function_calling"
    program: BasePydanticProgram[Model]
    if llm.pydantic_program_mode != PydanticProgramMode.DEFAULT:
        program = get_program_for_llm(
            output_cls, prompt, llm, pydantic_program_mode=llm.pydantic_program_mode
        )
    elif method == "json_schema":
        program = JsonSchemaProgram(output_cls, prompt, llm)
    else:
        if check_tool_calling is not None:
            check_tool_calling()
        # "required" first, as ChatModelsLab.with_structured_output: llama.cpp reads the
        # named form as "auto"; a server refusing "required" gets the named form from
        # the transport's negotiation (modelslab_transport.protocols.negotiation).
        program = ToolCallProgram.from_defaults(
            output_cls=output_cls,
            prompt=prompt,
            llm=llm,
            tool_choice="required",
            tool_required=True,
        )
    return program, kwargs
