"""ModelsLab replies -> LangChain messages.

Turns a :class:`ChatCompletion` or a stream of :class:`ChatCompletionChunk` objects into
LangChain messages with ``tool_calls``, ``usage_metadata`` and ``response_metadata``,
keeping reasoning where :mod:`langchain_modelslab.conversions` describes, and registers
the content-block translator that shows signed thinking as standard ``reasoning``
blocks. Nothing here sends a request.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    InvalidToolCall,
    ToolCallChunk,
)
from langchain_core.messages import ToolCall as LangChainToolCall
from langchain_core.messages import content as types
from langchain_core.messages.ai import InputTokenDetails, OutputTokenDetails, UsageMetadata
from langchain_core.messages.block_translators import register_translator
from langchain_core.messages.tool import invalid_tool_call, tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from langchain_modelslab.conversions import (
    MODEL_PROVIDER,
    REASONING_KEY,
    THINKING_BLOCKS_KEY,
)
from modelslab_transport import wire
from modelslab_transport.chat import (
    TOOL_CALL_FIELDS_KEY,
    ChatStreamAccumulator,
    Incompleteness,
    IncompleteReplyError,
    ThinkTagStream,
    ToolCallDelta,
    incompleteness,
    judge_tool_calls,
    split_completion,
)
from modelslab_transport.wire import ChatCompletionChunk

__all__ = [
    "StreamConverter",
    "completion_from_wire",
    "usage_from_wire",
    "whole_reply_problem",
]


# ------------------------------------------------------------- wire -> LangChain


def usage_from_wire(usage: wire.Usage) -> UsageMetadata:
    """Wire token counts as LangChain ``usage_metadata`` (with cache/reasoning details).

    ``prompt_tokens_details.cached_tokens`` is ``cache_read``, ``cache_creation_tokens``
    (the Messages bridge's, from Anthropic's ``cache_creation_input_tokens``)
    ``cache_creation``; ``completion_tokens_details.reasoning_tokens`` is ``reasoning``.
    """
    metadata = UsageMetadata(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total,
    )
    prompt_details = usage.prompt_tokens_details or {}
    input_details = InputTokenDetails()
    for wire_name, name in (
        ("cached_tokens", "cache_read"),
        ("cache_creation_tokens", "cache_creation"),
    ):
        count = prompt_details.get(wire_name)
        if isinstance(count, int) and not isinstance(count, bool):
            input_details[name] = count  # type: ignore[literal-required]
    if input_details:
        metadata["input_token_details"] = input_details
    reasoning = (usage.completion_tokens_details or {}).get("reasoning_tokens")
    if isinstance(reasoning, int):
        metadata["output_token_details"] = OutputTokenDetails(reasoning=reasoning)
    return metadata


def _tool_calls(
    calls: list[wire.ResponseToolCall], incomplete: Incompleteness | None
) -> tuple[list[LangChainToolCall], list[InvalidToolCall]]:
    """Valid and invalid calls, by :func:`~modelslab_transport.chat.completeness.judge_tool_calls`.

    An invalid call's ``error`` says why (cut off, naming the setting to change, or not
    valid JSON); its ``args`` are the text as it arrived.
    """
    valid: list[LangChainToolCall] = []
    invalid: list[InvalidToolCall] = []
    for call, judged in zip(calls, judge_tool_calls(calls, incomplete), strict=True):
        name = call.function.name or ""
        call_id = call.id  # the decoder gives every call an id
        if isinstance(judged, IncompleteReplyError):
            invalid.append(
                invalid_tool_call(
                    name=name, args=call.function.arguments, id=call_id, error=str(judged)
                )
            )
        else:
            valid.append(tool_call(name=name, args=judged, id=call_id))
    return valid, invalid


def whole_reply_problem(message: AIMessage) -> IncompleteReplyError | None:
    """The error a final result built from ``message`` would hide, or None.

    A message that did not finish (its ``response_metadata["finish_reason"]`` read by
    :func:`~modelslab_transport.chat.completeness.incompleteness`), or one with invalid tool
    calls, cannot give a whole result.
    """
    incomplete = incompleteness(message.response_metadata.get("finish_reason"))
    if message.invalid_tool_calls:
        first = message.invalid_tool_calls[0]
        return IncompleteReplyError(first.get("error") or "invalid tool call", incomplete)
    if incomplete is not None:
        return IncompleteReplyError(f"the reply is not whole: {incomplete.message}", incomplete)
    return None


def _response_metadata(
    model: str | None, completion_id: str | None, fingerprint: str | None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"model_provider": MODEL_PROVIDER}
    if model:
        metadata["model_name"] = model
    if completion_id:
        metadata["id"] = completion_id
    if fingerprint:
        metadata["system_fingerprint"] = fingerprint
    return metadata


def _thinking_blocks(blocks: list[wire.ReasoningBlock]) -> list[dict[str, Any]]:
    """Signed / redacted reasoning blocks in Anthropic's shape (as ChatAnthropic keeps them)."""
    shaped: list[dict[str, Any]] = []
    for block in blocks:
        if block.type == "redacted_thinking":
            shaped.append({"type": "redacted_thinking", "data": block.data or ""})
        elif block.signature:
            shaped.append(
                {"type": "thinking", "thinking": block.thinking or "", "signature": block.signature}
            )
    return shaped


def _tool_call_fields(calls: list[wire.ResponseToolCall]) -> dict[str, dict[str, Any]]:
    """The opaque provider fields of each tool call, by the call's id."""
    fields: dict[str, dict[str, Any]] = {}
    for call in calls:
        if call.model_extra and call.id:
            fields[call.id] = dict(call.model_extra)
    return fields


def _reasoning_kwargs(
    reasoning: str | None,
    blocks: list[wire.ReasoningBlock] | None,
    calls: list[wire.ResponseToolCall] | None,
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if reasoning:
        extra[REASONING_KEY] = reasoning
    thinking = _thinking_blocks(blocks or [])
    if thinking:
        extra[THINKING_BLOCKS_KEY] = thinking
    fields = _tool_call_fields(calls or [])
    if fields:
        extra[TOOL_CALL_FIELDS_KEY] = fields
    return extra


def completion_from_wire(
    completion: wire.ChatCompletion, *, requested_model: str, split_think_tags: bool = True
) -> ChatResult:
    """A whole chat completion as a LangChain ``ChatResult`` (one generation per choice).

    ``usage_metadata`` goes on the first generation's message (it counts the whole
    request); ``llm_output`` carries the raw ``token_usage`` and the model name.
    Reasoning, signed thinking blocks and opaque tool-call fields go into
    ``additional_kwargs`` (see the module doc). With ``split_think_tags``, reasoning
    written inline as a leading ``<think>...</think>`` moves out of ``content``.
    """
    if split_think_tags:
        completion = split_completion(completion)
    model = completion.model or requested_model
    generations: list[ChatGeneration] = []
    for position, choice in enumerate(completion.choices):
        valid, invalid = _tool_calls(
            choice.message.tool_calls or [], incompleteness(choice.finish_reason)
        )
        extra = _reasoning_kwargs(
            choice.message.reasoning_content,
            choice.message.reasoning_blocks,
            choice.message.tool_calls,
        )
        message = AIMessage(
            content=choice.message.text,
            additional_kwargs=extra,
            tool_calls=valid,
            invalid_tool_calls=invalid,
            usage_metadata=(
                usage_from_wire(completion.usage)
                if completion.usage is not None and position == 0
                else None
            ),
            # The server's id stays in response_metadata["id"]: some servers repeat
            # ids, and LangGraph's add_messages would replace an earlier message with
            # this one. LangChain gives the message its own run id (lc_run-...).
            response_metadata=_response_metadata(
                model, completion.id, completion.system_fingerprint
            ),
        )
        info: dict[str, Any] = {"finish_reason": choice.finish_reason, **_stop_reason(choice)}
        if choice.logprobs is not None:
            info["logprobs"] = choice.logprobs
        generations.append(ChatGeneration(message=message, generation_info=info))
    llm_output: dict[str, Any] = {"model_name": model, "model_provider": MODEL_PROVIDER}
    if completion.usage is not None:
        llm_output["token_usage"] = completion.usage.model_dump(exclude_none=True)
    if completion.system_fingerprint:
        llm_output["system_fingerprint"] = completion.system_fingerprint
    return ChatResult(generations=generations, llm_output=llm_output)


def _stop_reason(choice: wire.Choice | wire.ChunkChoice) -> dict[str, str]:
    """``{"stop_reason": ...}`` when a choice carries the server's own as text, else ``{}``.

    That is the Messages reason as sent (``"max_tokens"``, ``"refusal"``..., under
    ChatAnthropic's key), or the stop string vLLM matched.
    """
    extra = choice.__pydantic_extra__
    reason = extra.get("stop_reason") if extra else None
    return {"stop_reason": reason} if isinstance(reason, str) else {}


def _tool_call_chunk(delta: ToolCallDelta) -> ToolCallChunk:
    """A LangChain tool-call chunk for what one wire chunk added to one call.

    The chunk that begins a call carries its id (the server's, or one the accumulator
    made); later ones only the name and argument text they add, with the index that
    joins them.
    """
    call_id = delta.id if delta.started else None
    return tool_call_chunk(
        name=delta.name or None, args=delta.arguments, id=call_id, index=delta.index
    )


class StreamConverter:
    """Turns the chunks of one chat stream into LangChain generation chunks.

    Content, reasoning and tool-call fragments are passed on as they arrive (tool-call
    fragments as ``tool_call_chunks`` with their ``index``, resolved by
    :class:`ChatStreamAccumulator`). Only the first choice is shown, as ChatOpenAI
    does (LangChain adds every chunk of a stream into one message). ``finish_reason``
    rides on the first chunk that brought one (LangChain would join a repeated one
    into a reason nothing reads); per-token ``logprobs`` ride on every chunk that has
    them (as ChatOpenAI's do), so the added-up message has them all in
    ``response_metadata["logprobs"]``. Usage, model name, id, fingerprint, signed
    thinking blocks and opaque tool-call fields are held back and sent exactly once,
    by :meth:`finish`, so that adding the chunks up never counts or concatenates them
    twice. With ``split_think_tags``, leading inline ``<think>`` reasoning moves to
    ``reasoning_content``, wherever the
    chunks cut the tags.
    """

    def __init__(self, requested_model: str, *, split_think_tags: bool = True) -> None:
        self._requested_model = requested_model
        self._accumulator = ChatStreamAccumulator()
        self._think_tags = ThinkTagStream() if split_think_tags else None
        self._finish_reason: str | None = None
        # The first choice is past any leading <think> reasoning, and the accumulator has
        # had a chunk of it (see :meth:`convert`).
        self._through = self._think_tags is None
        self._first_folded = False

    def convert(self, chunk: ChatCompletionChunk) -> list[ChatGenerationChunk]:
        """The generation chunks one wire chunk adds (none for a usage-only chunk)."""
        text = chunk.plain_text() if self._through else None
        if text is not None:
            # The usual chunk: a piece of text, nothing else. The generation chunk is the
            # one the general path below builds for it, built directly; the think-tag
            # splitter would pass it unchanged, and the accumulator needs only what it
            # brings to the closing chunk (the first choice, id, model, fingerprint,
            # usage), if anything: this converter reads no text from it.
            acc = self._accumulator
            if (
                not self._first_folded
                or chunk.usage is not None
                or (chunk.id and not acc.id)
                or (chunk.model and not acc.model)
                or (chunk.system_fingerprint and not acc.system_fingerprint)
            ):
                acc.add(chunk)
                self._first_folded = True
            if not text:
                return []
            message = AIMessageChunk(
                content=text, response_metadata={"model_provider": MODEL_PROVIDER}
            )
            return [ChatGenerationChunk(message=message)]
        if self._think_tags is not None:
            chunk = self._think_tags.split(chunk)
            if not self._through:
                self._through = self._think_tags.passing_through(0)
        tool_deltas = self._accumulator.add_with_tool_deltas(chunk)
        converted: list[ChatGenerationChunk] = []
        for choice in chunk.choices:
            if choice.index:
                continue
            delta = choice.delta
            calls = (
                [
                    _tool_call_chunk(d)
                    for d in tool_deltas
                    if d.choice == choice.index and (d.started or d.name or d.arguments)
                ]
                if tool_deltas
                else None
            )
            text = delta.text
            logprobs = choice.logprobs
            reasoning = delta.reasoning_content
            finish_reason = choice.finish_reason
            if finish_reason:
                if self._finish_reason is None:
                    self._finish_reason = finish_reason
                else:
                    finish_reason = None
            if not (text or calls or reasoning or finish_reason or logprobs):
                continue
            # Only non-empty fields are passed: each keyword costs validation, and the
            # empty ones are the defaults anyway (a text chunk is the common case).
            metadata = {"model_provider": MODEL_PROVIDER}
            if reasoning or calls:
                fields: dict[str, Any] = {"response_metadata": metadata}
                if reasoning:
                    fields["additional_kwargs"] = {"reasoning_content": reasoning}
                if calls:
                    fields["tool_call_chunks"] = calls
                message = AIMessageChunk(content=text, **fields)
            else:
                message = AIMessageChunk(content=text, response_metadata=metadata)
            info: dict[str, Any] | None = None
            if finish_reason:
                info = {"finish_reason": finish_reason, **_stop_reason(choice)}
            if logprobs is not None:
                info = {**(info or {}), "logprobs": logprobs}
            if info is None:  # no keyword for the default: each costs validation
                converted.append(ChatGenerationChunk(message=message))
            else:
                converted.append(ChatGenerationChunk(message=message, generation_info=info))
        return converted

    def finish(self) -> ChatGenerationChunk:
        """The closing chunk: usage (if the server sent any), model name, id, fingerprint.

        It also carries the first choice's signed thinking blocks and opaque tool-call
        fields, and any text the think-tag splitter still held (a stream cut short).
        """
        text = ""
        reasoning: str | None = None
        if self._think_tags is not None:
            rest = self._think_tags.flush()
            if rest is not None:
                self._accumulator.add(rest)
                for choice in rest.choices:
                    if choice.index == 0:
                        text, reasoning = choice.delta.text, choice.delta.reasoning_content
        acc = self._accumulator
        completion = acc.completion()
        first = completion.choices[0].message if completion.choices else None
        extra = _reasoning_kwargs(
            reasoning,
            first.reasoning_blocks if first is not None else None,
            first.tool_calls if first is not None else None,
        )
        message = AIMessageChunk(
            content=text,
            additional_kwargs=extra,
            usage_metadata=usage_from_wire(acc.usage) if acc.usage is not None else None,
            response_metadata=_response_metadata(
                acc.model or self._requested_model, acc.id, acc.system_fingerprint
            ),
            chunk_position="last",
        )
        return ChatGenerationChunk(message=message)

    def tool_call_problem(self) -> IncompleteReplyError | None:
        """Why the first choice's tool calls cannot be used, once the stream ended; or None.

        LangChain adds streamed tool-call chunks up by repairing partial JSON, and an
        added-up ``AIMessageChunk`` cannot carry an invalid call's error; so a stream
        whose calls were cut off (or are not valid JSON) ends with this error instead
        of a message whose tool would run on arguments that did not arrive whole.
        """
        acc = self._accumulator
        judged = judge_tool_calls(acc.tool_calls(0), acc.incomplete(0))
        return next((item for item in judged if isinstance(item, IncompleteReplyError)), None)


# ------------------------------------------------------------ content blocks


def _standard_reasoning(block: dict[str, Any]) -> types.ContentBlock:
    if block.get("type") == "redacted_thinking":
        return types.NonStandardContentBlock(type="non_standard", value=dict(block))
    return types.ReasoningContentBlock(
        type="reasoning",
        reasoning=block.get("thinking") or "",
        extras={"signature": block.get("signature")},
    )


def _with_signed_reasoning(message: AIMessage, translate: Any) -> list[types.ContentBlock]:
    """Standard blocks for a message that holds signed thinking blocks.

    Messages without them raise ``NotImplementedError``, which makes LangChain use its
    own best-effort parsing (it reads ``reasoning_content`` itself).
    """
    stored = message.additional_kwargs.get(THINKING_BLOCKS_KEY)
    if not isinstance(stored, list) or not stored:
        raise NotImplementedError
    plain = message.model_copy(
        update={
            "additional_kwargs": {
                k: v
                for k, v in message.additional_kwargs.items()
                if k not in (THINKING_BLOCKS_KEY, REASONING_KEY)
            },
            "response_metadata": {
                k: v for k, v in message.response_metadata.items() if k != "model_provider"
            },
        }
    )
    reasoning = [_standard_reasoning(block) for block in stored if isinstance(block, dict)]
    rest: list[types.ContentBlock] = translate(plain)
    return reasoning + [block for block in rest if block.get("type") != "reasoning"]


def _translate_content(message: AIMessage) -> list[types.ContentBlock]:
    return _with_signed_reasoning(message, lambda plain: plain.content_blocks)


def _translate_content_chunk(message: AIMessageChunk) -> list[types.ContentBlock]:
    return _with_signed_reasoning(message, lambda plain: plain.content_blocks)


register_translator(MODEL_PROVIDER, _translate_content, _translate_content_chunk)
