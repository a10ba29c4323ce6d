"""Error bodies whose message is an object of messages by field (Laravel's validation
errors, as ``{"status": "error", "message": {"model_id": ["..."]}}``): the text is read
as ``field: message``, never dropped as "an error without a message"."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from langchain_core.messages import HumanMessage

from modelslab_transport.decoding.error_bodies import body_message
from modelslab_transport.errors import APIStatusError
from tests.support.clients import chat_model, scripted_llm
from tests.support.mock_api import ScriptedServer

INVALID_MODEL = {"status": "error", "message": {"model_id": ["The selected model id is invalid."]}}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (INVALID_MODEL, "model_id: The selected model id is invalid."),
        (
            {"status": "error", "messege": {"key": ["The key field is required."]}},
            "key: The key field is required.",
        ),
        (
            {"errors": {"a": ["one", "two"], "b": "three"}},
            "a: one; two; b: three",
        ),
        ({"error": {"message": {"messages": ["too long"]}}}, "messages: too long"),
        # A message member wins over the by-field reading.
        (
            {"message": "The given data was invalid.", "errors": {"a": ["x"]}},
            "The given data was invalid.",
        ),
    ],
)
def test_messages_by_field_are_read(payload: Any, expected: str) -> None:
    assert body_message(payload) == expected


@pytest.mark.parametrize(
    "payload",
    [
        {"status": "error", "code": 7},  # the top level is never read by field
        {"errors": {"a": 1, "b": {"c": "d"}}},  # no text or list of text by field
    ],
)
def test_objects_without_text_stay_without_a_message(payload: Any) -> None:
    assert body_message(payload) is None


def test_more_fields_than_shown_are_counted() -> None:
    errors = {f"f{i}": [f"bad {i}"] for i in range(7)}
    message = body_message({"errors": errors}) or ""
    assert message.startswith("f0: bad 0; f1: bad 1")
    assert message.endswith("and 2 more")


@pytest.mark.parametrize("api", ["chat_completions", "messages"])
def test_langchain_error_names_the_field(api: str) -> None:
    server = ScriptedServer([httpx2.Response(200, json=INVALID_MODEL)])
    with pytest.raises(APIStatusError, match="model_id: The selected model id is invalid"):
        chat_model(server, api=api).invoke([HumanMessage("hi")])


def test_llama_index_error_names_the_field() -> None:
    llm, _ = scripted_llm(httpx2.Response(200, json=INVALID_MODEL))
    with pytest.raises(APIStatusError, match="model_id: The selected model id is invalid"):
        llm.complete("hi")
