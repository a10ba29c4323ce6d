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
        FileData,
        FilePart,
        FunctionCall,
        FunctionDefinition,
        ImagePart,
        ImageURL,
        ReasoningBlock,
        ResponseFunctionCall,
        ResponseMessage,
        ResponseToolCall,
        SignedReasoning,
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
        DocumentBlockParam,
        DocumentSource,
        ImageBlockParam,
        ImageSource,
        Message,
        MessageParam,
        MessagesRequest,
        MessagesTool,
        MessageStreamEvent,
        MessagesUsage,
        RedactedThinkingBlockParam,
        RequestBlock,
        StreamDelta,
        TextBlockParam,
        ThinkingBlockParam,
        ToolResultBlockParam,
        ToolUseBlockParam,
    )
    from modelslab_transport.wire.protocols import ChatAPI, supports_response_format


_MODULE_EXPORTS: dict[str, list[str]] = {
    "catalog": ["ModelInfo", "ModelList"],
    "protocols": ["ChatAPI", "supports_response_format"],
    "chat": [
        "ChatCompletion",
        "ChatCompletionChunk",
        "ChatCompletionRequest",
        "ChatMessage",
        "Choice",
        "ChunkChoice",
        "ContentPart",
        "Delta",
        "FileData",
        "FilePart",
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
    ],
    "messages": [
        "ContentBlock",
        "CountTokensRequest",
        "CountTokensResponse",
        "DocumentBlockParam",
        "DocumentSource",
        "ImageBlockParam",
        "ImageSource",
        "Message",
        "MessageParam",
        "MessagesRequest",
        "MessagesTool",
        "MessageStreamEvent",
        "MessagesUsage",
        "RedactedThinkingBlockParam",
        "RequestBlock",
        "StreamDelta",
        "TextBlockParam",
        "ThinkingBlockParam",
        "ToolResultBlockParam",
        "ToolUseBlockParam",
    ],
}
"""Each submodule's exported names (a test checks them against the submodules' ``__all__``)."""
_EXPORTS = names_by_module(_MODULE_EXPORTS)

__all__ = list(_EXPORTS)

if not TYPE_CHECKING:  # type checkers see the imports above, and no catch-all __getattr__
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
