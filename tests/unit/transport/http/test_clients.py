"""The httpx2 clients behind the transport clients: what they accept and how long they live.

Only httpx2 clients are accepted (a ``TypeError`` names what to pass); the async client
keeps one pool per event loop and closes it with its loop; a forked child never reuses
its parent's sockets; copies and pickles build their own pools; a stream abandoned when
its loop ends is released without "aclose(): asynchronous generator is already running".
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import gc
import logging
import os
import pickle
import signal
import ssl
import threading
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import httpx2
import pytest
from llama_index.core.llms import ChatMessage as LlamaMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import AsyncModelsLabClient, ClientSettings, ModelsLabClient
from modelslab_transport.http.sharded_pool import ShardedAsyncTransport, default_ssl_context
from modelslab_transport.http.watchdog import WATCHDOG
from modelslab_transport.limits import queue as concurrency
from modelslab_transport.limits.queue import account_limit, call_deadline
from tests.support.clients import API_KEY
from tests.support.loopback import LoopbackConnection, LoopbackRequest, LoopbackServer
from tests.support.replies import chunk, completion_body, sse
from tests.support.wire_requests import chat_request


def answer(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    """A JSON completion, or a two-chunk stream, on a kept-alive connection."""
    if b'"stream":true' in request.body:
        body = sse(chunk("hi"), chunk(finish_reason="stop"))
        conn.send_sse_headers()
        conn.send_chunk(body)
        conn.end_chunks()
    else:
        conn.send_json(completion_body("ok"))
    return True


def stall_stream(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    """Sends one chunk and then nothing until the client leaves."""
    conn.send_sse_headers()
    conn.send_chunk(sse(chunk("a"), done=False))
    conn.wait_for_client_to_leave(limit=5)
    return False


def config(base_url: str) -> ClientSettings:
    return ClientSettings(api_key=API_KEY, base_url=base_url, max_retries=0)


# ------------------------------------------------------------------- what is accepted

NOT_HTTPX2_SYNC = [
    pytest.param(lambda: httpx.Client(), id="httpx.Client"),
    pytest.param(lambda: httpx2.AsyncClient(), id="httpx2.AsyncClient"),
    pytest.param(lambda: "http://proxy:8080", id="str"),
]
NOT_HTTPX2_ASYNC = [
    pytest.param(lambda: httpx.AsyncClient(), id="httpx.AsyncClient"),
    pytest.param(lambda: httpx2.Client(), id="httpx2.Client"),
    pytest.param(lambda: object(), id="object"),
]


@pytest.mark.parametrize("make", NOT_HTTPX2_SYNC)
def test_sync_http_client_must_be_an_httpx2_client(make: Any) -> None:
    value = make()
    for build in (
        lambda: ModelsLabClient(config("http://127.0.0.1:9"), http_client=value),
        lambda: ChatModelsLab(api_key=API_KEY, http_client=value),
        lambda: ModelsLabLLM(api_key=API_KEY, http_client=value),
    ):
        with pytest.raises(TypeError, match=r"http_client must be an httpx2\.Client") as caught:
            build()
        assert type(value).__name__ in str(caught.value)


@pytest.mark.parametrize("make", NOT_HTTPX2_ASYNC)
def test_async_http_client_must_be_an_httpx2_async_client(make: Any) -> None:
    value = make()
    for build, name in (
        (lambda: AsyncModelsLabClient(config("http://127.0.0.1:9"), http_client=value), "http"),
        (lambda: ChatModelsLab(api_key=API_KEY, http_async_client=value), "http_async"),
        (lambda: ModelsLabLLM(api_key=API_KEY, async_http_client=value), "async_http"),
    ):
        with pytest.raises(TypeError, match=rf"{name}_client must be an httpx2\.AsyncClient"):
            build()


def test_an_httpx_client_is_told_to_build_an_httpx2_one() -> None:
    with pytest.raises(TypeError, match=r"build an httpx2\.Client with the same options"):
        ModelsLabClient(config("http://127.0.0.1:9"), http_client=httpx.Client())


def test_httpx2_clients_are_accepted_by_every_class() -> None:
    sync, asynchronous = httpx2.Client(), httpx2.AsyncClient()
    assert ModelsLabClient(http_client=sync).http_client is sync
    assert AsyncModelsLabClient(http_client=asynchronous).http_client is asynchronous
    chat = ChatModelsLab(api_key=API_KEY, http_client=sync, http_async_client=asynchronous)
    assert chat.http_client is sync
    llm = ModelsLabLLM(api_key=API_KEY, http_client=sync, async_http_client=asynchronous)
    assert llm.async_http_client is asynchronous
    sync.close()


# ------------------------------------------------------------- one SSL context


def test_every_client_and_shard_verifies_tls_with_one_context_built_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Loading the CA bundle is costly: a process builds one context, whatever it opens."""
    built: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = real(*args, **kwargs)
        built.append(context)
        return context

    monkeypatch.setattr(ssl, "create_default_context", counting)
    default_ssl_context.cache_clear()
    try:
        with LoopbackServer(answer) as server:
            sync = ModelsLabClient(config(server.base_url))
            assert sync.chat(chat_request()).choices[0].message.text == "ok"
            chat = ChatModelsLab(api_key=API_KEY, base_url=server.base_url, max_retries=0)
            llm = ModelsLabLLM(api_key=API_KEY, base_url=server.base_url, max_retries=0)
            assert chat.invoke("hi").content == "ok"
            assert llm.chat([LlamaMessage(role="user", content="hi")]).message.content == "ok"

            async def burst() -> None:
                # Shards of one connection: three concurrent calls build three shards.
                transport = ShardedAsyncTransport(httpx2.Limits(max_connections=3), shard_size=1)
                async with httpx2.AsyncClient(transport=transport) as http:
                    url = f"{server.base_url}/chat/completions"
                    body = {"messages": [{"role": "user", "content": "hi"}]}
                    async with contextlib.AsyncExitStack() as held:
                        for _ in range(3):  # each response holds its shard open
                            await held.enter_async_context(http.stream("POST", url, json=body))
                        assert len(transport.transports) == 3
                assert (await chat.ainvoke("hi")).content == "ok"
                reply = await llm.achat([LlamaMessage(role="user", content="hi")])
                assert reply.message.content == "ok"
                await AsyncModelsLabClient(config(server.base_url)).chat(chat_request())

            asyncio.run(burst())
            for closable in (sync, chat, llm):
                closable.close()
        assert built == [default_ssl_context()]
    finally:
        default_ssl_context.cache_clear()


# ------------------------------------------------------------- dropped without close()


def _unclosed_socket_warnings(work: Callable[[], None]) -> list[str]:
    """The ResourceWarnings raised while ``work`` runs and garbage is collected after it."""
    gc.collect()  # garbage of earlier tests must not count here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        work()
        gc.collect()
    return [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


def _use_and_drop(make: Callable[[str], Any], call: Callable[[Any], str]) -> None:
    with LoopbackServer(answer) as server:

        def work() -> None:
            user = make(server.base_url)
            assert call(user) == "ok"
            del user  # never closed

        assert _unclosed_socket_warnings(work) == []
        assert server.wait_until_no_open_connections() == 0
        assert server.total_connections == 1


def test_a_dropped_sync_client_closes_its_connections() -> None:
    _use_and_drop(
        lambda url: ModelsLabClient(config(url)),
        lambda client: client.chat(chat_request()).choices[0].message.text,
    )


def test_a_dropped_chat_models_lab_closes_its_connections() -> None:
    _use_and_drop(
        lambda url: ChatModelsLab(api_key=API_KEY, base_url=url, max_retries=0),
        lambda llm: str(llm.invoke("hi").content),
    )


def test_a_dropped_models_lab_llm_closes_its_connections() -> None:
    _use_and_drop(
        lambda url: ModelsLabLLM(api_key=API_KEY, base_url=url, max_retries=0),
        lambda llm: str(llm.chat([LlamaMessage(role="user", content="hi")]).message.content),
    )


def _use_and_drop_in_a_running_loop(
    make: Callable[[str], Any], call: Callable[[Any], Awaitable[str]]
) -> None:
    with LoopbackServer(answer) as server:

        def work() -> None:
            async def use_and_drop() -> int:
                user = make(server.base_url)
                assert await call(user) == "ok"
                del user  # never closed, and its loop goes on
                gc.collect()
                for _ in range(50):  # the pool closes in the loop, a few turns later
                    if server.open_connections == 0:
                        break
                    await asyncio.sleep(0.01)
                return server.open_connections

            assert asyncio.run(use_and_drop()) == 0

        assert _unclosed_socket_warnings(work) == []
        assert server.total_connections == 1


def test_a_dropped_async_client_closes_its_connections_in_its_loop() -> None:
    async def chat(client: AsyncModelsLabClient) -> str:
        return (await client.chat(chat_request())).choices[0].message.text

    _use_and_drop_in_a_running_loop(lambda url: AsyncModelsLabClient(config(url)), chat)


def test_a_dropped_chat_models_lab_closes_its_async_connections_in_its_loop() -> None:
    async def ainvoke(llm: ChatModelsLab) -> str:
        return str((await llm.ainvoke("hi")).content)

    _use_and_drop_in_a_running_loop(
        lambda url: ChatModelsLab(api_key=API_KEY, base_url=url, max_retries=0), ainvoke
    )


def test_a_dropped_models_lab_llm_closes_its_async_connections_in_its_loop() -> None:
    async def achat(llm: ModelsLabLLM) -> str:
        return str((await llm.achat([LlamaMessage(role="user", content="hi")])).message.content)

    _use_and_drop_in_a_running_loop(
        lambda url: ModelsLabLLM(api_key=API_KEY, base_url=url, max_retries=0), achat
    )


def two_chunks_apart(conn: LoopbackConnection, request: LoopbackRequest) -> bool:
    """A stream whose second half is sent 0.2 s after its first."""
    conn.send_sse_headers()
    conn.send_chunk(sse(chunk("h"), done=False))
    conn.wait(0.2)
    conn.send_chunk(sse(chunk("i"), chunk(finish_reason="stop")))
    conn.end_chunks()
    return True


def test_a_stream_keeps_the_client_it_came_from_alive() -> None:
    with LoopbackServer(two_chunks_apart) as server:

        def work() -> None:
            stream = ModelsLabClient(config(server.base_url)).stream_chat(chat_request())
            first = next(stream)
            gc.collect()  # the client is referenced by its stream alone
            rest = [c.choices[0].delta.content for c in stream if c.choices]
            assert "".join(p or "" for p in [first.choices[0].delta.content, *rest]) == "hi"
            del stream

        assert _unclosed_socket_warnings(work) == []
        assert server.wait_until_no_open_connections() == 0


def test_an_async_stream_keeps_the_client_it_came_from_alive() -> None:
    with LoopbackServer(two_chunks_apart) as server:

        async def read_after_the_client_is_dropped() -> str:
            stream = await AsyncModelsLabClient(config(server.base_url)).stream_chat(chat_request())
            first = await anext(stream)
            gc.collect()  # the client is referenced by its stream alone
            await asyncio.sleep(0.05)  # a loop turn: a dropped client's pool would close now
            rest = [c.choices[0].delta.content async for c in stream if c.choices]
            return "".join(p or "" for p in [first.choices[0].delta.content, *rest])

        def work() -> None:
            assert asyncio.run(read_after_the_client_is_dropped()) == "hi"

        assert _unclosed_socket_warnings(work) == []
        assert server.wait_until_no_open_connections() == 0


# ------------------------------------------------------------- one pool per event loop


def test_two_live_loops_in_turn_each_reuse_their_own_connection() -> None:
    with LoopbackServer(answer) as server:
        client = AsyncModelsLabClient(config(server.base_url))
        loops = [asyncio.new_event_loop(), asyncio.new_event_loop()]
        pools: list[set[int]] = [set(), set()]

        async def call(which: int) -> str:
            reply = await client.chat(chat_request())
            pools[which].add(id(client.http_client))
            return reply.choices[0].message.text

        for _ in range(5):
            for which, loop in enumerate(loops):
                assert loop.run_until_complete(call(which)) == "ok"
        assert len(server.requests) == 10
        assert server.total_connections == 2  # one per loop, not one per call
        assert len(pools[0]) == len(pools[1]) == 1
        assert pools[0] != pools[1]
        for loop in loops:  # what asyncio.run does when it ends: the pool closes too
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        assert server.wait_until_no_open_connections() == 0


def _chat_twice_in_new_loops(call: Any) -> list[str]:
    texts: list[str] = []
    gc.collect()  # garbage of earlier tests (their event loops) must not count here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        texts.append(asyncio.run(call()))
        texts.append(asyncio.run(call()))
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaks == []
    return texts


def test_two_asyncio_runs_leave_no_socket_open() -> None:
    with LoopbackServer(answer) as server:
        client = AsyncModelsLabClient(config(server.base_url))

        async def call() -> str:
            return (await client.chat(chat_request())).choices[0].message.text

        assert _chat_twice_in_new_loops(call) == ["ok", "ok"]
        assert server.wait_until_no_open_connections() == 0
        assert server.total_connections == 2


def test_two_asyncio_runs_of_chat_models_lab_leave_no_socket_open() -> None:
    with LoopbackServer(answer) as server:
        llm = ChatModelsLab(api_key=API_KEY, base_url=server.base_url, max_retries=0)

        async def call() -> str:
            return str((await llm.ainvoke("Hi")).content)

        assert _chat_twice_in_new_loops(call) == ["ok", "ok"]
        assert server.wait_until_no_open_connections() == 0


def test_two_asyncio_runs_of_models_lab_llm_leave_no_socket_open() -> None:
    with LoopbackServer(answer) as server:
        llm = ModelsLabLLM(api_key=API_KEY, base_url=server.base_url, max_retries=0)

        async def call() -> str:
            reply = await llm.achat([LlamaMessage(role="user", content="Hi")])
            return str(reply.message.content)

        assert _chat_twice_in_new_loops(call) == ["ok", "ok"]
        assert server.wait_until_no_open_connections() == 0


# ---------------------------------------------------- streams abandoned at loop shutdown


def _abandon_in_a_loop(first_piece: Any, caplog: pytest.LogCaptureFixture) -> str:
    caplog.set_level(logging.ERROR, logger="asyncio")
    text = asyncio.run(first_piece())
    gc.collect()
    problems = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert problems == []
    assert "already running" not in caplog.text
    return text


def test_a_transport_stream_open_at_loop_end_is_released(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with LoopbackServer(stall_stream) as server:
        client = AsyncModelsLabClient(config(server.base_url))

        got: list[str] = []

        async def read_forever(first: asyncio.Event) -> None:
            async with await client.stream_chat(chat_request()) as stream:
                async for piece in stream:
                    got.append(piece.choices[0].delta.text)
                    first.set()
                    await asyncio.sleep(3600)  # still open when the loop ends

        async def first_piece() -> str:
            first = asyncio.Event()
            reader = asyncio.get_running_loop().create_task(read_forever(first))
            await asyncio.wait_for(first.wait(), timeout=10)
            assert not reader.done()
            return got[0]  # asyncio.run then cancels the reader and shuts the loop down

        assert _abandon_in_a_loop(first_piece, caplog) == "a"
        assert server.wait_until_no_open_connections() == 0


def test_chat_models_lab_astream_abandoned_at_loop_end_is_released(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with LoopbackServer(stall_stream) as server:
        llm = ChatModelsLab(api_key=API_KEY, base_url=server.base_url, max_retries=0)

        async def first_piece() -> str:
            async for piece in llm.astream("Hi"):
                return str(piece.content)
            return ""

        assert _abandon_in_a_loop(first_piece, caplog) == "a"
        assert server.wait_until_no_open_connections() == 0


def test_models_lab_llm_astream_chat_abandoned_at_loop_end_is_released(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with LoopbackServer(stall_stream) as server:
        llm = ModelsLabLLM(api_key=API_KEY, base_url=server.base_url, max_retries=0)

        async def first_piece() -> str:
            pieces = await llm.astream_chat([LlamaMessage(role="user", content="Hi")])
            async for piece in pieces:
                return str(piece.delta)
            return ""

        assert _abandon_in_a_loop(first_piece, caplog) == "a"
        assert server.wait_until_no_open_connections() == 0


# ---------------------------------------------------------------------------- fork


def _in_child(work: Any) -> int:
    """Run ``work`` in a forked child; its exit status (0 when ``work`` returned True)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 1
        try:
            code = 0 if work() else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_forked_child_never_reuses_the_parents_sync_connections() -> None:
    with LoopbackServer(answer) as server:
        client = ModelsLabClient(config(server.base_url))
        assert client.chat(chat_request()).choices[0].message.text == "ok"
        parents = client.http_client

        def child() -> bool:
            ours = client.http_client
            return (
                ours is not parents and client.chat(chat_request()).choices[0].message.text == "ok"
            )

        assert _in_child(child) == 0
        assert client.http_client is parents
        assert client.chat(chat_request()).choices[0].message.text == "ok"
        assert len(server.requests) == 3
        assert server.total_connections == 2  # the parent's (used twice) and the child's
        client.close()


@contextlib.contextmanager
def _held_by_another_thread(lock: Any) -> Any:
    """``lock`` held by a thread of this process for the ``with`` block (as at a fork)."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            release.wait(30)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(10)
    try:
        yield
    finally:
        release.set()
        thread.join(10)


def _answers_within_10_s(client: ModelsLabClient) -> Callable[[], bool]:
    def child() -> bool:
        signal.alarm(10)  # a child stuck on a lock is killed (SIGALRM), not waited for
        return client.chat(chat_request()).choices[0].message.text == "ok"

    return child


@pytest.mark.parametrize("held", ["watchdog", "account limit", "account registry", "pool holder"])
def test_a_child_forked_while_another_thread_holds_a_lock_is_not_stuck(held: str) -> None:
    # os.fork() copies a held lock as held; the thread that would release it is not copied.
    with LoopbackServer(answer) as server:
        settings = ClientSettings(api_key=API_KEY, base_url=server.base_url, max_concurrency=4)
        client = ModelsLabClient(settings)
        assert client.chat(chat_request()).choices[0].message.text == "ok"  # all built
        lock = {
            "watchdog": WATCHDOG._cond,
            "account limit": account_limit(settings)._lock,
            "account registry": concurrency._REGISTRY_LOCK,
            "pool holder": client._http._lock,
        }[held]
        # An account this process has not used yet: its limit is built under that lock.
        other = ModelsLabClient(
            ClientSettings(api_key=API_KEY + "-other", base_url=server.base_url, max_concurrency=4)
        )
        in_child = other if held == "account registry" else client
        with _held_by_another_thread(lock):
            assert _in_child(_answers_within_10_s(in_child)) == 0
        assert client.chat(chat_request()).choices[0].message.text == "ok"
        client.close()


def test_a_forked_child_has_every_slot_of_the_account_limit() -> None:
    # The parent's requests in flight hold the parent's slots, not the child's.
    with LoopbackServer(answer) as server:
        settings = ClientSettings(
            api_key=API_KEY, base_url=server.base_url, max_concurrency=1, queue_timeout=2
        )
        client = ModelsLabClient(settings)
        slot = account_limit(settings).acquire(call_deadline(settings))  # a call in flight
        try:
            assert _in_child(_answers_within_10_s(client)) == 0
        finally:
            slot.release()
        client.close()


def test_a_forked_child_never_reuses_the_parents_async_connections() -> None:
    with LoopbackServer(answer) as server:
        client = AsyncModelsLabClient(config(server.base_url))
        loop = asyncio.new_event_loop()
        assert loop.run_until_complete(client.chat(chat_request())).choices[0].message.text
        parents = loop.run_until_complete(asyncio.sleep(0, client.http_client))

        def child() -> bool:
            async def call() -> bool:
                reply = await client.chat(chat_request())
                return client.http_client is not parents and reply.choices[0].message.text == "ok"

            return asyncio.run(call())

        assert _in_child(child) == 0
        assert loop.run_until_complete(client.chat(chat_request())).choices[0].message.text
        assert server.total_connections == 2
        loop.run_until_complete(client.aclose())
        loop.close()


def test_chat_models_lab_in_a_forked_child_opens_its_own_connection() -> None:
    with LoopbackServer(answer) as server:
        llm = ChatModelsLab(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        assert llm.invoke("Hi").content == "ok"
        assert _in_child(lambda: llm.invoke("Hi").content == "ok") == 0
        assert llm.invoke("Hi").content == "ok"
        assert server.total_connections == 2


def test_models_lab_llm_in_a_forked_child_opens_its_own_connection() -> None:
    with LoopbackServer(answer) as server:
        llm = ModelsLabLLM(api_key=API_KEY, base_url=server.base_url, max_retries=0)
        ask = [LlamaMessage(role="user", content="Hi")]
        assert llm.chat(ask).message.content == "ok"
        assert _in_child(lambda: llm.chat(ask).message.content == "ok") == 0
        assert llm.chat(ask).message.content == "ok"
        assert server.total_connections == 2


# ----------------------------------------------------------------- copies and pickles


def test_a_used_sync_client_copies_and_pickles_without_its_pool() -> None:
    with LoopbackServer(answer) as server:
        client = ModelsLabClient(config(server.base_url))
        assert client.chat(chat_request()).choices[0].message.text == "ok"
        for twin in (pickle.loads(pickle.dumps(client)), copy.deepcopy(client), copy.copy(client)):
            assert twin.settings == client.settings
            assert twin.http_client is not client.http_client
            assert twin.chat(chat_request()).choices[0].message.text == "ok"
            twin.close()
        assert not client.http_client.is_closed
        client.close()


async def test_a_used_async_client_copies_and_pickles_without_its_pools() -> None:
    with LoopbackServer(answer) as server:
        client = AsyncModelsLabClient(config(server.base_url))
        assert (await client.chat(chat_request())).choices[0].message.text == "ok"
        for twin in (pickle.loads(pickle.dumps(client)), copy.deepcopy(client)):
            assert twin.http_client is not client.http_client
            assert (await twin.chat(chat_request())).choices[0].message.text == "ok"
            await twin.aclose()
        await client.aclose()


def test_an_injected_client_is_shared_by_a_deep_copy_and_refuses_pickling() -> None:
    injected = httpx2.Client()
    client = ModelsLabClient(config("http://127.0.0.1:9"), http_client=injected)
    assert copy.deepcopy(client).http_client is injected
    with pytest.raises(TypeError, match="with http_client given cannot be pickled"):
        pickle.dumps(client)
    injected.close()


@pytest.mark.parametrize(
    ("cls", "async_name"),
    [(ChatModelsLab, "http_async_client"), (ModelsLabLLM, "async_http_client")],
)
@pytest.mark.parametrize("given", ["sync", "async", "both"])
def test_a_model_with_a_callers_client_refuses_pickling_and_stays_whole(
    cls: type[Any], async_name: str, given: str
) -> None:
    sync, asynchronous = httpx2.Client(), httpx2.AsyncClient()
    fields: dict[str, Any] = {}
    if given in ("sync", "both"):
        fields["http_client"] = sync
    if given in ("async", "both"):
        fields[async_name] = asynchronous
    with LoopbackServer(answer) as server:
        llm = cls(api_key=API_KEY, base_url=server.base_url, max_retries=0, **fields)
        names = " and ".join(fields)
        with pytest.raises(
            TypeError, match=f"a {cls.__name__} with {names} given cannot be pickled"
        ):
            pickle.dumps(llm)
        for name, client in fields.items():  # the live model keeps its clients
            assert getattr(llm, name) is client
        twin = copy.deepcopy(llm)  # a copy shares them
        for name, client in fields.items():
            assert getattr(twin, name) is client
        ask = (
            (lambda m: m.invoke("hi").content)
            if cls is ChatModelsLab
            else (lambda m: m.chat([LlamaMessage(role="user", content="hi")]).message.content)
        )
        assert ask(llm) == ask(twin) == "ok"
    sync.close()


def test_the_framework_packages_never_import_httpx2_or_httpx() -> None:
    import re
    from pathlib import Path

    import langchain_modelslab
    import llama_index_modelslab

    pattern = re.compile(r"^\s*(import|from)\s+httpx", re.MULTILINE)
    offenders = [
        path.name
        for package in (langchain_modelslab, llama_index_modelslab)
        for path in Path(package.__file__).parent.glob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []
