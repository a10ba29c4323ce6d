"""Framework-neutral reply logic: accumulation, completeness, think tags, tool calls.

Names are imported from their modules on first access.
"""

from typing import TYPE_CHECKING

from modelslab_transport._lazy import lazy_exports, names_by_module

if TYPE_CHECKING:
    from modelslab_transport.chat.accumulate import (
        ChatStreamAccumulator,
        ToolCallDelta,
    )
    from modelslab_transport.chat.completeness import (
        Incompleteness,
        IncompleteReplyError,
        incompleteness,
        judge_tool_calls,
        require_whole,
    )
    from modelslab_transport.chat.reasoning_history import (
        apply_reasoning_rules,
    )
    from modelslab_transport.chat.strict_schema import (
        drop_nulls_of_optional,
        strict_json_schema,
    )
    from modelslab_transport.chat.think_tags import (
        ThinkTagStream,
        split_completion,
    )
    from modelslab_transport.chat.tool_calls import (
        TOOL_CALL_FIELDS_KEY,
        ToolArgumentsError,
        chat_tool_choice,
        json_schema_response_format,
        parse_partial_json,
        parse_tool_arguments,
        stored_provider_fields,
    )

_MODULE_EXPORTS: dict[str, list[str]] = {
    "accumulate": ["ChatStreamAccumulator", "ToolCallDelta"],
    "completeness": [
        "IncompleteReplyError",
        "Incompleteness",
        "incompleteness",
        "judge_tool_calls",
        "require_whole",
    ],
    "reasoning_history": ["apply_reasoning_rules"],
    "strict_schema": ["drop_nulls_of_optional", "strict_json_schema"],
    "think_tags": ["ThinkTagStream", "split_completion"],
    "tool_calls": [
        "TOOL_CALL_FIELDS_KEY",
        "ToolArgumentsError",
        "chat_tool_choice",
        "json_schema_response_format",
        "parse_partial_json",
        "parse_tool_arguments",
        "stored_provider_fields",
    ],
}
"""Each submodule's exported names, imported on first access."""
_EXPORTS = names_by_module(_MODULE_EXPORTS)

__all__ = list(_EXPORTS)

if not TYPE_CHECKING:  # type checkers see the imports above
    __getattr__, __dir__ = lazy_exports(__name__, globals(), _EXPORTS)
