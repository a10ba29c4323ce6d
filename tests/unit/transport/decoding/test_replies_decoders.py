"""The reply decoders on their own: plain bodies, status errors, count_tokens and the
model list. The same paths through a client are in ``test_replies.py``."""

from __future__ import annotations

import httpx2
import pytest

from modelslab_transport.config.settings import ClientSettings
from modelslab_transport.decoding.replies import (
    body_text,
    decode_chat_completion,
    decode_count_tokens,
    decode_model_list,
    is_event_stream,
)
from modelslab_transport.errors import (
    InvalidResponseError,
)

KEY = "sk-replies-0123456789"
SETTINGS = ClientSettings(api_key=KEY)


def _reply(content: bytes | str, content_type: str = "application/json") -> httpx2.Response:
    body = content.encode() if isinstance(content, str) else content
    return httpx2.Response(
        200,
        headers={"content-type": content_type},
        content=body,
        request=httpx2.Request("POST", "https://h.example/v1/chat/completions"),
    )


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/event-stream", True),
        ("Text/Event-Stream; charset=utf-8", True),
        ("text/plain", False),
    ],
)
def test_is_event_stream(content_type: str, expected: bool) -> None:
    assert is_event_stream(_reply("", content_type)) is expected


def test_body_text_drops_a_byte_order_mark() -> None:
    assert body_text(_reply("\ufeff{}".encode())) == "{}"
    assert body_text(_reply("{}")) == "{}"


def test_a_body_that_is_not_json_is_named_without_the_key() -> None:
    with pytest.raises(InvalidResponseError) as caught:
        decode_chat_completion(_reply(f"<html>{KEY}</html>"), SETTINGS)
    said = str(caught.value)
    assert said.startswith("the chat completion reply is not valid JSON: '<html>***</html>'; ")
    assert "answered with a web page (HTML)" in said
    assert "something on the way (a proxy, a captive portal or a firewall)" in said
    assert KEY not in said
    assert caught.value.__context__ is None


def test_count_tokens_and_the_model_list() -> None:
    assert decode_count_tokens(_reply('{"input_tokens": 12}'), SETTINGS).input_tokens == 12
    models = decode_model_list(_reply('{"data": [{"id": "m-1"}, {"id": "m-2"}]}'), SETTINGS)
    assert [model.id for model in models.data] == ["m-1", "m-2"]
