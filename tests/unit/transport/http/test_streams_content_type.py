"""A stream whose Content-Type is spelled in mixed case is still read as SSE."""

from __future__ import annotations

import httpx2

from modelslab_transport import ClientSettings, ModelsLabClient
from modelslab_transport.wire import ChatCompletionRequest, ChatMessage


def test_mixed_case_event_stream_content_type_is_decoded() -> None:
    body = (
        'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
        'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n'
        "data: [DONE]\n\n"
    )
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(
            200, headers={"content-type": "Text/Event-Stream; charset=utf-8"}, text=body
        )
    )
    client = ModelsLabClient(
        ClientSettings(api_key="k", base_url="http://127.0.0.1:9"),
        http_client=httpx2.Client(transport=transport),
    )
    request = ChatCompletionRequest(
        model="m", max_tokens=8, messages=[ChatMessage(role="user", content="hello")]
    )
    with client.stream_chat_completions(request) as stream:
        chunks = list(stream)
    assert [c.choices[0].delta.text for c in chunks] == ["Hi", ""]
    assert chunks[-1].choices[0].finish_reason == "stop"
