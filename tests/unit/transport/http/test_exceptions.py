"""What a broken connection is reported as, by when it broke."""

from __future__ import annotations

import httpx2
import pytest

from modelslab_transport import APIConnectionError
from tests.support.clients import async_client, sync_client
from tests.support.mock_api import PiecesStream, ScriptedServer
from tests.support.wire_requests import chat_request

CUT_BODY = b'{"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hel'


def _cut_reply() -> httpx2.Response:
    reset = httpx2.RemoteProtocolError("peer closed connection (incomplete chunked read)")
    return httpx2.Response(
        200, headers={"content-type": "application/json"}, stream=PiecesStream([CUT_BODY], reset)
    )


async def _complete(mode: str, server: ScriptedServer) -> object:
    if mode == "sync":
        return sync_client(server, max_retries=0).chat_completions(chat_request())
    return await async_client(server, max_retries=0).chat_completions(chat_request())


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_a_body_cut_by_the_connection_says_the_reply_did_not_arrive_whole(
    mode: str,
) -> None:
    with pytest.raises(APIConnectionError, match="broke before the whole reply arrived") as caught:
        await _complete(mode, ScriptedServer([_cut_reply()]))
    assert caught.value.retryable
