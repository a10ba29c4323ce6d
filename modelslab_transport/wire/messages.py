"""Wire types of the Anthropic-compatible ``/v1/messages`` and ``/v1/messages/count_tokens``."""

import json
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from modelslab_transport.wire._base import RequestModel, ResponseModel, StrictModel
from modelslab_transport.wire.chat import json_text

__all__ = [
    "ContentBlock",
    "CountTokensRequest",
    "CountTokensResponse",
    "ImageBlockParam",
    "ImageSource",
    "Message",
    "MessageParam",
    "MessageStreamEvent",
    "MessagesRequest",
    "MessagesTool",
    "MessagesUsage",
    "RedactedThinkingBlockParam",
    "RequestBlock",
    "StreamDelta",
    "TextBlockParam",
    "ThinkingBlockParam",
    "ToolResultBlockParam",
    "ToolUseBlockParam",
]


CacheControl = dict[str, Any]
"""A prompt-cache breakpoint (``{"type": "ephemeral"}``, optionally with ``"ttl"``)."""


class TextBlockParam(StrictModel):
    """A text block in a request message or system prompt."""

    type: Literal["text"] = "text"
    text: str
    cache_control: CacheControl | None = None


class ImageSource(StrictModel):
    """An image given inline (base64) or by URL."""

    type: Literal["base64", "url"]
    media_type: str | None = None
    data: str | None = None
    url: str | None = None


class ImageBlockParam(StrictModel):
    """An image block in a user message."""

    type: Literal["image"] = "image"
    source: ImageSource
    cache_control: CacheControl | None = None


class DocumentSource(StrictModel):
    """A document given inline (``base64`` PDF, plain ``text``), by ``url`` or by ``file_id``."""

    type: Literal["base64", "text", "url", "file"]
    media_type: str | None = None
    data: str | None = None
    url: str | None = None
    file_id: str | None = None


class DocumentBlockParam(StrictModel):
    """A document block (a PDF or plain text) in a user message or tool result."""

    type: Literal["document"] = "document"
    source: DocumentSource
    title: str | None = None
    cache_control: CacheControl | None = None


class ToolUseBlockParam(StrictModel):
    """A tool call made by an earlier assistant turn."""

    type: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]
    cache_control: CacheControl | None = None


class ToolResultBlockParam(StrictModel):
    """The result of a tool call, sent in a user message."""

    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    content: str | list[TextBlockParam | ImageBlockParam | DocumentBlockParam] | None = None
    is_error: bool | None = None
    cache_control: CacheControl | None = None


class ThinkingBlockParam(StrictModel):
    """A signed thinking block of an earlier assistant turn, sent back as it came."""

    type: Literal["thinking"] = "thinking"
    thinking: str
    signature: str


class RedactedThinkingBlockParam(StrictModel):
    """An encrypted (redacted) thinking block of an earlier assistant turn."""

    type: Literal["redacted_thinking"] = "redacted_thinking"
    data: str


RequestBlock = Annotated[
    TextBlockParam
    | ImageBlockParam
    | DocumentBlockParam
    | ToolUseBlockParam
    | ToolResultBlockParam
    | ThinkingBlockParam
    | RedactedThinkingBlockParam,
    Field(discriminator="type"),
]
"""A content block we send."""


class MessageParam(StrictModel):
    """One turn of the conversation (the system prompt travels separately)."""

    role: Literal["user", "assistant"]
    content: str | list[RequestBlock]


class MessagesTool(StrictModel):
    """A tool offered to the model; ``strict`` asks for inputs that follow the schema exactly."""

    name: str
    description: str | None = None
    input_schema: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )
    strict: bool | None = None
    cache_control: CacheControl | None = None


class MessagesRequest(RequestModel):
    """The body of ``POST /v1/messages``. Temperature is limited to 0-1 on this protocol."""

    model: str
    max_tokens: int = Field(ge=1)
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlockParam] | None = None
    temperature: float | None = Field(default=None, ge=0, le=1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=1)
    stop_sequences: list[str] | None = None
    stream: bool | None = None
    tools: list[MessagesTool] | None = None
    tool_choice: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _check_tool_choice(self) -> "MessagesRequest":
        choice = self.tool_choice
        if choice is not None:
            kind = choice.get("type")
            if kind not in ("auto", "any", "tool", "none"):
                raise ValueError(
                    f"tool_choice type must be 'auto', 'any', 'tool' or 'none', got {kind!r}"
                )
            if kind == "tool" and not choice.get("name"):
                raise ValueError("tool_choice {'type': 'tool'} needs the tool's 'name'")
        return self


class CountTokensRequest(RequestModel):
    """The body of ``POST /v1/messages/count_tokens``."""

    model: str
    messages: list[MessageParam] = Field(min_length=1)
    system: str | list[TextBlockParam] | None = None
    tools: list[MessagesTool] | None = None


class CountTokensResponse(ResponseModel):
    """The reply of count_tokens: the number of input tokens the request would use."""

    input_tokens: int


class ContentBlock(ResponseModel):
    """A content block of a reply: ``text``, ``tool_use``, ``thinking`` or another type.

    ``thinking`` blocks carry a ``signature``; ``redacted_thinking`` blocks ``data``.
    """

    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: Any = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None

    @field_validator("input", mode="before")
    @classmethod
    def _input_as_object(cls, value: Any) -> Any:
        """A ``tool_use`` input sent as JSON text rather than an object is read as the object."""
        if isinstance(value, str) and value.strip().startswith("{"):
            try:
                parsed = json.loads(value)
            except ValueError:
                return value
            return parsed if isinstance(parsed, dict) else value
        return value


class MessagesUsage(ResponseModel):
    """Token counts on the Messages protocol."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None


class Message(ResponseModel):
    """A non-streamed Messages reply."""

    id: str | None = None
    type: str | None = None
    role: str = "assistant"
    content: list[ContentBlock] = Field(default_factory=list)
    model: str | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: MessagesUsage | None = None

    @property
    def text(self) -> str:
        """The concatenated text of the reply's text blocks."""
        return "".join(block.text or "" for block in self.content if block.type == "text")


class StreamDelta(ResponseModel):
    """The ``delta`` of a content_block_delta or message_delta event.

    ``partial_json`` is JSON text; an object sent in its place is read as its JSON text.
    """

    type: str | None = None
    text: str | None = None
    partial_json: str | None = None
    thinking: str | None = None
    signature: str | None = None
    stop_reason: str | None = None
    stop_sequence: str | None = None

    @field_validator("partial_json", mode="before")
    @classmethod
    def _partial_json_as_text(cls, value: Any) -> Any:
        return json_text(value)


class MessageStreamEvent(ResponseModel):
    """One event of a streamed Messages reply, discriminated by ``type``.

    ``message_start``: ``message``; ``content_block_start`` / ``_delta``: ``index`` and
    ``content_block`` / ``delta``; ``message_delta``: ``delta`` (``stop_reason``), ``usage``.
    """

    type: str
    message: Message | None = None
    index: int | None = None
    content_block: ContentBlock | None = None
    delta: StreamDelta | None = None
    usage: MessagesUsage | None = None
