"""ChatModelsLab's text-based structured output never returns repaired JSON.

``method="json_schema"`` (strict or not) and ``"json_mode"``: a reply cut by the token
limit raises ``OutputParserException`` naming ``max_tokens``; a reply that says it
finished but whose JSON is cut or invalid raises too (LangChain's own JSON parser would
close the open string and return a guess). Both protocols, invoke and stream, sync and
async; ``include_raw=True`` puts the error in ``parsing_error``.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from pydantic import BaseModel

from tests.support.clients import chat_model
from tests.support.mock_api import ScriptedServer
from tests.support.truncation import APIS, FINISHED, text_reply


class Forecast(BaseModel):
    """A weather forecast."""

    city: str
    summary: str


SHAPES: list[tuple[str, bool | None]] = [
    ("json_schema", None),
    ("json_schema", True),
    ("json_mode", None),
]


def _structured(api: str, method: str, strict: bool | None, reply: Any) -> Any:
    model = chat_model(ScriptedServer([reply]), api=api)
    return model.with_structured_output(Forecast, method=method, strict=strict)  # type: ignore[arg-type]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("method", "strict"), SHAPES)
def test_a_cut_reply_raises_naming_max_tokens(api: str, method: str, strict: bool | None) -> None:
    structured = _structured(api, method, strict, text_reply(api, stream=False))
    with pytest.raises(OutputParserException, match="max_tokens"):
        structured.invoke("weather?")


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("method", "strict"), SHAPES)
def test_a_cut_stream_ends_with_an_error(api: str, method: str, strict: bool | None) -> None:
    structured = _structured(api, method, strict, text_reply(api, stream=True))
    with pytest.raises(OutputParserException, match="max_tokens"):
        list(structured.stream("weather?"))


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("method", "strict"), SHAPES)
async def test_a_cut_async_stream_ends_with_an_error(
    api: str, method: str, strict: bool | None
) -> None:
    structured = _structured(api, method, strict, text_reply(api, stream=True))
    with pytest.raises(OutputParserException, match="max_tokens"):
        [value async for value in structured.astream("weather?")]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("method", "strict"), SHAPES)
@pytest.mark.parametrize("stream", [False, True])
def test_finished_reply_with_cut_json_is_a_parsing_error(
    api: str, method: str, strict: bool | None, stream: bool
) -> None:
    reply = text_reply(api, stream=stream, reason=FINISHED[api])
    model = chat_model(ScriptedServer([reply]), api=api, streaming=stream)
    structured = model.with_structured_output(
        Forecast,
        method=method,  # type: ignore[arg-type]
        strict=strict,
        include_raw=True,
    )
    result = structured.invoke("weather?")
    assert result["parsed"] is None
    assert isinstance(result["parsing_error"], OutputParserException)
    # On api="messages" json_schema is answered through a forced tool, so the error there
    # is that no tool was called.
    assert "not whole or not valid" in str(result["parsing_error"]) or api == "messages"


def test_whole_json_in_a_fence_still_parses() -> None:
    api = "chat_completions"  # api="messages" answers json_mode through a forced tool
    pieces = ('```json\n{"city": "Paris", ', '"summary": "Sunny\nthen rain"}\n```')
    reply = text_reply(api, stream=False, pieces=pieces, reason=FINISHED[api])
    structured = _structured(api, "json_mode", None, reply)
    assert structured.invoke("weather?") == Forecast(city="Paris", summary="Sunny\nthen rain")


@pytest.mark.parametrize(
    ("finish_reason", "cause"),
    [
        ("content_filtered", "content filter"),
        ("guardrail_intervened", "content filter"),
        ("insufficient_system_resource", "stopped the reply"),
        ("MAX_TOKENS", "max_tokens"),
    ],
)
def test_other_servers_reasons_are_not_whole(finish_reason: str, cause: str) -> None:
    reply = text_reply(
        "chat_completions",
        stream=False,
        pieces=('{"city": "Paris", "summary": "ok"}',),
        reason=finish_reason,
    )
    structured = _structured("chat_completions", "json_schema", None, reply)
    with pytest.raises(OutputParserException, match=cause):
        structured.invoke("weather?")
