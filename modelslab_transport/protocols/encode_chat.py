"""The request encoder of ``/chat/completions``: the one place its histories are normalised.

After :func:`~modelslab_transport.protocols.history.normalise_history`, all system and
developer messages join into one ``system`` message, sent first; text-only list content
becomes a string; documents are OpenAI ``file`` parts; ``cache_control`` is not sent, on
blocks, tools or the request (a per-call ``cache_control``): chat completions has no such
field. Images and documents outside user messages, and documents by URL, raise
:class:`~modelslab_transport.protocols.history.UnsupportedContentError`.
"""

from __future__ import annotations

from collections.abc import Sequence

from modelslab_transport.protocols.history import (
    UnsupportedContentError,
    normalise_history,
    nothing_to_send,
    part_kind,
    request_cache_control,
)
from modelslab_transport.wire.chat import (
    ChatCompletionRequest,
    ChatMessage,
    ContentPart,
    FilePart,
    TextPart,
)

__all__ = ["encode_chat_request"]

API = "chat_completions"


def _text(message: ChatMessage) -> str:
    """The text of a message whose role takes text only (system, assistant, tool)."""
    content = message.content
    if content is None or isinstance(content, str):
        return content or ""
    for part in content:
        if not isinstance(part, TextPart):
            hint = (
                "send it in a user message, or use api='messages' (a tool result can "
                "hold images and documents there)"
                if message.role == "tool"
                else "send it in a user message"
            )
            raise UnsupportedContentError(part_kind(part), message.role, API, hint)
    return "".join(part.text for part in content if isinstance(part, TextPart))


def _user_content(content: list[ContentPart]) -> str | list[ContentPart]:
    for part in content:
        if isinstance(part, FilePart) and part.file.url is not None:
            raise UnsupportedContentError(
                part_kind(part),
                "user",
                API,
                "send the file's bytes (base64), or use api='messages', which takes "
                "documents by URL",
            )
    if all(isinstance(part, TextPart) for part in content):
        return "".join(part.text for part in content if isinstance(part, TextPart))
    return content


def _joined(system: Sequence[ChatMessage]) -> ChatMessage:
    """One ``system`` message with the text of ``system``, in order, a blank line apart.

    Its role is ``system`` even for ``developer`` messages: ModelsLab documents the roles
    system, user, assistant and tool (``shared/modelslab-api.md`` §3, OpenAPI enum), and
    OpenAI takes ``system`` for ``developer`` on the models that prefer it.
    """
    text = "\n\n".join(_text(message) for message in system)
    first = system[0]
    if len(system) == 1:
        return first.model_copy(update={"content": text, "role": "system"})
    return ChatMessage(role="system", content=text)


def _turn(message: ChatMessage) -> ChatMessage:
    content = message.content
    if message.role == "user":
        if isinstance(content, list):
            return message.model_copy(update={"content": _user_content(content)})
        return message
    if message.role == "assistant":
        text = _text(message)
        return message.model_copy(update={"content": text or (None if message.tool_calls else "")})
    if isinstance(content, list):  # a tool result
        return message.model_copy(update={"content": _text(message)})
    return message


def encode_chat_request(request: ChatCompletionRequest) -> ChatCompletionRequest:
    """``request`` with its history in a form chat completions accepts (see module doc).

    Raises:
        UnsupportedContentError: for content chat completions has no form for.
        ToolPairingError: when tool calls and results do not pair up.
        ValueError: when every message is empty or whitespace only, or for a
            ``cache_control`` that is not a dict.
    """
    conversation = normalise_history(request.messages)
    messages = [_joined(conversation.system)] if conversation.system else []
    messages += [_turn(message) for message in conversation.turns]
    if not messages:
        raise nothing_to_send(len(request.messages))
    encoded = request.model_copy(update={"messages": messages})
    if request_cache_control(request.model_extra) is not None:
        encoded.__pydantic_extra__ = {
            k: v for k, v in (request.model_extra or {}).items() if k != "cache_control"
        }
    return encoded
