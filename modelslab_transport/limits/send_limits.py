"""The limits on what a chat request sends, the same on both protocols.

One rule, checked once per request before either protocol encodes it (the chat
completions encoder sends tool-call arguments as JSON text, the Messages one parses
them into objects; both see the same values here):

* **Nesting.** No part of a request may nest arrays and objects more than
  :data:`MAX_SEND_DEPTH` levels deep (a scalar is 0 levels, ``{}`` one, ``{"a": []}``
  two). The parts are each tool call's arguments (parsed from their JSON text), each
  tool's ``parameters`` schema, ``response_format``, and each extra body field. That
  is the depth :func:`modelslab_transport.wire.json_text.loads` accepts in a reply: nothing
  is sent that would be refused if it came back. A deeper part is refused before
  anything is sent with :class:`~modelslab_transport.errors.LocalRequestError` naming
  the part, its depth and the limit.
* **Size.** No size limit is applied to what is sent, on either protocol: the server
  answers a request too large for it (an ``APIStatusError``). Replies are bounded by
  ``max_response_size`` and ``max_sse_event_size``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from modelslab_transport.errors import LocalRequestError
from modelslab_transport.wire.json_text import MAX_DEPTH

if TYPE_CHECKING:
    from modelslab_transport.wire.chat import ChatCompletionRequest, ChatMessage, Tool

__all__ = ["MAX_SEND_DEPTH", "check_count_limits", "check_send_limits", "nesting_depth"]

MAX_SEND_DEPTH = MAX_DEPTH
"""The deepest nesting of arrays and objects a part of a request may have (levels)."""


def nesting_depth(value: Any, limit: int = MAX_SEND_DEPTH) -> int:
    """Levels of arrays and objects (dicts, lists, tuples) in ``value``.

    Walked without recursion; the walk stops past ``limit`` (and returns ``limit + 1``).
    """
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return limit + 1
        deepest = max(deepest, depth)
        pending.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list | tuple)
        )
    return deepest


def _arguments_value(arguments: Any) -> Any:
    """Tool-call arguments as the value they encode (text that is no JSON: as is)."""
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except RecursionError:
        return _TOO_DEEP
    except ValueError:
        return arguments  # not JSON: its own refusal, where a protocol needs it parsed


_TOO_DEEP: Any = []  # stands for a value too deep for the parser itself


def _parts(
    messages: Sequence[ChatMessage], tools: Sequence[Tool], extra: dict[str, Any]
) -> Iterator[tuple[str, Any]]:
    """(name, value) of every part whose nesting the rule limits."""
    for index, message in enumerate(messages):
        for call in message.tool_calls or ():
            yield (
                f"the arguments of tool call {call.function.name!r} (id {call.id!r}) in "
                f"message {index} ({message.role})",
                _arguments_value(call.function.arguments),
            )
    for tool in tools:
        yield f"the parameters schema of tool {tool.function.name!r}", tool.function.parameters
    for name, value in extra.items():
        yield f"the request field {name!r}", value


def _check(parts: Iterator[tuple[str, Any]]) -> None:
    for name, value in parts:
        if not isinstance(value, dict | list | tuple):
            continue
        if value is _TOO_DEEP or nesting_depth(value) > MAX_SEND_DEPTH:
            raise LocalRequestError(
                f"a request part nests arrays and objects more than {MAX_SEND_DEPTH} levels "
                f"deep: {name}. At most {MAX_SEND_DEPTH} levels are sent, on either protocol "
                "(api='chat_completions' or 'messages'): flatten it, or send it as a JSON "
                "string inside a field"
            )


def check_send_limits(request: ChatCompletionRequest) -> None:
    """Refuse ``request`` if a part of it nests over :data:`MAX_SEND_DEPTH` levels.

    Raises:
        LocalRequestError: naming the part (message and tool call, tool, or field) and
            the limit; nothing has been sent.
    """
    extra = dict(request.model_extra or {})
    if request.response_format is not None:
        extra["response_format"] = request.response_format
    _check(_parts(request.messages, request.tools or (), extra))


def check_count_limits(messages: Sequence[ChatMessage], tools: Sequence[Tool]) -> None:
    """:func:`check_send_limits` for a token count of ``messages`` and ``tools``."""
    _check(_parts(messages, tools, {}))
