"""Output parsers and request options behind ``ChatModelsLab.with_structured_output``."""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Literal

from langchain_core.language_models import LanguageModelInput
from langchain_core.output_parsers import (
    JsonOutputKeyToolsParser,
    JsonOutputParser,
    PydanticOutputParser,
    PydanticToolsParser,
)
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from modelslab_transport.tooling import json_schema_response_format

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


def output_parser(schema: Any, method: StructuredOutputMethod) -> Runnable[Any, Any]:
    """The parser that turns the model's reply into the schema's type.

    Pydantic classes come back as instances; TypedDicts and JSON schemas as dicts.
    """
    pydantic = _is_pydantic_class(schema)
    if method == "function_calling":
        if pydantic:
            return PydanticToolsParser(tools=[schema], first_tool_only=True)
        name = convert_to_openai_tool(schema)["function"]["name"]
        return JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
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
