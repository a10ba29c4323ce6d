"""The clients under test, each wrapped as a ``Contender`` doing one unit of work.

Every contender is built against a base URL of the loopback server (which names the
scenario), sends the same request (one user message, ``max_tokens=4096``, usage asked
for on streams) and does the same work with the reply that a user of that library
would do. ``check`` validates one result, so a contender that silently skipped work
(lost chunks, no usage, no tool call) fails the run instead of looking fast.

Kinds of work:

* ``stream``: stream the reply and aggregate it (text and usage);
* ``invoke``: one non-streamed call;
* ``ainvoke``: one non-streamed call on the async API (scenario 3 gathers many);
* ``tools``: stream a reply made of tool-call fragments and assemble the call.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.server import stream_text, tool_arguments
from benchmarks.workload import API_KEY, MAX_TOKENS, MODEL, PROMPT

Kind = str  # "stream" | "invoke" | "ainvoke" | "tools"


@dataclass
class Contender:
    """One client doing one unit of work of a scenario."""

    key: str
    """Registry key (``lc-ours``, ``lc-openai``, ...)."""
    label: str
    """What is measured, as shown in the table."""
    role: str
    """``ours``, ``peer`` or ``floor``."""
    group: str
    """``langchain``, ``llama-index`` or ``transport``: rows compare within a group."""
    run: Callable[[], Any] | None = None
    arun: Callable[[], Awaitable[Any]] | None = None
    check: Callable[[Any], None] = lambda result: None
    closers: list[Callable[[], Any]] = field(default_factory=list)


def _expect(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(f"benchmark result check failed: {what}")


# --------------------------------------------------------------------------- checks


def _check_text(expected: str) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        text, usage = result
        _expect(text == expected, f"text of {len(text)} chars, expected {len(expected)}")
        _expect(usage, "no usage")

    return check


def _check_plain(result: Any) -> None:
    _expect(isinstance(result, str) and result.startswith("tok0 tok1"), f"reply {result!r:.60}")


def _check_tool(result: Any) -> None:
    name, args = result
    _expect(name == "lookup", f"tool name {name!r}")
    _expect(isinstance(args, dict) and set(args) == {"q"}, f"tool args {args!r:.60}")


def _stream_expectations(base_url: str) -> tuple[str, str]:
    chunks = 20
    fragments = 0
    for segment in base_url.split("/"):
        if segment[:1] == "c" and segment[1:].isdigit():
            chunks = int(segment[1:])
        if segment[:1] == "t" and segment[1:].isdigit():
            fragments = int(segment[1:])
    return stream_text(chunks), tool_arguments(fragments)


# ------------------------------------------------------------------------ LangChain


def _lookup_tool() -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look a query up.",
            "parameters": {
                "type": "object",
                "properties": {"q": {"type": "string"}},
                "required": ["q"],
            },
        },
    }


def _langchain(key: str, llm: Any, label: str, role: str, kind: Kind, base_url: str) -> Contender:
    text, _ = _stream_expectations(base_url)
    contender = Contender(key, label, role, "langchain")
    if kind == "stream":

        def stream() -> Any:
            full = None
            for chunk in llm.stream(PROMPT):
                full = chunk if full is None else full + chunk
            assert full is not None
            return full.content, full.usage_metadata

        contender.run, contender.check = stream, _check_text(text)
    elif kind == "invoke":
        contender.run = lambda: llm.invoke(PROMPT).content
        contender.check = _check_plain
    elif kind == "ainvoke":

        async def ainvoke() -> Any:
            return (await llm.ainvoke(PROMPT)).content

        contender.arun, contender.check = ainvoke, _check_plain
    elif kind == "tools":
        bound = llm.bind_tools([_lookup_tool()])

        def tools() -> Any:
            full = None
            for chunk in bound.stream(PROMPT):
                full = chunk if full is None else full + chunk
            assert full is not None
            (call,) = full.tool_calls
            return call["name"], call["args"]

        contender.run, contender.check = tools, _check_tool
    contender.closers.append(getattr(llm, "close", lambda: None))
    return contender


def lc_ours(kind: Kind, base_url: str) -> Contender:
    from langchain_modelslab import ChatModelsLab

    llm = ChatModelsLab(model=MODEL, api_key=API_KEY, base_url=base_url, max_tokens=MAX_TOKENS)
    label = {
        "stream": "ChatModelsLab.stream",
        "invoke": "ChatModelsLab.invoke",
        "ainvoke": "ChatModelsLab.ainvoke",
        "tools": "ChatModelsLab.bind_tools().stream",
    }[kind]
    return _langchain("lc-ours", llm, label, "ours", kind, base_url)


def lc_openai(kind: Kind, base_url: str) -> Contender:
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(
        model=MODEL,
        api_key=API_KEY,
        base_url=base_url,
        max_tokens=MAX_TOKENS,
        stream_usage=True,
    )
    label = {
        "stream": "ChatOpenAI.stream",
        "invoke": "ChatOpenAI.invoke",
        "ainvoke": "ChatOpenAI.ainvoke",
        "tools": "ChatOpenAI.bind_tools().stream",
    }[kind]
    return _langchain("lc-openai", llm, label, "peer", kind, base_url)


# ----------------------------------------------------------------------- LlamaIndex


def _lookup(q: str) -> str:
    """Look a query up."""
    return q


def _llama_index(key: str, llm: Any, label: str, role: str, kind: Kind, base_url: str) -> Contender:
    from llama_index.core.llms import ChatMessage

    text, _ = _stream_expectations(base_url)
    messages = [ChatMessage(role="user", content=PROMPT)]
    contender = Contender(key, label, role, "llama-index")
    if kind == "stream":

        def stream() -> Any:
            last = None
            for last in llm.stream_chat(messages):  # noqa: B007 - each holds the text so far
                pass
            assert last is not None
            usage = last.additional_kwargs.get("total_tokens") or getattr(last.raw, "usage", None)
            return last.message.content, usage

        contender.run, contender.check = stream, _check_text(text)
    elif kind == "invoke":
        contender.run = lambda: llm.chat(messages).message.content
        contender.check = _check_plain
    elif kind == "ainvoke":

        async def achat() -> Any:
            return (await llm.achat(messages)).message.content

        contender.arun, contender.check = achat, _check_plain
    elif kind == "tools":
        from llama_index.core.tools import FunctionTool

        tool = FunctionTool.from_defaults(fn=_lookup)

        def tools() -> Any:
            last = None
            for last in llm.stream_chat_with_tools([tool], user_msg=PROMPT):  # noqa: B007
                pass
            (selection,) = llm.get_tool_calls_from_response(last)
            return selection.tool_name, selection.tool_kwargs

        contender.run, contender.check = tools, _check_tool
    return contender


def li_ours(kind: Kind, base_url: str) -> Contender:
    from llama_index_modelslab import ModelsLabLLM

    llm = ModelsLabLLM(model=MODEL, api_key=API_KEY, base_url=base_url, max_tokens=MAX_TOKENS)
    label = {
        "stream": "ModelsLabLLM.stream_chat",
        "invoke": "ModelsLabLLM.chat",
        "ainvoke": "ModelsLabLLM.achat",
        "tools": "ModelsLabLLM.stream_chat_with_tools",
    }[kind]
    contender = _llama_index("li-ours", llm, label, "ours", kind, base_url)
    contender.closers.append(llm.close)
    return contender


def _openai_like_kwargs(base_url: str) -> dict[str, Any]:
    return {
        "model": MODEL,
        "api_key": API_KEY,
        "api_base": base_url,
        "max_tokens": MAX_TOKENS,
        "is_chat_model": True,
        "is_function_calling_model": True,
        "context_window": 8192,
        # llama-index-llms-openai asks for no usage chunk unless told to.
        "additional_kwargs": {"stream_options": {"include_usage": True}},
    }


def li_openai_like(kind: Kind, base_url: str) -> Contender:
    from llama_index.llms.openai_like import OpenAILike  # type: ignore[import-untyped]

    llm = OpenAILike(**_openai_like_kwargs(base_url))
    label = {
        "stream": "OpenAILike.stream_chat",
        "invoke": "OpenAILike.chat",
        "ainvoke": "OpenAILike.achat",
        "tools": "OpenAILike.stream_chat_with_tools",
    }[kind]
    return _llama_index("li-openai-like", llm, label, "peer", kind, base_url)


def li_modelslab_pkg(kind: Kind, base_url: str) -> Contender:
    from llama_index.llms.modelslab import (  # type: ignore[import-untyped]
        ModelsLabLLM as PackagedModelsLabLLM,
    )

    llm = PackagedModelsLabLLM(**_openai_like_kwargs(base_url))
    label = {
        "stream": "llama-index-llms-modelslab .stream_chat",
        "invoke": "llama-index-llms-modelslab .chat",
        "ainvoke": "llama-index-llms-modelslab .achat",
        "tools": "llama-index-llms-modelslab .stream_chat_with_tools",
    }[kind]
    return _llama_index("li-modelslab-pkg", llm, label, "peer", kind, base_url)


# ------------------------------------------------------------------------ transport


def tr_ours(kind: Kind, base_url: str) -> Contender:
    from modelslab_transport import (
        AsyncModelsLabClient,
        ChatStreamAccumulator,
        ClientSettings,
        ModelsLabClient,
    )
    from modelslab_transport.wire import ChatCompletionRequest, ChatMessage

    settings = ClientSettings(api_key=API_KEY, base_url=base_url)
    client = ModelsLabClient(settings)
    aclient = AsyncModelsLabClient(settings)
    text, _ = _stream_expectations(base_url)

    def request(stream: bool) -> ChatCompletionRequest:
        return ChatCompletionRequest(
            model=MODEL,
            messages=[ChatMessage(role="user", content=PROMPT)],
            max_tokens=MAX_TOKENS,
            stream=stream or None,
            stream_options={"include_usage": True} if stream else None,
        )

    label = {
        "stream": "ModelsLabClient.stream_chat_completions",
        "invoke": "ModelsLabClient.chat_completions",
        "ainvoke": "AsyncModelsLabClient.chat_completions",
        "tools": "stream_chat_completions + ChatStreamAccumulator",
    }[kind]
    contender = Contender("tr-ours", label, "ours", "transport")
    if kind == "stream":

        def stream() -> Any:
            parts: list[str] = []
            usage = None
            with client.stream_chat_completions(request(True)) as chunks:
                for chunk in chunks:
                    for choice in chunk.choices:
                        if choice.delta.content:
                            parts.append(choice.delta.text)
                    if chunk.usage is not None:
                        usage = chunk.usage
            return "".join(parts), usage

        contender.run, contender.check = stream, _check_text(text)
    elif kind == "invoke":
        contender.run = lambda: client.chat_completions(request(False)).choices[0].message.content
        contender.check = _check_plain
    elif kind == "ainvoke":

        async def ainvoke() -> Any:
            completion = await aclient.chat_completions(request(False))
            return completion.choices[0].message.content

        contender.arun, contender.check = ainvoke, _check_plain
    elif kind == "tools":

        def tools() -> Any:
            accumulator = ChatStreamAccumulator()
            with client.stream_chat_completions(request(True)) as chunks:
                for chunk in chunks:
                    accumulator.add(chunk)
            (call,) = accumulator.tool_calls()
            return call.function.name, json.loads(call.function.arguments or "")

        contender.run, contender.check = tools, _check_tool
    contender.closers += [client.close, aclient.aclose]
    return contender


def tr_openai(kind: Kind, base_url: str) -> Contender:
    import openai

    client = openai.OpenAI(base_url=base_url, api_key=API_KEY)
    aclient = openai.AsyncOpenAI(base_url=base_url, api_key=API_KEY)
    text, _ = _stream_expectations(base_url)
    messages: Any = [{"role": "user", "content": PROMPT}]
    label = {
        "stream": "openai.OpenAI stream=True",
        "invoke": "openai.OpenAI create",
        "ainvoke": "openai.AsyncOpenAI create",
        "tools": "openai.OpenAI stream=True, fragments joined",
    }[kind]
    contender = Contender("tr-openai", label, "peer", "transport")

    def create(**extra: Any) -> Any:
        return client.chat.completions.create(
            model=MODEL, messages=messages, max_tokens=MAX_TOKENS, **extra
        )

    if kind == "stream":

        def stream() -> Any:
            parts: list[str] = []
            usage = None
            with create(stream=True, stream_options={"include_usage": True}) as chunks:
                for chunk in chunks:
                    for choice in chunk.choices:
                        if choice.delta.content:
                            parts.append(choice.delta.content)
                    if chunk.usage is not None:
                        usage = chunk.usage
            return "".join(parts), usage

        contender.run, contender.check = stream, _check_text(text)
    elif kind == "invoke":
        contender.run = lambda: create().choices[0].message.content
        contender.check = _check_plain
    elif kind == "ainvoke":

        async def ainvoke() -> Any:
            completion = await aclient.chat.completions.create(
                model=MODEL, messages=messages, max_tokens=MAX_TOKENS
            )
            return completion.choices[0].message.content

        contender.arun, contender.check = ainvoke, _check_plain
    elif kind == "tools":

        def tools() -> Any:
            name, parts = "", []
            with create(stream=True, stream_options={"include_usage": True}) as chunks:
                for chunk in chunks:
                    for choice in chunk.choices:
                        for call in choice.delta.tool_calls or []:
                            if call.function and call.function.name:
                                name = call.function.name
                            if call.function and call.function.arguments:
                                parts.append(call.function.arguments)
            return name, json.loads("".join(parts))

        contender.run, contender.check = tools, _check_tool
    contender.closers += [client.close, aclient.close]
    return contender


def floor(kind: Kind, base_url: str) -> Contender:
    """Bare httpx2 (the HTTP client our transport is built on): a pooled client,
    ``iter_lines``, ``json.loads`` per ``data:`` line."""
    import httpx2

    url = base_url + "/chat/completions"
    headers = {"authorization": f"Bearer {API_KEY}"}
    client = httpx2.Client(timeout=60)
    aclient = httpx2.AsyncClient(timeout=60)  # the default pool: 100 connections, 20 kept
    text, _ = _stream_expectations(base_url)

    def body(stream: bool) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": MODEL,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": MAX_TOKENS,
        }
        if stream:
            payload["stream"] = True
            payload["stream_options"] = {"include_usage": True}
        return payload

    def events() -> Any:
        with client.stream("POST", url, json=body(True), headers=headers) as response:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                yield json.loads(data)

    label = {
        "stream": "floor: httpx2 stream + iter_lines + json.loads",
        "invoke": "floor: httpx2 post + json.loads",
        "ainvoke": "floor: httpx2.AsyncClient() post + json.loads",
        "tools": "floor: httpx2 stream + json.loads, fragments joined",
    }[kind]
    contender = Contender("floor", label, "floor", "floor")
    if kind == "stream":

        def stream() -> Any:
            parts: list[str] = []
            usage = None
            for event in events():
                for choice in event["choices"]:
                    content = choice["delta"].get("content")
                    if content:
                        parts.append(content)
                if event.get("usage"):
                    usage = event["usage"]
            return "".join(parts), usage

        contender.run, contender.check = stream, _check_text(text)
    elif kind == "invoke":

        def invoke() -> Any:
            reply = client.post(url, json=body(False), headers=headers)
            return json.loads(reply.content)["choices"][0]["message"]["content"]

        contender.run, contender.check = invoke, _check_plain
    elif kind == "ainvoke":

        async def ainvoke() -> Any:
            reply = await aclient.post(url, json=body(False), headers=headers)
            return json.loads(reply.content)["choices"][0]["message"]["content"]

        contender.arun, contender.check = ainvoke, _check_plain
    elif kind == "tools":

        def tools() -> Any:
            name, parts = "", []
            for event in events():
                for choice in event["choices"]:
                    for call in choice["delta"].get("tool_calls") or []:
                        function = call.get("function") or {}
                        if function.get("name"):
                            name = function["name"]
                        if function.get("arguments"):
                            parts.append(function["arguments"])
            return name, json.loads("".join(parts))

        contender.run, contender.check = tools, _check_tool
    contender.closers += [client.close, aclient.aclose]
    return contender


BUILDERS: dict[str, Callable[[Kind, str], Contender]] = {
    "lc-ours": lc_ours,
    "lc-openai": lc_openai,
    "li-ours": li_ours,
    "li-openai-like": li_openai_like,
    "li-modelslab-pkg": li_modelslab_pkg,
    "tr-ours": tr_ours,
    "tr-openai": tr_openai,
    "floor": floor,
}
"""Every contender, by key, in the order the table lists them."""


def lc_floor(kind: Kind, base_url: str) -> Contender:
    """The LangChain framework floor: a bare ``BaseChatModel`` yielding the chunks, no HTTP."""
    from benchmarks.framework_floors import langchain_floor

    if kind != "stream":
        raise ValueError("the framework floors only stream")
    text, _ = _stream_expectations(base_url)
    llm = langchain_floor(len(text.split()))
    label = "floor: bare BaseChatModel subclass .stream (no HTTP)"
    return _langchain("lc-floor", llm, label, "floor", kind, base_url)


def li_floor(kind: Kind, base_url: str) -> Contender:
    """The LlamaIndex framework floor: a bare ``FunctionCallingLLM`` yielding the chunks."""
    from benchmarks.framework_floors import llama_index_floor

    if kind != "stream":
        raise ValueError("the framework floors only stream")
    text, _ = _stream_expectations(base_url)
    llm = llama_index_floor(len(text.split()))
    label = "floor: bare FunctionCallingLLM subclass .stream_chat (no HTTP)"
    return _llama_index("li-floor", llm, label, "floor", kind, base_url)


def lc_http_floor(kind: Kind, base_url: str) -> Contender:
    """The LangChain floor with HTTP: a bare ``BaseChatModel`` reading the server over httpx2."""
    import httpx2

    from benchmarks.framework_floors import langchain_http_floor

    if kind != "stream":
        raise ValueError("the framework floors only stream")
    client = httpx2.Client(timeout=60)
    llm = langchain_http_floor(client, base_url, API_KEY)
    label = "floor: bare BaseChatModel subclass .stream, httpx2 iter_lines + json.loads"
    contender = _langchain("lc-http-floor", llm, label, "floor", kind, base_url)
    contender.closers.append(client.close)
    return contender


def li_http_floor(kind: Kind, base_url: str) -> Contender:
    """The LlamaIndex floor with HTTP: a bare ``FunctionCallingLLM`` reading over httpx2."""
    import httpx2

    from benchmarks.framework_floors import llama_index_http_floor

    if kind != "stream":
        raise ValueError("the framework floors only stream")
    client = httpx2.Client(timeout=60)
    llm = llama_index_http_floor(client, base_url, API_KEY)
    label = "floor: bare FunctionCallingLLM subclass .stream_chat, httpx2 iter_lines + json.loads"
    contender = _llama_index("li-http-floor", llm, label, "floor", kind, base_url)
    contender.closers.append(client.close)
    return contender


FRAMEWORK_FLOORS: dict[str, Callable[[Kind, str], Contender]] = {
    "lc-floor": lc_floor,
    "li-floor": li_floor,
    "lc-http-floor": lc_http_floor,
    "li-http-floor": li_http_floor,
}
"""Scenario 1's framework floors (stream only), by key."""
