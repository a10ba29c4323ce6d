"""The framework floors: the chunks of scenario 1 through each framework.

A bare ``BaseChatModel`` subclass and a bare ``FunctionCallingLLM`` subclass yield the
same 2,000 pieces of text the loopback server streams (``tok0 ``, ``tok1 ``, ...) and a
last chunk with the finish reason and token usage, through the same framework stream
path our classes use (LangChain's ``BaseChatModel.stream`` with its callbacks and
chunk merging; LlamaIndex's ``llm_chat_callback`` instrumentation around
``stream_chat``). Each builds its chunks as the least an integration of that framework
builds: LangChain ``AIMessageChunk`` with the ``model_provider`` every v1 integration
sets, LlamaIndex ``ChatResponse`` with the message so far and the delta. So
``ChatModelsLab.stream / floor`` is what our HTTP, decoding and conversion add on top of
what LangChain itself costs.

The HTTP floors (:func:`langchain_http_floor`, :func:`llama_index_http_floor`) are the
same bare subclasses reading the loopback server's stream over httpx2 with
``iter_lines`` + ``json.loads`` (the cheapest HTTP), and yielding the same chunks: what
the framework costs plus the least any HTTP client costs. Scenario 1's goals for our
classes are ratios to these.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def _pieces(chunks: int) -> list[str]:
    return [f"tok{i} " for i in range(chunks)]


def langchain_floor(chunks: int) -> Any:
    """A ``BaseChatModel`` whose ``_stream`` yields ``chunks`` text chunks and a usage chunk."""
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessageChunk, BaseMessage
    from langchain_core.outputs import ChatGenerationChunk, ChatResult

    pieces = _pieces(chunks)

    class FloorChatModel(BaseChatModel):
        """Yields prepared text; no request, no decoding."""

        @property
        def _llm_type(self) -> str:
            return "benchmark-floor"

        def _generate(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
        ) -> ChatResult:
            raise NotImplementedError("the floor only streams")

        def _stream(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
        ) -> Iterator[ChatGenerationChunk]:
            metadata = {"model_provider": "floor"}
            for piece in pieces:
                chunk = ChatGenerationChunk(
                    message=AIMessageChunk(content=piece, response_metadata=metadata)
                )
                if run_manager is not None:
                    run_manager.on_llm_new_token(piece, chunk=chunk)
                yield chunk
            final = ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    usage_metadata={
                        "input_tokens": 10,
                        "output_tokens": chunks,
                        "total_tokens": 10 + chunks,
                    },
                    response_metadata={"finish_reason": "stop", "model_name": "bench-model"},
                    chunk_position="last",
                ),
            )
            if run_manager is not None:
                run_manager.on_llm_new_token("", chunk=final)
            yield final

    return FloorChatModel()


def llama_index_floor(chunks: int) -> Any:
    """A ``FunctionCallingLLM`` whose ``stream_chat`` yields ``chunks`` responses and usage."""
    from llama_index.core.base.llms.types import (
        ChatMessage,
        ChatResponse,
        ChatResponseAsyncGen,
        ChatResponseGen,
        CompletionResponse,
        CompletionResponseAsyncGen,
        CompletionResponseGen,
        LLMMetadata,
        MessageRole,
    )
    from llama_index.core.llms.callbacks import llm_chat_callback
    from llama_index.core.llms.function_calling import FunctionCallingLLM

    pieces = _pieces(chunks)

    class FloorLLM(FunctionCallingLLM):
        """Yields prepared text; no request, no decoding."""

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(is_chat_model=True, is_function_calling_model=True)

        @llm_chat_callback()  # type: ignore[misc]
        def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
            def responses() -> ChatResponseGen:
                text = ""
                for piece in pieces:
                    text += piece
                    yield ChatResponse(
                        message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                        delta=piece,
                    )
                yield ChatResponse(
                    message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                    delta="",
                    additional_kwargs={
                        "prompt_tokens": 10,
                        "completion_tokens": chunks,
                        "total_tokens": 10 + chunks,
                    },
                )

            return responses()

        def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            raise NotImplementedError

        def complete(self, prompt: str, formatted: bool = False, **kw: Any) -> CompletionResponse:
            raise NotImplementedError

        def stream_complete(
            self, prompt: str, formatted: bool = False, **kw: Any
        ) -> CompletionResponseGen:
            raise NotImplementedError

        async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
            raise NotImplementedError

        async def acomplete(
            self, prompt: str, formatted: bool = False, **kw: Any
        ) -> CompletionResponse:
            raise NotImplementedError

        async def astream_chat(
            self, messages: Sequence[ChatMessage], **kwargs: Any
        ) -> ChatResponseAsyncGen:
            raise NotImplementedError

        async def astream_complete(
            self, prompt: str, formatted: bool = False, **kw: Any
        ) -> CompletionResponseAsyncGen:
            raise NotImplementedError

        def _prepare_chat_with_tools(self, tools: Any, **kwargs: Any) -> dict[str, Any]:
            raise NotImplementedError

    return FloorLLM()


# -- the floors with HTTP: the framework's own cost plus the cheapest HTTP ---------------


def _request_body() -> dict[str, Any]:
    from benchmarks.workload import MAX_TOKENS, MODEL, PROMPT

    return {
        "model": MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": MAX_TOKENS,
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def _events(client: Any, url: str, headers: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The stream's JSON events: httpx2 ``iter_lines`` and ``json.loads`` per ``data:`` line."""
    import json

    with client.stream("POST", url, json=_request_body(), headers=headers) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                yield json.loads(data)


def langchain_http_floor(client: Any, base_url: str, api_key: str) -> Any:
    """A bare ``BaseChatModel`` that streams from ``base_url`` over ``client`` (httpx2).

    Its ``_stream`` reads the reply with ``iter_lines`` + ``json.loads`` and yields an
    ``AIMessageChunk`` (with ``model_provider``) per piece of text, then one with the
    finish reason, model name and usage: the chunks ``ChatModelsLab.stream`` yields.
    """
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessageChunk, BaseMessage
    from langchain_core.outputs import ChatGenerationChunk, ChatResult

    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"authorization": f"Bearer {api_key}"}

    class HTTPFloorChatModel(BaseChatModel):
        """Streams over bare httpx2; no validation, no error handling."""

        @property
        def _llm_type(self) -> str:
            return "benchmark-http-floor"

        def _generate(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
        ) -> ChatResult:
            raise NotImplementedError("the floor only streams")

        def _stream(
            self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **_: Any
        ) -> Iterator[ChatGenerationChunk]:
            metadata = {"model_provider": "floor"}
            usage, finish, model = None, None, None
            for event in _events(client, url, headers):
                model = model or event.get("model")
                if event.get("usage"):
                    usage = event["usage"]
                for choice in event["choices"]:
                    finish = choice.get("finish_reason") or finish
                    piece = choice["delta"].get("content")
                    if piece:
                        chunk = ChatGenerationChunk(
                            message=AIMessageChunk(content=piece, response_metadata=metadata)
                        )
                        if run_manager is not None:
                            run_manager.on_llm_new_token(piece, chunk=chunk)
                        yield chunk
            final = ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    usage_metadata={
                        "input_tokens": usage["prompt_tokens"],
                        "output_tokens": usage["completion_tokens"],
                        "total_tokens": usage["total_tokens"],
                    }
                    if usage
                    else None,
                    response_metadata={"finish_reason": finish, "model_name": model},
                    chunk_position="last",
                ),
            )
            if run_manager is not None:
                run_manager.on_llm_new_token("", chunk=final)
            yield final

    return HTTPFloorChatModel()


def llama_index_http_floor(client: Any, base_url: str, api_key: str) -> Any:
    """A bare ``FunctionCallingLLM`` that streams from ``base_url`` over ``client`` (httpx2).

    Its ``stream_chat`` (under ``llm_chat_callback``) reads the reply with
    ``iter_lines`` + ``json.loads`` and yields a ``ChatResponse`` with the text so far and
    the delta per piece of text, then one with the usage: what ``ModelsLabLLM`` yields.
    """
    from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
    from llama_index.core.llms.callbacks import llm_chat_callback

    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"authorization": f"Bearer {api_key}"}
    base = type(llama_index_floor(0))

    class HTTPFloorLLM(base):  # type: ignore[misc, valid-type]
        """Streams over bare httpx2; no validation, no error handling."""

        @llm_chat_callback()  # type: ignore[misc]
        def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> Any:
            def responses() -> Iterator[ChatResponse]:
                text, usage = "", None
                for event in _events(client, url, headers):
                    if event.get("usage"):
                        usage = event["usage"]
                    for choice in event["choices"]:
                        piece = choice["delta"].get("content")
                        if piece:
                            text += piece
                            yield ChatResponse(
                                message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                                delta=piece,
                            )
                yield ChatResponse(
                    message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                    delta="",
                    additional_kwargs=dict(usage or {}),
                )

            return responses()

    return HTTPFloorLLM()
