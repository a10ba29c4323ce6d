"""Pydantic wire types for every ModelsLab LLM endpoint.

Each name is imported from its module (``catalog``, ``chat``, ``messages``) on first
access, so that ``from modelslab_transport.wire.chat import ...`` does not build the
Messages types too.
"""

from typing import TYPE_CHECKING

from modelslab_transport._lazy import lazy_exports, names_by_module

if TYPE_CHECKING:
    from modelslab_transport.wire.catalog import ModelInfo, ModelList
    from modelslab_transport.wire.chat import (
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionRequest,
        ChatMessage,
        Choice,
        ChunkChoice,
        ContentPart,
        Delta,
        FunctionCall,
        FunctionDefinition,
        ImagePart,
        ImageURL,
        ResponseFunctionCall,
        ResponseMessage,
        ResponseToolCall,
        StreamOptions,
        TextPart,
        Tool,
        ToolCall,
        Usage,
        content_text,
    )
    from modelslab_transport.wire.messages import (
        ContentBlock,
        CountTokensRequest,
        CountTokensResponse,
        ImageBlockParam,
        ImageSource,
        Message,
        MessageParam,
        MessagesRequest,
        MessagesTool,
        MessageStreamEvent,
        MessagesUsage,
        RequestBlock,
        StreamDelta,
        TextBlockParam,
        ToolResultBlockParam,
        ToolUseBlockParam,
    )

__all__ = [
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionRequest",
    "ChatMessage",
    "Choice",
    "ChunkChoice",
    "ContentBlock",
    "ContentPart",
    "CountTokensRequest",
    "CountTokensResponse",
    "Delta",
    "FunctionCall",
    "FunctionDefinition",
    "ImageBlockParam",
    "ImagePart",
    "ImageSource",
    "ImageURL",
    "Message",
    "MessageParam",
    "MessageStreamEvent",
    "MessagesRequest",
    "MessagesTool",
    "MessagesUsage",
    "ModelInfo",
    "ModelList",
    "RequestBlock",
    "ResponseFunctionCall",
    "ResponseMessage",
    "ResponseToolCall",
    "StreamDelta",
    "StreamOptions",
    "TextBlockParam",
    "TextPart",
    "Tool",
    "ToolCall",
    "ToolResultBlockParam",
    "ToolUseBlockParam",
    "Usage",
    "content_text",
]

_EXPORTS = names_by_module(
    {
        "catalog": ["ModelInfo", "ModelList"],
        "chat": [
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
            "ResponseFunctionCall",
            "ResponseMessage",
            "ResponseToolCall",
            "StreamOptions",
            "TextPart",
            "Tool",
            "ToolCall",
            "Usage",
            "content_text",
        ],
        "messages": [
            "ContentBlock",
            "CountTokensRequest",
            "CountTokensResponse",
            "ImageBlockParam",
            "ImageSource",
            "Message",
            "MessageParam",
            "MessagesRequest",
            "MessagesTool",
            "MessageStreamEvent",
            "MessagesUsage",
            "RequestBlock",
            "StreamDelta",
            "TextBlockParam",
            "ToolResultBlockParam",
            "ToolUseBlockParam",
        ],
    }
)

if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all __getattr__
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
