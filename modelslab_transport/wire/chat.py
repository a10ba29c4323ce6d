"""Wire types of ``POST /chat/completions`` (OpenAI-compatible), request and reply."""

import json
import uuid
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from modelslab_transport.wire._base import RequestModel, ResponseModel, StrictModel

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatMessage",
    "Choice",
    "ChunkChoice",
    "ContentPart",
    "Delta",
    "FunctionCall",
    "FunctionDefinition",
    "ImagePart",
    "ImageURL",
    "ReasoningBlock",
    "ResponseFunctionCall",
    "ResponseMessage",
    "ResponseToolCall",
    "SignedReasoning",
    "StreamOptions",
    "TextPart",
    "Tool",
    "ToolCall",
    "Usage",
    "content_text",
    "json_text",
    "new_tool_call_id",
]


CacheControl = dict[str, Any]
"""A prompt-cache marker in Anthropic's shape (``{"type": "ephemeral", "ttl": "1h"}``)."""

_CACHE_NOTE = (
    "Prompt-cache marker: sent on the Messages protocol; chat completions has no such "
    "field (OpenAI-style servers cache prompt prefixes on their own), so it is not sent there."
)


class TextPart(StrictModel):
    """A text part of a multi-part message content."""

    type: Literal["text"] = "text"
    text: str
    cache_control: CacheControl | None = Field(default=None, exclude=True, description=_CACHE_NOTE)


class ImageURL(StrictModel):
    """An image given by URL or ``data:`` URI."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(StrictModel):
    """An image part of a multi-part message content (for vision models)."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageURL
    cache_control: CacheControl | None = Field(default=None, exclude=True, description=_CACHE_NOTE)


class FileData(StrictModel):
    """A document (a PDF, plain text): inline as a ``data:`` URI, by file id, or by URL.

    ``url`` is sent only on the Messages protocol (chat completions has no form for it).
    """

    filename: str | None = None
    file_data: str | None = None
    file_id: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _check_source(self) -> "FileData":
        given = [name for name in ("file_data", "file_id", "url") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(
                "a file part needs exactly one of file_data (a data: URI), file_id or url, "
                f"got {given or 'none'}"
            )
        if self.file_data is not None and not self.file_data.startswith("data:"):
            raise ValueError("file_data must be a data: URI ('data:<media type>;base64,...')")
        return self


class FilePart(StrictModel):
    """A document part of a multi-part message content (OpenAI's ``file`` part)."""

    type: Literal["file"] = "file"
    file: FileData
    cache_control: CacheControl | None = Field(default=None, exclude=True, description=_CACHE_NOTE)


ContentPart = Annotated[TextPart | ImagePart | FilePart, Field(discriminator="type")]
"""One part of a multi-part message content."""


class FunctionCall(StrictModel):
    """The function an assistant message called, with its JSON-encoded arguments."""

    name: str
    arguments: str


class ToolCall(StrictModel):
    """A tool call made by an earlier assistant turn, sent back in the history.

    Extra fields the provider attached (Gemini's ``thought_signature``) are sent back unchanged.
    """

    model_config = ConfigDict(extra="allow")

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class SignedReasoning(StrictModel):
    """A signed reasoning block of an earlier assistant turn, to send back as it came.

    The signature is checked, so it must come back byte for byte
    (https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking).
    """

    type: Literal["thinking", "redacted_thinking"]
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None

    @model_validator(mode="after")
    def _check_shape(self) -> "SignedReasoning":
        if self.type == "thinking" and not self.signature:
            raise ValueError("a 'thinking' block sent back needs the signature it came with")
        if self.type == "redacted_thinking" and not self.data:
            raise ValueError("a 'redacted_thinking' block sent back needs its 'data'")
        return self


class ChatMessage(StrictModel):
    """One message of the conversation sent to the model.

    ``signed_reasoning`` and ``is_error`` are sent only by the Messages encoder; see
    :mod:`modelslab_transport.chat.reasoning_history` for where reasoning is kept.
    """

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    reasoning_content: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None
    signed_reasoning: list[SignedReasoning] | None = Field(default=None, exclude=True)
    is_error: bool | None = Field(default=None, exclude=True)
    """On a ``tool`` message: the call failed (LangChain's ``ToolMessage(status="error")``)."""

    @model_validator(mode="after")
    def _check_shape(self) -> "ChatMessage":
        if self.role == "tool" and self.tool_call_id is None:
            raise ValueError("a 'tool' message needs the tool_call_id of the call it answers")
        if self.is_error is not None and self.role != "tool":
            raise ValueError(f"only tool messages carry is_error, not {self.role!r}")
        if self.tool_calls and self.role != "assistant":
            raise ValueError(f"only assistant messages carry tool_calls, not {self.role!r}")
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role!r} message needs content")
        return self


class FunctionDefinition(StrictModel):
    """A function the model may call: its name, description and JSON-schema parameters."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    strict: bool | None = None


class Tool(StrictModel):
    """A tool offered to the model (only functions exist)."""

    type: Literal["function"] = "function"
    function: FunctionDefinition
    cache_control: CacheControl | None = Field(default=None, exclude=True, description=_CACHE_NOTE)


class StreamOptions(StrictModel):
    """Streaming options; ``include_usage`` asks for a usage-only final chunk."""

    include_usage: bool | None = None


class ChatCompletionRequest(RequestModel):
    """The body of ``POST /chat/completions``.

    ``max_tokens`` is always sent (see config/defaults.py ``DEFAULT_MAX_TOKENS``); extra
    keyword arguments are sent as given.
    """

    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int = Field(ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    n: int | None = Field(default=None, ge=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    tools: list[Tool] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)

    @model_validator(mode="after")
    def _check_tool_choice(self) -> "ChatCompletionRequest":
        if isinstance(self.tool_choice, str) and self.tool_choice not in (
            "auto",
            "none",
            "required",
        ):
            raise ValueError(
                "tool_choice must be 'auto', 'none', 'required' or "
                "{'type': 'function', 'function': {'name': ...}}, "
                f"got {self.tool_choice!r}"
            )
        return self


def content_text(content: str | list[Any] | None) -> str:
    """The text of a reply's ``content``: a string, a list of text blocks, or null."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "".join(parts)


def json_text(value: Any) -> Any:
    """A JSON object or array given where JSON *text* is expected, as that text (else as is)."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


class ResponseFunctionCall(ResponseModel):
    """A function call in a reply; in a stream, each field may be a fragment or absent."""

    name: str | None = None
    arguments: str | None = None

    @field_validator("arguments", mode="before")
    @classmethod
    def _arguments_as_text(cls, value: Any) -> Any:
        return json_text(value)


def new_tool_call_id() -> str:
    """A new id for a tool call its server sent without one: ``call_`` and 24 random hex digits.

    Random, so that it is unique across a conversation even when the server repeats its
    completion ids; it fits both protocols' id forms (``^[a-zA-Z0-9_-]+$``).
    """
    return f"call_{uuid.uuid4().hex[:24]}"


class ResponseToolCall(ResponseModel):
    """A tool call in a reply or a stream delta (``index`` keys fragments in a stream).

    An empty ``id`` is read as no id.
    """

    index: int | None = None
    id: str | None = None
    type: str | None = None
    function: ResponseFunctionCall = Field(default_factory=ResponseFunctionCall)

    @field_validator("id", mode="after")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None


class ReasoningBlock(ResponseModel):
    """A thinking block of a reply, or a fragment of one (same ``index``) in a stream delta."""

    type: str
    index: int | None = None
    thinking: str | None = None
    signature: str | None = None
    data: str | None = None


class _AssistantContent(ResponseModel):
    """What a reply's assistant message and a stream chunk's delta both carry."""

    role: str | None = None
    content: str | list[Any] | None = None
    reasoning_content: str | None = None
    reasoning_blocks: list[ReasoningBlock] | None = None
    tool_calls: list[ResponseToolCall] | None = None

    @property
    def text(self) -> str:
        """The text, whether content was a string or a list of blocks."""
        content = self.content
        return content if type(content) is str else content_text(content)


class ResponseMessage(_AssistantContent):
    """The assistant message of a non-streamed choice (fields as :class:`Delta`'s).

    A tool call sent without an id gets one from :func:`new_tool_call_id`.
    """

    role: str = "assistant"

    @model_validator(mode="after")
    def _name_calls(self) -> "ResponseMessage":
        for call in self.tool_calls or ():
            if call.id is None:
                call.id = new_tool_call_id()
        return self


class Choice(ResponseModel):
    """One choice of a non-streamed reply."""

    index: int = 0
    message: ResponseMessage = Field(default_factory=ResponseMessage)
    finish_reason: str | None = None
    logprobs: Any = None


class Usage(ResponseModel):
    """Token counts of a reply."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int | None = None
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None

    @property
    def total(self) -> int:
        """``total_tokens`` if sent, else prompt + completion."""
        if self.total_tokens is not None:
            return self.total_tokens
        return self.prompt_tokens + self.completion_tokens


class _ReplyHeader(ResponseModel):
    """The fields a whole reply and a stream chunk both begin with (any may be absent)."""

    id: str | None = None
    object: str | None = None
    created: int | None = None
    model: str | None = None


class ChatCompletion(_ReplyHeader):
    """A non-streamed chat completion. ``id``, ``model`` and ``created`` may be absent."""

    choices: list[Choice] = Field(default_factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None


class Delta(_AssistantContent):
    """What one stream chunk adds to a choice (fields as :class:`ResponseMessage`'s)."""


class ChunkChoice(ResponseModel):
    """One choice of a stream chunk."""

    index: int = 0
    delta: Delta = Field(default_factory=Delta)
    finish_reason: str | None = None
    logprobs: Any = None


class ChatCompletionChunk(_ReplyHeader):
    """One streamed chunk. A usage-only final chunk has ``choices == []``."""

    choices: list[ChunkChoice] = Field(default_factory=list)
    usage: Usage | None = None
    system_fingerprint: str | None = None

    def plain_text(self) -> str | None:
        """The text of a chunk whose one choice (index 0) brings text and nothing else.

        None when the chunk has another number of choices, or its choice brings a
        finish reason, logprobs, tool calls or reasoning, or no string content. The
        chunk's id, model and usage are not looked at.
        """
        choices = self.choices
        if len(choices) != 1:
            return None
        only = choices[0]
        delta = only.delta
        text = delta.content
        if (
            type(text) is not str
            or only.index
            or only.logprobs is not None
            or only.finish_reason
            or delta.tool_calls
            or delta.reasoning_content
            or delta.reasoning_blocks
        ):
            return None
        return text
