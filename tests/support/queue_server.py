"""A loopback server that enforces ModelsLab's queue limit, for the queue-limit tests.

It admits at most ``limit`` requests at once; one more gets ModelsLab's documented
429 body (``shared/modelslab-api.md`` §7): ``{"status": "error", "message": "Rate limit
exceeded. Maximum 5 queued requests allowed.", "retry_after": 30}``. Admitted requests
wait ``latency`` seconds, then get a chat completion (plain or streamed, chat
completions or messages) whose text echoes the request's last user message, so a test
can check that every answer came back to its own question.

It records the most requests it ever had in flight, the refusals, and how often each
prompt was refused.
"""

from __future__ import annotations

import collections
import json
import threading
from typing import Any

from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.replies import chunk, completion_body

QUEUE_LIMIT_BODY = "Rate limit exceeded. Maximum {limit} queued requests allowed."


def prompt_of(body: dict[str, Any]) -> str:
    """The text of the last message of a chat or messages request."""
    content = body["messages"][-1]["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return str(content)


def answer_for(prompt: str) -> str:
    """What the server answers to ``prompt``."""
    return f"echo: {prompt}"


def _message(text: str) -> dict[str, Any]:
    return {
        "id": "msg_queue",
        "type": "message",
        "role": "assistant",
        "model": "queue-model",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2},
    }


class QueueLimitedServer(LoopbackServer):
    """Admits ``limit`` requests at once and refuses the rest with the real 429 body.

    Args:
        limit: Requests admitted at once.
        latency: Seconds each admitted request takes.
        retry_after: The ``retry_after`` of the 429 body (ModelsLab sends 30).
        free_after_reply: None: a request leaves the queue before its last bytes go out
            (as on ModelsLab). Else it leaves this many seconds after its (non-streamed)
            reply was written, as a server that counts replies rather than work does: a
            client that has its reply may find the place still taken.
    """

    def __init__(
        self,
        limit: int = 5,
        latency: float = 0.05,
        retry_after: float = 30,
        free_after_reply: float | None = None,
    ) -> None:
        self.limit = limit
        self.latency = latency
        self.retry_after = retry_after
        self.free_after_reply = free_after_reply
        self.in_flight = 0
        self.peak_in_flight = 0
        self.served = 0
        self.refused = 0
        self.refusals: collections.Counter[str] = collections.Counter()
        self._state = threading.Lock()
        super().__init__(self._answer)

    def __enter__(self) -> QueueLimitedServer:
        super().__enter__()
        return self

    def _answer(self, conn: LoopbackConnection, request: LoopbackRequest) -> bool:
        body = json.loads(request.body or b"{}")
        prompt = prompt_of(body)
        with self._state:
            admitted = self.in_flight < self.limit
            if admitted:
                self.in_flight += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            else:
                self.refused += 1
                self.refusals[prompt] += 1
        if not admitted:
            error = {
                "status": "error",
                "message": QUEUE_LIMIT_BODY.format(limit=self.limit),
                "retry_after": self.retry_after,
            }
            conn.send_json(error, status=429, reason="Too Many Requests")
            return True
        # The request leaves the queue before its last bytes go out: a client that has
        # read its whole answer may send the next request at once, and must find the
        # slot free (as on ModelsLab, where a request is done before it is answered).
        done = False
        deferred: threading.Timer | None = None

        def leave_queue() -> None:
            nonlocal done
            if not done:
                done = True
                with self._state:
                    self.in_flight -= 1
                    self.served += 1

        try:
            conn.wait(self.latency)
            text = answer_for(prompt)
            messages = request.path.endswith("/v1/messages")
            if not body.get("stream"):
                if self.free_after_reply is None:
                    leave_queue()
                conn.send_json(_message(text) if messages else completion_body(text))
                if self.free_after_reply is not None:  # the timer, not ``finally``, frees it
                    deferred = threading.Timer(self.free_after_reply, leave_queue)
                    deferred.daemon = True
                    deferred.start()
                return True
            conn.send_sse_headers()
            if messages:
                events = _message_events(text)
            else:
                events = [
                    f"data: {e if isinstance(e, str) else json.dumps(e)}\n\n".encode()
                    for e in (chunk(text), chunk(finish_reason="stop"), "[DONE]")
                ]
            for event in events[:-1]:
                conn.send_chunk(event)
            leave_queue()
            conn.send_chunk(events[-1])
            conn.end_chunks()
            return True
        finally:
            if deferred is None:
                leave_queue()


def _message_events(text: str) -> list[bytes]:
    start = _message("")
    start["content"] = []
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 2},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]
