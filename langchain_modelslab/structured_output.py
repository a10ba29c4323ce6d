"""Output parsers and request options behind ``ChatModelsLab.with_structured_output``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from operator import itemgetter
from typing import Any, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    JsonOutputToolsParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, Generation
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from modelslab_transport.chat import json_schema_response_format

__all__ = [
    "JSON_MODE_RESPONSE_FORMAT",
    "StructuredOutputMethod",
    "attach_parser",
    "json_schema_format",
    "output_parser",
]

StructuredOutputMethod = Literal["function_calling", "json_mode", "json_schema"]
"""How ``with_structured_output`` asks the model for structured output."""

JSON_MODE_RESPONSE_FORMAT: dict[str, Any] = {"type": "json_object"}
"""The ``response_format`` of JSON mode (documented by ModelsLab)."""


def _is_pydantic_class(schema: Any) -> bool:
    return isinstance(schema, type) and is_basemodel_subclass(schema)


def json_schema_format(schema: Any, *, strict: bool | None) -> dict[str, Any]:
    """The ``response_format`` asking for JSON that follows ``schema`` (any schema kind)."""
    return json_schema_response_format(convert_to_json_schema(schema), strict=strict)


def _no_tool_call(name: str, message: Any) -> OutputParserException:
    text = message.text if isinstance(message, BaseMessage) else str(message)
    called = [call["name"] for call in message.tool_calls] if isinstance(message, AIMessage) else []
    if called:
        said = f"it called {called} instead"
    elif text.strip():
        said = f"it sent no tool call; it answered in text: {text[:200]!r}"
    else:
        said = "it sent no tool call and no text"
    return OutputParserException(
        f"the model did not call the {name!r} tool that structured output forces, so there "
        f"is nothing to parse ({said}). Pick a model that does tool calling (see the "
        'README\'s model table), try method="json_schema" or "json_mode", or pass '
        "include_raw=True to receive the raw message",
        llm_output=text,
    )


class _RequiredToolCall(JsonOutputToolsParser):
    """A first-tool-only tools parser that raises when the reply holds no call of the tool.

    LangChain's tools parsers return None when the reply has no tool call (or calls only
    other tools), so ``with_structured_output`` would answer None without saying why;
    ChatOpenAI's default (``json_schema``) raises a ``ValueError`` in that case. This
    raises :class:`OutputParserException` (also a ``ValueError``), on ``invoke`` and,
    when a stream ends without a parsed value, on ``stream``; with ``include_raw=True``
    it lands in ``parsing_error``.
    """

    def _tool_name(self) -> str:
        raise NotImplementedError

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        """Parse as the tools parser does; raise if a whole reply has no call of the tool."""
        parsed = super().parse_result(result, partial=partial)
        if parsed is None and not partial:
            message = result[0].message if isinstance(result[0], ChatGeneration) else None
            raise _no_tool_call(self._tool_name(), message or result[0].text)
        return parsed

    def _transform(self, input: Iterator[str | BaseMessage]) -> Iterator[Any]:
        seen: list[str | BaseMessage] = []
        produced = False
        for value in super()._transform(_tee(input, seen)):
            produced = True
            yield value
        if not produced and seen:
            self.parse_result([_generation(seen)])

    async def _atransform(self, input: AsyncIterator[str | BaseMessage]) -> AsyncIterator[Any]:
        seen: list[str | BaseMessage] = []
        produced = False
        async for value in super()._atransform(_atee(input, seen)):
            produced = True
            yield value
        if not produced and seen:
            self.parse_result([_generation(seen)])


def _tee(chunks: Iterator[str | BaseMessage], seen: list[str | BaseMessage]) -> Iterator[Any]:
    for chunk in chunks:
        seen.append(chunk)
        yield chunk


async def _atee(
    chunks: AsyncIterator[str | BaseMessage], seen: list[str | BaseMessage]
) -> AsyncIterator[Any]:
    async for chunk in chunks:
        seen.append(chunk)
        yield chunk


def _generation(chunks: list[str | BaseMessage]) -> Generation:
    """The whole reply a stream of message chunks (or strings) added up to."""
    total: Any = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    if isinstance(total, BaseMessage):
        return ChatGeneration(message=total)
    return Generation(text=str(total))


class _PydanticToolParser(_RequiredToolCall, PydanticToolsParser):
    """``PydanticToolsParser`` (first tool only) that raises when no tool was called."""

    def _tool_name(self) -> str:
        return str(convert_to_openai_tool(self.tools[0])["function"]["name"])


class _JsonKeyToolParser(_RequiredToolCall, JsonOutputKeyToolsParser):
    """``JsonOutputKeyToolsParser`` (first tool only) that raises when no tool was called."""

    def _tool_name(self) -> str:
        return self.key_name


def output_parser(schema: Any, method: StructuredOutputMethod) -> Runnable[Any, Any]:
    """The parser that turns the model's reply into the schema's type.

    Pydantic classes come back as instances; TypedDicts and JSON schemas as dicts. With
    ``"function_calling"``, a reply without any tool call raises
    ``OutputParserException`` (LangChain's own tools parsers would return None).
    """
    pydantic = _is_pydantic_class(schema)
    if method == "function_calling":
        if pydantic:
            return _PydanticToolParser(tools=[schema], first_tool_only=True)
        name = convert_to_openai_tool(schema)["function"]["name"]
        return _JsonKeyToolParser(key_name=name, first_tool_only=True)
    if pydantic:
        return PydanticOutputParser(pydantic_object=schema)
    return JsonOutputParser()


def attach_parser(
    model: Runnable[LanguageModelInput, Any],
    parser: Runnable[Any, Any],
    *,
    include_raw: bool,
) -> Runnable[LanguageModelInput, Any]:
    """``model | parser``, or with ``include_raw`` a dict of ``raw``, ``parsed``, ``parsing_error``.

    With ``include_raw`` a parsing failure does not raise: ``parsed`` is None and
    ``parsing_error`` holds the exception.
    """
    if not include_raw:
        return model | parser
    parsed = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    )
    unparsed = RunnablePassthrough.assign(parsed=lambda _: None)
    return RunnableMap(raw=model) | parsed.with_fallbacks([unparsed], exception_key="parsing_error")
