"""Batch hundreds of requests under ModelsLab's queue limit, with a progress bar.

Every paragraph of the bundled documents (``examples/data``) is summarised, first with
``ChatModelsLab.abatch`` (progress through a LangChain callback handler), then with
``asyncio.gather`` of ``ModelsLabLLM.achat`` (progress through LlamaIndex
instrumentation). The bar is tqdm's. No request fails on the queue limit: each client
keeps at most ``max_concurrency`` requests in flight per account (5 on ModelsLab by
default) and a queue-limit 429 waits instead of failing.

Where requests go: ``MODELSLAB_API_KEY`` set: the live API; ``MODELSLAB_BASE_URL`` set:
that server; neither: a loopback server on this machine that enforces a queue limit of 5
as ModelsLab does (same 429 body) and echoes each prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tqdm import tqdm

DATA = Path(__file__).resolve().parent / "data"


def paragraphs() -> list[str]:
    """The non-empty paragraphs of every bundled document."""
    found = []
    for path in sorted(DATA.glob("*.md")):
        found += [p.strip() for p in path.read_text().split("\n\n") if p.strip()]
    return found


@contextlib.contextmanager
def target() -> Iterator[dict[str, Any]]:
    """Connection arguments: the live API / ``$MODELSLAB_BASE_URL``, or a loopback server."""
    if os.environ.get("MODELSLAB_API_KEY") or os.environ.get("MODELSLAB_BASE_URL"):
        print("mode: live (MODELSLAB_API_KEY / MODELSLAB_BASE_URL)")
        yield {}
        return
    from tests.support.queue_server import QueueLimitedServer

    with QueueLimitedServer(limit=5, latency=0.02) as server:
        print(f"mode: loopback server enforcing a queue limit of 5 ({server.base_url})")
        yield {"base_url": server.base_url, "api_key": "sk-example"}


def with_langchain(prompts: list[str], connection: dict[str, Any]) -> list[str]:
    """``abatch`` with a tqdm bar advanced by a callback handler at each reply."""
    from langchain_core.callbacks import AsyncCallbackHandler

    from langchain_modelslab import ChatModelsLab

    class Progress(AsyncCallbackHandler):
        def __init__(self, bar: tqdm[Any]) -> None:
            self.bar = bar

        async def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            self.bar.update(1)

        async def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
            self.bar.update(1)

    llm = ChatModelsLab(model="google-gemma-3-1b-it", max_tokens=64, **connection)
    with tqdm(total=len(prompts), desc="ChatModelsLab.abatch") as bar:
        replies = asyncio.run(llm.abatch(prompts, config={"callbacks": [Progress(bar)]}))
    return [str(reply.content) for reply in replies]


def with_llama_index(prompts: list[str], connection: dict[str, Any]) -> list[str]:
    """``gather`` of ``achat`` with a tqdm bar advanced by an instrumentation handler."""
    from llama_index.core.instrumentation import get_dispatcher
    from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    from llama_index.core.instrumentation.events import BaseEvent
    from llama_index.core.instrumentation.events.llm import LLMChatEndEvent
    from llama_index.core.llms import ChatMessage

    from llama_index_modelslab import ModelsLabLLM

    class Progress(BaseEventHandler):
        bar: Any = None

        @classmethod
        def class_name(cls) -> str:
            return "TqdmProgress"

        def handle(self, event: BaseEvent, **kwargs: Any) -> None:
            if isinstance(event, LLMChatEndEvent):
                self.bar.update(1)

    llm = ModelsLabLLM(model="google-gemma-3-1b-it", max_tokens=64, **connection)
    dispatcher = get_dispatcher()
    with tqdm(total=len(prompts), desc="ModelsLabLLM.achat") as bar:
        handler = Progress(bar=bar)
        dispatcher.add_event_handler(handler)
        try:

            async def run() -> list[Any]:
                calls = [llm.achat([ChatMessage(role="user", content=p)]) for p in prompts]
                return await asyncio.gather(*calls)

            replies = asyncio.run(run())
        finally:
            dispatcher.event_handlers.remove(handler)
    return [str(reply.message.content) for reply in replies]


def main() -> None:
    prompts = [f"Summarise in one sentence:\n\n{p}" for p in paragraphs()]
    with target() as connection:
        lc = with_langchain(prompts, connection)
        li = with_llama_index(prompts, connection)
    print(f"{len(prompts)} paragraphs; {len(lc)} LangChain and {len(li)} LlamaIndex answers")
    print("first answer:", lc[0][:120])


if __name__ == "__main__":
    main()
