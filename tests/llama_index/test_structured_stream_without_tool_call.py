"""ModelsLabLLM structured output through a forced tool, when the reply calls no tool.

The model answers in text instead (JSON text, even, that LlamaIndex's stream reads into
partial objects). A stream's last object is never final: like ``structured_predict``,
``stream_structured_predict`` and ``astream_structured_predict`` end with an error, an
``IncompleteReplyError`` naming the cause (and ``max_tokens``) when the reply did not
finish, a ``ValueError`` saying no tool was called otherwise. Both protocols.
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.prompts import PromptTemplate
from pydantic import BaseModel

from modelslab_transport.chat.completeness import IncompleteReplyError
from tests.support.clients import scripted_llm
from tests.support.truncation import APIS, FINISHED, TRUNCATED, text_reply


class Forecast(BaseModel):
    """A weather forecast."""

    city: str
    summary: str


PROMPT = PromptTemplate("weather in {city}")


def _llm(api: str, *, stream: bool, reason: str) -> Any:
    # api="messages" carries json_schema out by the forced tool call.
    llm, _ = scripted_llm(
        text_reply(api, stream=stream, reason=reason),
        api=api,
        structured_output_method="function_calling" if api == "chat_completions" else "json_schema",
    )
    return llm


@pytest.mark.parametrize("api", APIS)
def test_stream_of_a_cut_text_reply_raises_naming_max_tokens(api: str) -> None:
    llm = _llm(api, stream=True, reason=TRUNCATED[api])
    with pytest.raises(IncompleteReplyError, match="max_tokens") as caught:
        list(llm.stream_structured_predict(Forecast, PROMPT, city="Paris"))
    assert caught.value.setting == "max_tokens"


@pytest.mark.parametrize("api", APIS)
async def test_async_stream_of_a_cut_text_reply_raises_naming_max_tokens(api: str) -> None:
    llm = _llm(api, stream=True, reason=TRUNCATED[api])
    stream = await llm.astream_structured_predict(Forecast, PROMPT, city="Paris")
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        [value async for value in stream]


@pytest.mark.parametrize("api", APIS)
def test_plain_cut_text_reply_raises_naming_max_tokens(api: str) -> None:
    llm = _llm(api, stream=False, reason=TRUNCATED[api])
    with pytest.raises(IncompleteReplyError, match="max_tokens"):
        llm.structured_predict(Forecast, PROMPT, city="Paris")


@pytest.mark.parametrize("api", APIS)
def test_stream_of_a_finished_text_reply_says_no_tool_was_called(api: str) -> None:
    llm = _llm(api, stream=True, reason=FINISHED[api])
    with pytest.raises(ValueError, match="expected at least one tool call") as caught:
        list(llm.stream_structured_predict(Forecast, PROMPT, city="Paris"))
    assert not isinstance(caught.value, IncompleteReplyError)


@pytest.mark.parametrize("api", APIS)
def test_stream_of_a_filtered_reply_names_the_filter(api: str) -> None:
    llm = _llm(api, stream=True, reason="content_filtered")
    with pytest.raises(IncompleteReplyError, match="content filter"):
        list(llm.stream_structured_predict(Forecast, PROMPT, city="Paris"))
