"""Output parsers and request options behind ``ChatModelsLab.with_structured_output``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from operator import itemgetter
from typing import Any, Literal

from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    JsonOutputToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatResult, Generation
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.json import parse_json_markdown
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import ValidationError
from typing_extensions import is_typeddict

from langchain_modelslab.replies import whole_reply_problem
from modelslab_transport.chat import (
    drop_nulls_of_optional,
    json_schema_response_format,
    strict_json_schema,
)
from modelslab_transport.wire import json_text

__all__ = [
    "JSON_MODE_RESPONSE_FORMAT",
    "StructuredOutputMethod",
    "attach_parser",
    "call_response_format",
    "json_schema_format",
    "openai_tool",
    "output_parser",
    "with_parsed",
]

StructuredOutputMethod = Literal["function_calling", "json_mode", "json_schema"]
"""How ``with_structured_output`` asks the model for structured output."""

JSON_MODE_RESPONSE_FORMAT: dict[str, Any] = {"type": "json_object"}
"""The ``response_format`` of JSON mode (documented by ModelsLab)."""


def _is_pydantic_class(schema: Any) -> bool:
    return isinstance(schema, type) and is_basemodel_subclass(schema)


def json_schema_format(schema: Any, *, strict: bool | None) -> dict[str, Any]:
    """The ``response_format`` asking for JSON that follows ``schema`` (any schema kind).

    With ``strict=True`` the schema is closed as strict mode requires
    (:func:`~modelslab_transport.chat.strict_schema.strict_json_schema`).

    Raises:
        StrictSchemaError: with ``strict=True``, for a schema strict mode cannot express.
    """
    json_schema = convert_to_json_schema(schema)
    if strict:
        json_schema = strict_json_schema(json_schema)
    return json_schema_response_format(json_schema, strict=strict)


def openai_tool(tool: Any, *, strict: bool | None) -> dict[str, Any]:
    """``tool`` as an OpenAI function tool; with ``strict=True`` its parameters closed.

    Raises:
        StrictSchemaError: with ``strict=True``, for parameters strict mode cannot express.
    """
    if not strict:
        return convert_to_openai_tool(tool, strict=strict)
    formatted = convert_to_openai_tool(tool)
    function = formatted["function"]
    function["parameters"] = strict_json_schema(
        function.get("parameters") or {"type": "object", "properties": {}}
    )
    function["strict"] = True
    return formatted


_FORMAT_TYPES = ("json_object", "json_schema", "text")


def call_response_format(value: Any) -> tuple[Any, Callable[[str], Any] | None]:
    """A call's ``response_format`` for the wire, and how to parse a reply to it.

    A wire form (``{"type": "json_object" | "json_schema" | "text", ...}``) passes as it
    is, with no parser. A pydantic class, a TypedDict or a JSON schema becomes a
    ``json_schema`` format; the parser reads a reply's text into an instance of the class
    (a dict for the others), as ChatOpenAI fills ``additional_kwargs["parsed"]``. An
    OpenAI ``{"name", "schema"}`` pair is wrapped as ``json_schema``.

    Raises:
        ValueError: for any other value.
    """
    if isinstance(value, dict) and value.get("type") in _FORMAT_TYPES:
        return value, None
    if isinstance(value, dict) and "name" in value and "schema" in value:
        return {"type": "json_schema", "json_schema": value}, json_text.loads
    if _is_pydantic_class(value):
        return json_schema_format(value, strict=None), value.model_validate_json
    if is_typeddict(value) or isinstance(value, dict):
        return json_schema_format(value, strict=None), json_text.loads
    raise ValueError(
        f"response_format must be a pydantic class, a TypedDict, a JSON schema (dict) or a "
        f"format such as {{'type': 'json_object'}}; got {value!r}"
    )


def with_parsed(result: ChatResult, parse: Callable[[str], Any]) -> ChatResult:
    """``result`` with each reply's text parsed into ``additional_kwargs["parsed"]``.

    A reply without text (a tool call, a refusal) gets None.

    Raises:
        OutputParserException: for text that is not JSON of the requested shape.
    """
    for generation in result.generations:
        generation.message.additional_kwargs["parsed"] = parsed_text(generation.text, parse)
    return result


def parsed_text(text: str, parse: Callable[[str], Any]) -> Any:
    """``parse(text)``, None for no text; a failure raises ``OutputParserException``."""
    if not text.strip():
        return None
    try:
        return parse(text)
    except ValueError as exc:
        raise OutputParserException(
            f"the reply does not follow the requested response_format: {exc}", llm_output=text
        ) from exc


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


def _check_whole(result: list[Generation]) -> None:
    """Raise ``OutputParserException`` when the reply is not whole (see ``whole_reply_problem``)."""
    message = result[0].message if result and isinstance(result[0], ChatGeneration) else None
    if isinstance(message, AIMessage):
        problem = whole_reply_problem(message)
        if problem is not None:
            raise OutputParserException(
                f"structured output cannot be read from this reply: {problem}",
                llm_output=message.text,
            )


class _WholeReply:
    """A parser whose final result comes only from a whole reply, parsed strictly.

    Partial values are yielded while a stream runs (as LangChain's parsers do); the
    final value, on ``invoke`` and at the end of a stream, is refused with
    ``OutputParserException`` when the reply did not finish (cut off by ``max_tokens``
    or a filter: the message says which and what to change) or its JSON or tool call
    is invalid. With ``include_raw=True`` the exception lands in ``parsing_error``.
    """

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        """Parse as the base parser does; a final parse first checks the reply is whole."""
        if not partial:
            _check_whole(result)
        return super().parse_result(result, partial=partial)  # type: ignore[misc]

    def _transform(self, input: Iterator[str | BaseMessage]) -> Iterator[Any]:
        seen: list[str | BaseMessage] = []
        yield from super()._transform(_tee(input, seen))  # type: ignore[misc]
        if seen:
            self.parse_result([_generation(seen)])

    async def _atransform(self, input: AsyncIterator[str | BaseMessage]) -> AsyncIterator[Any]:
        seen: list[str | BaseMessage] = []
        async for value in super()._atransform(_atee(input, seen)):  # type: ignore[misc]
            yield value
        if seen:
            self.parse_result([_generation(seen)])


class _RequiredToolCall(_WholeReply, JsonOutputToolsParser):
    """A first-tool-only tools parser that raises when the reply holds no call of the tool.

    LangChain's tools parsers return None when the reply has no tool call (or calls only
    other tools), so ``with_structured_output`` would answer None without saying why;
    ChatOpenAI's default (``json_schema``) raises a ``ValueError`` in that case. This
    raises :class:`OutputParserException` (also a ``ValueError``), on ``invoke`` and at
    the end of a stream; with ``include_raw=True`` it lands in ``parsing_error``.
    """

    original_schema: dict[str, Any] | None = None
    """With a strict schema: the schema before it was closed (see
    :func:`~modelslab_transport.chat.strict_schema.drop_nulls_of_optional`)."""

    def _tool_name(self) -> str:
        raise NotImplementedError

    def _optional_nulls_dropped(self, result: list[Generation]) -> list[Generation]:
        first = result[0] if result else None
        if self.original_schema is None or not isinstance(first, ChatGeneration):
            return result
        message = first.message
        if not isinstance(message, AIMessage) or not message.tool_calls:
            return result
        calls = [
            {**call, "args": drop_nulls_of_optional(call["args"], self.original_schema)}
            for call in message.tool_calls
        ]
        return [ChatGeneration(message=message.model_copy(update={"tool_calls": calls}))]

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        """Parse as the tools parser does; raise if a whole reply has no call of the tool."""
        result = self._optional_nulls_dropped(result)
        parsed = super().parse_result(result, partial=partial)
        if parsed is None and not partial:
            message = result[0].message if isinstance(result[0], ChatGeneration) else None
            raise _no_tool_call(self._tool_name(), message or result[0].text)
        return parsed


def _require_json(result: list[Generation]) -> None:
    """Raise ``OutputParserException`` when a reply's text is not whole, valid JSON.

    LangChain's ``JsonOutputParser`` repairs cut JSON (``{"a": "b`` reads as
    ``{"a": "b"}``) even for a final result; a finished reply can still carry such text
    (a stop sequence, a server that misreports its finish reason).
    """
    text = result[0].text.strip() if result else ""
    try:
        parse_json_markdown(text, parser=lambda inner: json.loads(inner, strict=False))
    except ValueError as exc:
        raise OutputParserException(
            f"structured output cannot be read from this reply: its JSON is not whole or "
            f"not valid ({exc}); a repaired guess is never returned",
            llm_output=text,
        ) from exc


class _JsonParser(_WholeReply, JsonOutputParser):
    """``JsonOutputParser`` whose final result needs a whole reply of valid JSON."""

    # Declared again: the pydantic mypy plugin cannot read the base's type variable here.
    pydantic_object: Any = None

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        """Parse as ``JsonOutputParser`` does; a final parse needs whole, valid JSON."""
        value = super().parse_result(result, partial=partial)
        if not partial:
            _require_json(result)
        return value


class _PydanticParser(_JsonParser):
    """``PydanticOutputParser``'s result (a ``pydantic_object`` instance), from a whole reply."""

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        """The JSON validated into ``pydantic_object`` (None while a partial one does not fit)."""
        value = super().parse_result(result, partial=partial)
        if value is None and partial:
            return None
        try:
            return self.pydantic_object.model_validate(value)
        except ValidationError as exc:
            if partial:
                return None
            raise OutputParserException(
                f"the reply is not a valid {self.pydantic_object.__name__}: {exc}",
                llm_output=result[0].text if result else None,
            ) from exc

    @property
    def OutputType(self) -> type[Any]:  # noqa: N802 (LangChain's name)
        """The pydantic class."""
        return self.pydantic_object  # type: ignore[no-any-return]


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


class _StrictJsonParser(_JsonParser):
    """``JsonOutputParser`` that drops the nulls standing for absent properties.

    The value is then validated as ``pydantic_object`` when one is given.
    """

    original_schema: dict[str, Any]

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        """Parse as ``JsonOutputParser`` does, drop those nulls, validate.

        Raises:
            OutputParserException: when a whole reply does not validate.
        """
        parsed = drop_nulls_of_optional(
            super().parse_result(result, partial=partial), self.original_schema
        )
        if self.pydantic_object is None or parsed is None:
            return parsed
        try:
            return self.pydantic_object.model_validate(parsed)
        except ValidationError as exc:
            if partial:
                return None
            raise OutputParserException(
                f"the reply does not follow {self.pydantic_object.__name__}: {exc}",
                llm_output=result[0].text if result else None,
            ) from exc


def output_parser(
    schema: Any, method: StructuredOutputMethod, *, strict: bool | None = None
) -> Runnable[Any, Any]:
    """The parser that turns the model's reply into the schema's type.

    Pydantic classes come back as instances; TypedDicts and JSON schemas as dicts. With
    ``"function_calling"``, a reply without any tool call raises
    ``OutputParserException`` (LangChain's own tools parsers would return None). With
    ``strict=True`` a ``null`` for a property the schema lets out means it is absent. A reply
    that did not finish (``max_tokens``, a content filter) or whose JSON or tool call is
    invalid raises ``OutputParserException`` naming the cause, never a repaired guess.
    """
    pydantic = _is_pydantic_class(schema)
    original = convert_to_json_schema(schema) if strict and schema is not None else None
    if method == "function_calling":
        if pydantic:
            return _PydanticToolParser(
                tools=[schema], first_tool_only=True, original_schema=original
            )
        name = convert_to_openai_tool(schema)["function"]["name"]
        return _JsonKeyToolParser(key_name=name, first_tool_only=True, original_schema=original)
    if original is not None:
        return _StrictJsonParser(
            original_schema=original, pydantic_object=schema if pydantic else None
        )
    if pydantic:
        return _PydanticParser(pydantic_object=schema)
    return _JsonParser()


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
