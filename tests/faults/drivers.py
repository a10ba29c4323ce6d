"""The two framework classes as test drivers: one call shape per class, sync and async.

A :class:`Driver` sends one prompt through ``ChatModelsLab`` (``invoke``, ``ainvoke``,
``stream``, ``astream``) or ``ModelsLabLLM`` (``chat``, ``achat``, ``stream_chat``,
``astream_chat``) to a base URL and returns an :class:`Outcome`: the text pieces the
caller received, in order, and the error that ended the call, if any. Every run is
bounded (:func:`bounded`): a call that hangs fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from langchain_core.exceptions import (
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelInvalidRequestError,
    ModelRateLimitError,
    ModelTimeoutError,
)
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from langchain_modelslab import ChatModelsLab
from langchain_modelslab.errors import (
    ModelsLabAPIStatusError,
    ModelsLabAuthenticationError,
    ModelsLabConnectionError,
    ModelsLabIncompleteStreamError,
    ModelsLabInvalidResponseError,
    ModelsLabLocalRequestError,
    ModelsLabRateLimitError,
    ModelsLabRedirectError,
    ModelsLabServerError,
    ModelsLabTimeoutError,
)
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    IncompleteStreamError,
    InvalidResponseError,
    LocalRequestError,
    ModelsLabError,
    RateLimitError,
    RedirectError,
    ServerError,
)

__all__ = [
    "ALL_DRIVERS",
    "FAKE_KEY",
    "HARD_LIMIT",
    "QUIET_STREAM_CHUNK_TIMEOUT",
    "STREAM_CHUNK_TIMEOUT",
    "STREAM_DRIVERS",
    "Driver",
    "Framework",
    "Outcome",
    "assert_typed_error",
    "bounded",
    "make_model",
]

FAKE_KEY = "sk-faults-Q7vX2mK9pL4wR8tZ3nB6yH1cJ5dF0gS"
"""A recognisable fake API key: the fault tests assert it never leaks, even in part."""

HARD_LIMIT = 20.0
"""No single driver run may take longer than this (seconds); longer is a hang."""

STREAM_CHUNK_TIMEOUT = 0.5
"""The per-event stream timeout the stall scenarios set (they pass it themselves)."""

QUIET_STREAM_CHUNK_TIMEOUT = 5.0
"""The per-event stream timeout every driver sets otherwise: far above any gap a
scenario that does not stall leaves (a starved CPU can delay a loopback event by a
second), far below :data:`HARD_LIMIT`."""

REQUEST_TIMEOUT = 5.0
"""The timeout for non-streamed replies every driver sets."""

Framework = Literal["langchain", "llama_index"]
OnPiece = Callable[[list[str]], None]
T = TypeVar("T")


@dataclass
class Outcome:
    """What the caller of one framework call saw."""

    pieces: list[str] = field(default_factory=list)
    """The non-empty text pieces received, in order (one for a non-streamed call)."""
    error: Exception | None = None
    """The exception that ended the call, or None if it returned normally."""

    @property
    def text(self) -> str:
        """All the text received."""
        return "".join(self.pieces)


def bounded(name: str, work: Callable[[], T], limit: float = HARD_LIMIT) -> T:
    """Run ``work`` in a daemon thread; fail (not hang) if it takes over ``limit`` s."""
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller's thread below
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"fault-driver {name}", daemon=True)
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise AssertionError(f"{name} did not finish within {limit} s: it hangs")
    if failure:
        raise failure[0]
    return result[0]


def make_model(framework: Framework, base_url: str, **fields: Any) -> Any:
    """A ChatModelsLab or ModelsLabLLM for ``base_url`` with the suite's small timeouts."""
    options: dict[str, Any] = {
        "model": "fault-model",
        "api_key": FAKE_KEY,
        "base_url": base_url,
        "max_retries": 2,
        "timeout": REQUEST_TIMEOUT,
        "stream_chunk_timeout": QUIET_STREAM_CHUNK_TIMEOUT,
        "max_tokens": 32,
    }
    options.update(fields)
    if framework == "langchain":
        return ChatModelsLab(**options)
    return ModelsLabLLM(**options)


def _li_prompt(prompt: str) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=prompt)]


def _add(outcome: Outcome, text: Any, on_piece: OnPiece | None) -> None:
    assert isinstance(text, str), f"expected text, got {text!r}"
    if text:
        outcome.pieces.append(text)
        if on_piece is not None:
            on_piece(outcome.pieces)


# ------------------------------------------------------------------ sync calls


def _lc_invoke(llm: ChatModelsLab, prompt: str, outcome: Outcome, on_piece: OnPiece | None) -> None:
    _add(outcome, llm.invoke(prompt).content, on_piece)


def _lc_stream(llm: ChatModelsLab, prompt: str, outcome: Outcome, on_piece: OnPiece | None) -> None:
    for message in llm.stream(prompt):
        _add(outcome, message.content, on_piece)


def _li_chat(llm: ModelsLabLLM, prompt: str, outcome: Outcome, on_piece: OnPiece | None) -> None:
    _add(outcome, llm.chat(_li_prompt(prompt)).message.content, on_piece)


def _li_stream_chat(
    llm: ModelsLabLLM, prompt: str, outcome: Outcome, on_piece: OnPiece | None
) -> None:
    for response in llm.stream_chat(_li_prompt(prompt)):
        _add(outcome, response.delta or "", on_piece)


# ----------------------------------------------------------------- async calls


async def _lc_ainvoke(
    llm: ChatModelsLab, prompt: str, outcome: Outcome, on_piece: OnPiece | None
) -> None:
    _add(outcome, (await llm.ainvoke(prompt)).content, on_piece)


async def _lc_astream(
    llm: ChatModelsLab, prompt: str, outcome: Outcome, on_piece: OnPiece | None
) -> None:
    async for message in llm.astream(prompt):
        _add(outcome, message.content, on_piece)


async def _li_achat(
    llm: ModelsLabLLM, prompt: str, outcome: Outcome, on_piece: OnPiece | None
) -> None:
    _add(outcome, (await llm.achat(_li_prompt(prompt))).message.content, on_piece)


async def _li_astream_chat(
    llm: ModelsLabLLM, prompt: str, outcome: Outcome, on_piece: OnPiece | None
) -> None:
    async for response in await llm.astream_chat(_li_prompt(prompt)):
        _add(outcome, response.delta or "", on_piece)


SyncCall = Callable[[Any, str, Outcome, "OnPiece | None"], None]
AsyncCall = Callable[[Any, str, Outcome, "OnPiece | None"], Awaitable[None]]


@dataclass(frozen=True)
class Driver:
    """One way of calling one framework class."""

    name: str
    framework: Framework
    streaming: bool
    sync_call: SyncCall | None = None
    async_call: AsyncCall | None = None

    @property
    def is_async(self) -> bool:
        """Whether the call goes through the async client."""
        return self.async_call is not None

    def __repr__(self) -> str:
        return self.name

    def run(
        self,
        base_url: str,
        on_piece: OnPiece | None = None,
        *,
        prompt: str = "hi",
        **fields: Any,
    ) -> Outcome:
        """Send ``prompt`` once, bounded; the model is closed afterwards."""
        return bounded(self.name, lambda: self._run(base_url, on_piece, prompt, fields))

    def _run(
        self, base_url: str, on_piece: OnPiece | None, prompt: str, fields: dict[str, Any]
    ) -> Outcome:
        llm = make_model(self.framework, base_url, **fields)
        outcome = Outcome()
        if self.sync_call is not None:
            try:
                self.sync_call(llm, prompt, outcome, on_piece)
            except Exception as exc:
                outcome.error = exc
            finally:
                llm.close()
            return outcome
        assert self.async_call is not None
        async_call = self.async_call

        async def run() -> None:
            try:
                await async_call(llm, prompt, outcome, on_piece)
            except Exception as exc:
                outcome.error = exc
            finally:
                await llm.aclose()

        asyncio.run(asyncio.wait_for(run(), HARD_LIMIT))
        return outcome


ALL_DRIVERS = (
    Driver("ChatModelsLab.invoke", "langchain", False, sync_call=_lc_invoke),
    Driver("ChatModelsLab.ainvoke", "langchain", False, async_call=_lc_ainvoke),
    Driver("ChatModelsLab.stream", "langchain", True, sync_call=_lc_stream),
    Driver("ChatModelsLab.astream", "langchain", True, async_call=_lc_astream),
    Driver("ModelsLabLLM.chat", "llama_index", False, sync_call=_li_chat),
    Driver("ModelsLabLLM.achat", "llama_index", False, async_call=_li_achat),
    Driver("ModelsLabLLM.stream_chat", "llama_index", True, sync_call=_li_stream_chat),
    Driver("ModelsLabLLM.astream_chat", "llama_index", True, async_call=_li_astream_chat),
)
"""Every call shape of both classes."""

STREAM_DRIVERS = tuple(driver for driver in ALL_DRIVERS if driver.streaming)
"""The streaming call shapes of both classes."""


# --------------------------------------------------------------------- errors

# The transport class a scenario documents -> the class ChatModelsLab raises for it, and
# the langchain_core.exceptions class that one also is.
_LANGCHAIN_CLASSES: dict[type[ModelsLabError], tuple[type[ModelsLabError], type[ModelError]]] = {
    APIConnectionError: (ModelsLabConnectionError, ModelConnectionError),
    APITimeoutError: (ModelsLabTimeoutError, ModelTimeoutError),
    AuthenticationError: (ModelsLabAuthenticationError, ModelAuthenticationError),
    RateLimitError: (ModelsLabRateLimitError, ModelRateLimitError),
    ServerError: (ModelsLabServerError, ModelAPIError),
    APIStatusError: (ModelsLabAPIStatusError, ModelAPIError),
    IncompleteStreamError: (ModelsLabIncompleteStreamError, ModelAPIError),
    InvalidResponseError: (ModelsLabInvalidResponseError, ModelAPIError),
    RedirectError: (ModelsLabRedirectError, ModelAPIError),
    LocalRequestError: (ModelsLabLocalRequestError, ModelInvalidRequestError),
}


def assert_typed_error(
    driver: Driver, outcome: Outcome, expected: type[ModelsLabError]
) -> ModelsLabError:
    """Check the call ended in exactly the documented error class for its framework.

    ModelsLabLLM raises the transport class itself; ChatModelsLab raises the dual class
    that is both the transport class and the matching ``langchain_core`` model error.
    """
    error = outcome.error
    assert error is not None, f"{driver.name}: expected {expected.__name__}, got {outcome}"
    if driver.framework == "llama_index":
        assert type(error) is expected, f"{driver.name}: {type(error).__name__}: {error}"
    else:
        dual, core = _LANGCHAIN_CLASSES[expected]
        assert type(error) is dual, f"{driver.name}: {type(error).__name__}: {error}"
        assert isinstance(error, expected)
        assert isinstance(error, core)
    assert isinstance(error, ModelsLabError)
    return error
