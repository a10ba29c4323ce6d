"""The wire base classes: replies keep unknown fields, request parts refuse them, request
bodies pass extras through and leave out what is None."""

from __future__ import annotations

import pytest
from pydantic import Field, ValidationError

from modelslab_transport.wire._base import RequestModel, ResponseModel, StrictModel


class Reply(ResponseModel):
    text: str = ""


class Part(StrictModel):
    text: str


class Body(RequestModel):
    model: str
    max_tokens: int | None = None
    stop_list: list[str] | None = Field(default=None, alias="stop")


def test_a_reply_keeps_unknown_fields_and_tolerates_missing_ones() -> None:
    reply = Reply.model_validate({"provider": "x"})
    assert reply.text == ""
    assert reply.model_extra == {"provider": "x"}


def test_a_request_part_refuses_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Part.model_validate({"text": "a", "colour": "red"})


def test_a_request_body_sends_extras_by_alias_without_nones() -> None:
    body = Body(model="m", top_k=5, stop_list=["END"], note=None)
    assert body.to_payload() == {"model": "m", "top_k": 5, "stop": ["END"]}
    assert Body.model_validate({"model": "m", "stop": ["x"]}).stop_list == ["x"]
