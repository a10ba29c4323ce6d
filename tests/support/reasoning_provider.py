"""A loopback emulation of reasoning providers that enforce their send-back rules.

Each :class:`ReasoningProvider` plays one provider a ModelsLab model may be routed
to, answers a two-step tool loop (a tool call, then an answer once the tool result
is in) plainly or as SSE, and refuses with HTTP 400, as the real provider does, a
request that breaks its rule:

* ``"deepseek"`` (``/chat/completions``): every assistant turn after the latest user
  message must carry the ``reasoning_content`` it was given; an assistant turn
  before it must not carry any (DeepSeek, thinking mode with tool calls,
  https://api-docs.deepseek.com/guides/thinking_mode).
* ``"anthropic"`` (``/v1/messages``): the assistant turn with ``tool_use`` must open
  with the signed ``thinking`` block and the ``redacted_thinking`` block it was
  given, unchanged (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking).
* ``"gemini"`` (``/chat/completions``): each assistant tool call must carry the
  ``extra_content.google.thought_signature`` it was given
  (https://ai.google.dev/gemini-api/docs/thought-signatures).

The server listens on 127.0.0.1 only (:class:`tests.support.loopback.LoopbackServer`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer

TOOL_NAME = "multiply"
ANSWER = "6 times 7 is 42."
THOUGHT_SIGNATURE = "c2lnLWdlbWluaS0x"
THINKING_SIGNATURE = "EqQBCkYIBxgCKkD-signed-thinking"
REDACTED_DATA = "EmwKAhgBEgy-encrypted-reasoning"


def _reasoning(turn: int) -> str:
    return f"Reasoning for step {turn}: the user wants a product, so use the tool."


def _pieces(text: str, size: int = 5) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass
class ReasoningProvider:
    """The emulated provider: its rule, what it handed out, what it refused."""

    kind: str
    refusals: list[str] = field(default_factory=list)
    bodies: list[dict[str, Any]] = field(default_factory=list)

    # ------------------------------------------------------------------ rules

    def _deepseek_problem(self, messages: list[dict[str, Any]]) -> str | None:
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        turn = 0
        for index, message in enumerate(messages):
            if message.get("role") != "assistant":
                continue
            if index < last_user:
                if "reasoning_content" in message:
                    return (
                        "reasoning_content is not allowed in assistant messages before the "
                        f"latest user message (message index {index})"
                    )
                continue
            turn += 1
            if message.get("reasoning_content") != _reasoning(turn):
                return (
                    "Missing reasoning_content field in the assistant message at "
                    f"message index {index}"
                )
        return None

    def _gemini_problem(self, messages: list[dict[str, Any]]) -> str | None:
        for message in messages:
            for call in message.get("tool_calls") or []:
                signature = (call.get("extra_content") or {}).get("google", {})
                if signature.get("thought_signature") != THOUGHT_SIGNATURE:
                    return "Function call is missing a thought_signature in functionCall parts."
        return None

    def _anthropic_problem(self, messages: list[dict[str, Any]]) -> str | None:
        for index, message in enumerate(messages):
            content = message.get("content")
            if message.get("role") != "assistant" or not isinstance(content, list):
                continue
            if not any(block.get("type") == "tool_use" for block in content):
                continue
            opening = content[:2]
            expected = [
                {"type": "thinking", "thinking": _reasoning(1), "signature": THINKING_SIGNATURE},
                {"type": "redacted_thinking", "data": REDACTED_DATA},
            ]
            if opening != expected:
                return (
                    f"messages.{index}.content.0.type: Expected `thinking` or "
                    "`redacted_thinking`, but found "
                    f"`{content[0].get('type')}`. When `thinking` is enabled, a final "
                    "`assistant` message must start with a thinking block"
                )
        return None

    def problem(self, body: dict[str, Any]) -> str | None:
        """Why the provider refuses this request, or None."""
        messages = body.get("messages") or []
        if self.kind == "deepseek":
            return self._deepseek_problem(messages)
        if self.kind == "gemini":
            return self._gemini_problem(messages)
        return self._anthropic_problem(messages)

    # ---------------------------------------------------------------- replies

    @staticmethod
    def _turn(messages: list[dict[str, Any]]) -> int:
        """1 for the tool call, 2 for the answer (a tool result follows the latest user)."""
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        tail = messages[last_user:]
        has_result = any(
            m.get("role") == "tool"
            or (
                isinstance(m.get("content"), list)
                and any(b.get("type") == "tool_result" for b in m["content"])
            )
            for m in tail
        )
        return 2 if has_result else 1

    def _chat_message(self, turn: int) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None if turn == 1 else ANSWER}
        if self.kind == "deepseek":
            message["reasoning_content"] = _reasoning(turn)
        if turn == 1:
            call: dict[str, Any] = {
                "id": "call_7",
                "type": "function",
                "function": {"name": TOOL_NAME, "arguments": json.dumps({"a": 6, "b": 7})},
            }
            if self.kind == "gemini":
                call["extra_content"] = {"google": {"thought_signature": THOUGHT_SIGNATURE}}
            message["tool_calls"] = [call]
        return message

    def _chat_chunks(self, turn: int) -> list[dict[str, Any]]:
        message = self._chat_message(turn)
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [
            {"reasoning_content": p} for p in _pieces(message.get("reasoning_content") or "")
        ]
        if message.get("content"):
            deltas += [{"content": p} for p in _pieces(message["content"])]
        for call in message.get("tool_calls") or []:
            arguments = call["function"]["arguments"]
            first = {**call, "index": 0, "function": {"name": TOOL_NAME, "arguments": ""}}
            deltas.append({"tool_calls": [first]})
            deltas += [
                {"tool_calls": [{"index": 0, "function": {"arguments": p}}]}
                for p in _pieces(arguments, 4)
            ]
        reply_id = f"ds-{len(self.bodies)}"
        chunks = [{"id": reply_id, "choices": [{"index": 0, "delta": d}]} for d in deltas]
        reason = "tool_calls" if turn == 1 else "stop"
        end = {"index": 0, "delta": {}, "finish_reason": reason}
        chunks.append({"id": reply_id, "choices": [end]})
        usage = {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30}
        chunks.append({"id": reply_id, "choices": [], "usage": usage})
        return chunks

    def _message_content(self, turn: int) -> list[dict[str, Any]]:
        thinking = {
            "type": "thinking",
            "thinking": _reasoning(turn),
            "signature": THINKING_SIGNATURE,
        }
        if turn == 1:
            return [
                thinking,
                {"type": "redacted_thinking", "data": REDACTED_DATA},
                {"type": "tool_use", "id": "toolu_7", "name": TOOL_NAME, "input": {"a": 6, "b": 7}},
            ]
        return [thinking, {"type": "text", "text": ANSWER}]

    def _message(self, turn: int) -> dict[str, Any]:
        return {
            "id": f"msg_{len(self.bodies)}",
            "type": "message",
            "role": "assistant",
            "model": "claude-test",
            "content": self._message_content(turn),
            "stop_reason": "tool_use" if turn == 1 else "end_turn",
            "usage": {"input_tokens": 20, "output_tokens": 10},
        }

    def _message_events(self, turn: int) -> list[dict[str, Any]]:
        message = self._message(turn)
        start = {**message, "content": [], "stop_reason": None}
        events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
        for index, block in enumerate(message["content"]):
            kind = block["type"]
            if kind == "thinking":
                opening: dict[str, Any] = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [
                    {"type": "thinking_delta", "thinking": p} for p in _pieces(block["thinking"])
                ]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            elif kind == "text":
                opening = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": p} for p in _pieces(block["text"])]
            elif kind == "tool_use":
                opening = {**block, "input": {}}
                deltas = [
                    {"type": "input_json_delta", "partial_json": p}
                    for p in _pieces(json.dumps(block["input"]), 4)
                ]
            else:
                opening, deltas = block, []
            events.append({"type": "content_block_start", "index": index, "content_block": opening})
            events += [{"type": "content_block_delta", "index": index, "delta": d} for d in deltas]
            events.append({"type": "content_block_stop", "index": index})
        events.append(
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"]},
                "usage": {"output_tokens": 10},
            }
        )
        events.append({"type": "message_stop"})
        return events

    # ----------------------------------------------------------------- serving

    def __call__(self, connection: LoopbackConnection, request: LoopbackRequest) -> bool:
        body = json.loads(request.body or b"{}")
        self.bodies.append(body)
        problem = self.problem(body)
        if problem is not None:
            self.refusals.append(problem)
            connection.send_json(
                {"error": {"message": problem, "type": "invalid_request_error"}},
                status=400,
                reason="Bad Request",
            )
            return True
        turn = self._turn(body.get("messages") or [])
        messages_api = request.path.endswith("/v1/messages")
        if not body.get("stream"):
            if messages_api:
                connection.send_json(self._message(turn))
            else:
                reply = {
                    "id": f"ds-{len(self.bodies)}",
                    "object": "chat.completion",
                    "model": "deepseek-test",
                    "choices": [
                        {
                            "index": 0,
                            "message": self._chat_message(turn),
                            "finish_reason": "tool_calls" if turn == 1 else "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 20, "completion_tokens": 10, "total_tokens": 30},
                }
                connection.send_json(reply)
            return True
        connection.send_sse_headers()
        if messages_api:
            for event in self._message_events(turn):
                data = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
                connection.send_chunk(data.encode())
        else:
            for chunk in self._chat_chunks(turn):
                connection.send_chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            connection.send_chunk(b"data: [DONE]\n\n")
        connection.end_chunks()
        return True


def serve(kind: str) -> tuple[ReasoningProvider, LoopbackServer]:
    """A provider of ``kind`` and the (not yet started) loopback server that plays it."""
    provider = ReasoningProvider(kind)
    return provider, LoopbackServer(provider)
