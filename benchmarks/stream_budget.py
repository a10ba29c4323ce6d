"""Where scenario 1's time goes, layer by layer, in CPU time without a socket.

``python -m benchmarks.stream_budget [--chunks 2000] [--repeats 15]``

Every row reads the same 2,000-chunk stream (the loopback server's exact events) from an
``httpx2.MockTransport``, in this process, so no socket, no server and no other process
takes part; each figure is the fastest of ``--repeats`` runs of this process's CPU time,
the rows interleaved. It answers the question the scenario-1 goals raise: how much of
``ChatModelsLab.stream`` and ``ModelsLabLLM.stream_chat`` is the framework itself (the
bare subclasses of :mod:`benchmarks.framework_floors`, without HTTP and with the
cheapest HTTP), how much httpx2 (reading the body, splitting lines, its ``EventSource``
parser), how much pydantic, and how much is left for our own code. The lines after the
table give each goal (:data:`GOALS`) as measured in this run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx2

from benchmarks.framework_floors import (
    langchain_floor,
    langchain_http_floor,
    llama_index_floor,
    llama_index_http_floor,
)
from benchmarks.server import sse_events, stream_text
from benchmarks.workload import API_KEY, MAX_TOKENS, MODEL, PROMPT

_BASE_URL = "http://127.0.0.1:9/v1"  # never reached: the mock transport answers
HTTP_FLOOR = "httpx2 iter_lines + json.loads (scenario 1's HTTP floor)"
LC_HTTP_FLOOR = "LangChain floor with HTTP (bare BaseChatModel, iter_lines + json.loads)"
LI_HTTP_FLOOR = "LlamaIndex floor with HTTP (bare FunctionCallingLLM, iter_lines + json.loads)"
GOALS = {
    "ModelsLabClient.stream_chat_completions": (HTTP_FLOOR, 1.3),
    "ChatModelsLab.stream": (LC_HTTP_FLOOR, 1.15),
    "ModelsLabLLM.stream_chat": (LI_HTTP_FLOOR, 1.2),
}
"""Scenario 1's goals: each of ours, the floor it is compared with, the largest ratio."""


class _Events(httpx2.SyncByteStream):
    """The reply body as the server writes it: one piece per event."""

    def __init__(self, events: list[bytes]) -> None:
        self._events = events

    def __iter__(self) -> Iterator[bytes]:
        yield from self._events


def _client(events: list[bytes]) -> httpx2.Client:
    def reply(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(
            200, headers={"content-type": "text/event-stream"}, stream=_Events(events)
        )

    return httpx2.Client(transport=httpx2.MockTransport(reply))


class _Prepared:
    """A row with untimed work to do before each timed run."""

    def __init__(self, prepare: Callable[[], None], run: Callable[[], object]) -> None:
        self.prepare, self.run = prepare, run

    def __call__(self) -> object:
        self.prepare()
        return self.run()


def _rows(chunks: int) -> dict[str, Callable[[], object]]:
    """Each layer as a callable that reads the whole stream and returns its text."""
    from langchain_core.messages import BaseMessageChunk
    from llama_index.core.base.llms.types import ChatMessage

    from langchain_modelslab import ChatModelsLab
    from llama_index_modelslab import ModelsLabLLM
    from modelslab_transport import ClientSettings, ModelsLabClient
    from modelslab_transport.wire import ChatCompletionChunk, ChatCompletionRequest
    from modelslab_transport.wire import ChatMessage as WireMessage

    client = _client(sse_events(MODEL, chunks, 0, True))
    url = f"{_BASE_URL}/chat/completions"
    validate = ChatCompletionChunk.__pydantic_validator__.validate_json

    def raw() -> object:
        with client.stream("POST", url) as response:
            return sum(len(piece) for piece in response.iter_raw())

    def lines() -> object:
        with client.stream("POST", url) as response:
            return sum(1 for _ in response.iter_lines())

    def lines_json() -> object:
        parts = []
        with client.stream("POST", url) as response:
            for line in response.iter_lines():
                if line.startswith("data: ") and line != "data: [DONE]":
                    for choice in json.loads(line[6:])["choices"]:
                        parts.append(choice["delta"].get("content") or "")
        return "".join(parts)

    def events() -> object:
        with client.stream("POST", url) as response:
            return sum(1 for _ in httpx2.EventSource(response))

    def events_validated() -> object:
        parts = []
        with client.stream("POST", url) as response:
            for event in httpx2.EventSource(response):
                if event.data != "[DONE]":
                    for choice in validate(event.data).choices:
                        parts.append(choice.delta.text)
        return "".join(parts)

    transport = ModelsLabClient(
        ClientSettings(api_key=API_KEY, base_url=_BASE_URL), http_client=client
    )
    request = ChatCompletionRequest(
        model=MODEL,
        messages=[WireMessage(role="user", content=PROMPT)],
        max_tokens=MAX_TOKENS,
        stream=True,
        stream_options={"include_usage": True},
    )

    def ours_transport() -> object:
        parts = []
        with transport.stream_chat_completions(request) as stream:
            for chunk in stream:
                for choice in chunk.choices:
                    parts.append(choice.delta.text)
        return "".join(parts)

    def added_up(model: Any) -> object:
        full: BaseMessageChunk | None = None
        for chunk in model.stream(PROMPT):
            full = chunk if full is None else full + chunk
        assert full is not None
        return full.content

    chat = ChatModelsLab(
        model=MODEL, api_key=API_KEY, base_url=_BASE_URL, http_client=client, max_tokens=MAX_TOKENS
    )
    llm = ModelsLabLLM(
        model=MODEL, api_key=API_KEY, base_url=_BASE_URL, http_client=client, max_tokens=MAX_TOKENS
    )
    # The same classes with the HTTP taken out: their ModelsLab object's stream_chat
    # replaced by one that hands out chunks decoded just before the timed run (fresh
    # objects each run, as a live stream's are), so these rows are the framework plus
    # our conversion alone.
    datas = [
        event.removeprefix(b"data: ").strip()
        for event in sse_events(MODEL, chunks, 0, True)
        if event.strip() != b"data: [DONE]"
    ]
    decoded: list[ChatCompletionChunk] = []

    def decode_beforehand() -> None:
        decoded[:] = [validate(data) for data in datas]

    no_http = {}
    for name, cls in (("chat", ChatModelsLab), ("llm", ModelsLabLLM)):
        model = cls(model=MODEL, api_key=API_KEY, base_url=_BASE_URL, max_tokens=MAX_TOKENS)
        model.client.stream_chat = lambda request: contextlib.nullcontext(iter(decoded))
        no_http[name] = model
    lc_floor, li_floor = langchain_floor(chunks), llama_index_floor(chunks)
    lc_http_floor = langchain_http_floor(client, _BASE_URL, API_KEY)
    li_http_floor = llama_index_http_floor(client, _BASE_URL, API_KEY)
    messages = [ChatMessage(role="user", content=PROMPT)]

    def last_text(model: Any) -> object:
        last = None
        for last in model.stream_chat(messages):  # noqa: B007 - each holds the text so far
            pass
        assert last is not None
        return last.message.content

    return {
        "httpx2 iter_raw (bytes only)": raw,
        "httpx2 iter_lines": lines,
        HTTP_FLOOR: lines_json,
        "httpx2 EventSource (events, no JSON)": events,
        "httpx2 EventSource + pydantic validate_json": events_validated,
        "ModelsLabClient.stream_chat_completions": ours_transport,
        "LangChain floor (bare BaseChatModel, no HTTP)": lambda: added_up(lc_floor),
        LC_HTTP_FLOOR: lambda: added_up(lc_http_floor),
        "ChatModelsLab.stream, chunks decoded beforehand (no HTTP)": _Prepared(
            decode_beforehand, lambda: added_up(no_http["chat"])
        ),
        "ChatModelsLab.stream": lambda: added_up(chat),
        "LlamaIndex floor (bare FunctionCallingLLM, no HTTP)": lambda: last_text(li_floor),
        LI_HTTP_FLOOR: lambda: last_text(li_http_floor),
        "ModelsLabLLM.stream_chat, chunks decoded beforehand (no HTTP)": _Prepared(
            decode_beforehand, lambda: last_text(no_http["llm"])
        ),
        "ModelsLabLLM.stream_chat": lambda: last_text(llm),
    }


def measure(chunks: int, repeats: int) -> dict[str, float]:
    """The fastest CPU time of each row, in seconds, over ``repeats`` interleaved rounds."""
    rows = _rows(chunks)
    text = stream_text(chunks)
    for name, run in rows.items():  # warm-up, and a check that each row read it all
        result = run()
        if isinstance(result, str) and result != text:
            raise AssertionError(f"{name} read {len(result)} characters, not {len(text)}")
    best = dict.fromkeys(rows, float("inf"))
    for _ in range(repeats):
        for name, run in rows.items():
            if isinstance(run, _Prepared):
                run.prepare()
                run = run.run
            gc.collect()
            start = time.process_time()
            run()
            best[name] = min(best[name], time.process_time() - start)
    return best


def report(best: dict[str, float]) -> str:
    """The table, then each goal's ratio and where the rest of the time goes."""
    ms = {name: seconds * 1000 for name, seconds in best.items()}
    width = max(map(len, ms))
    lines = [f"{name:<{width}}  {value:7.1f} ms" for name, value in ms.items()]
    lines.append("")
    for ours, (floor, goal) in GOALS.items():
        ratio = ms[ours] / ms[floor]
        line = (
            f"{ours}: {ratio:.2f}x its floor ({ms[ours]:.1f} vs {ms[floor]:.1f} ms; goal "
            f"<= {goal}x: {'met' if ratio <= goal else 'NOT met'})."
        )
        converted = ms.get(f"{ours}, chunks decoded beforehand (no HTTP)")
        if converted is not None:
            bare = "LangChain" if ours.startswith("Chat") else "LlamaIndex"
            no_http = next(n for n in ms if n.startswith(f"{bare} floor (") and "no HTTP" in n)
            line += (
                f" Without HTTP, our conversion adds {converted - ms[no_http]:.1f} ms to the "
                f"bare framework ({converted / ms[no_http]:.2f}x); the HTTP and decoding then "
                f"cost {ms[ours] - converted:.1f} ms inside the class, against "
                f"{ms[floor] - ms[no_http]:.1f} ms in the floor."
            )
        lines.append(line)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stream_budget")
    parser.add_argument("--chunks", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    before = os.getloadavg()[0]
    best = measure(args.chunks, args.repeats)
    print(report(best))
    print(f"load average (1 min, 2 cores): {before:.1f} before, {os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main()
