"""The nesting limit on what a chat request sends, checked once before either protocol encodes it.

Tool-call arguments, tool schemas, ``response_format`` and extra body fields may nest
at most :data:`MAX_SEND_DEPTH` levels, the depth a reply may have. Size is not limited.
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
    """Levels of arrays and objects in ``value`` (``{}``: 1); past ``limit``: ``limit + 1``."""
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
        LocalRequestError: naming the part and the limit; nothing has been sent.
    """
    extra = dict(request.model_extra or {})
    if request.response_format is not None:
        extra["response_format"] = request.response_format
    _check(_parts(request.messages, request.tools or (), extra))


def check_count_limits(messages: Sequence[ChatMessage], tools: Sequence[Tool]) -> None:
    """:func:`check_send_limits` for a token count of ``messages`` and ``tools``."""
    _check(_parts(messages, tools, {}))
