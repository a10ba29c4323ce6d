"""ModelsLab's per-account queue limit: batches lose nothing, 429s wait, slots are shared."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from llama_index.core.llms import ChatMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport import AsyncModelsLabClient, ClientSettings, ModelsLabClient
from modelslab_transport.errors import RateLimitError
from modelslab_transport.limits.queue import (
    AccountLimit,
    QueueTimeoutError,
    account_id,
    account_limit,
    call_deadline,
    default_max_concurrency,
    is_queue_limit,
    queue_limit_named,
)
from modelslab_transport.limits.retry import RetryPolicy
from modelslab_transport.wire import ChatCompletionRequest
from modelslab_transport.wire import ChatMessage as WireMessage
from tests.support.fault_server import FaultServer, json_reply
from tests.support.queue_server import QueueLimitedServer, answer_for
from tests.support.replies import completion_body

KEY = "sk-queue-test-key"
N = 100


def _lc(server: QueueLimitedServer, **extra: Any) -> ChatModelsLab:
    return ChatModelsLab(model="m", api_key=KEY, base_url=server.base_url, **extra)


def _li(server: QueueLimitedServer, **extra: Any) -> ModelsLabLLM:
    return ModelsLabLLM(model="m", api_key=KEY, base_url=server.base_url, **extra)


def _settings(base_url: str, **extra: Any) -> ClientSettings:
    return ClientSettings(api_key=KEY, base_url=base_url, **extra)


def _request(text: str) -> ChatCompletionRequest:
    return ChatCompletionRequest(
        model="m", messages=[WireMessage(role="user", content=text)], max_tokens=64
    )


def _check_learnt(server: QueueLimitedServer) -> None:
    """The limit was learnt from the 429 body, and no request was refused twice."""
    assert account_limit(_settings(server.base_url)).limit == server.limit
    assert server.peak_in_flight <= server.limit
    assert max(server.refusals.values(), default=0) <= 1, server.refusals.most_common(3)


# ------------------------------------------------------------------ the facts


def test_queue_limit_429_is_recognised_and_its_maximum_read() -> None:
    body = "Rate limit exceeded. Maximum 5 queued requests allowed."
    queue = RateLimitError(body, status_code=429, retry_after=30)
    other = RateLimitError("Too many requests", status_code=429)
    assert is_queue_limit(queue)
    assert queue_limit_named(queue) == 5
    assert not is_queue_limit(other)
    assert queue_limit_named(other) is None
    plan = RateLimitError("Maximum 15 queued requests allowed", status_code=429)
    assert queue_limit_named(plan) == 15


def test_default_limit_is_five_on_modelslab_and_none_elsewhere() -> None:
    assert default_max_concurrency("https://modelslab.com/api/v7/llm") == 5
    assert default_max_concurrency("https://eu.modelslab.com/api/v7/llm") == 5
    assert default_max_concurrency("http://127.0.0.1:8080") is None
    assert default_max_concurrency("https://notmodelslab.com/api") is None
    assert default_max_concurrency("https://modelslab.com./api/v7/llm") == 5  # FQDN form
    assert default_max_concurrency("https://MODELSLAB.com/api/v7/llm") == 5
    assert account_limit(_settings("https://modelslab.com/api/v7/llm")).limit == 5
    assert (
        account_limit(_settings("https://modelslab.com/api/v7/llm", max_concurrency=10)).limit == 10
    )


def test_the_registry_is_keyed_by_a_digest_of_the_key_never_the_key() -> None:
    settings = _settings("http://127.0.0.1:9")
    assert KEY not in account_id(settings)
    assert KEY not in repr(account_limit(settings))
    other = ClientSettings(api_key="sk-another", base_url="http://127.0.0.1:9")
    assert account_limit(other) is not account_limit(settings)
    assert account_limit(_settings("http://127.0.0.1:9")) is account_limit(settings)


def test_lowering_below_the_requests_in_flight_lets_them_finish_first() -> None:
    limit = AccountLimit("acct", None)
    slots = [limit.acquire(float("inf")) for _ in range(4)]
    limit.set_limit(2)
    assert limit.in_flight == 4
    with pytest.raises(QueueTimeoutError):
        limit.acquire(0.0)  # 4 in flight, limit 2: no slot
    slots[0].release()
    slots[1].release()
    with pytest.raises(QueueTimeoutError):
        limit.acquire(0.0)  # still 2 in flight
    slots[2].release()
    slots[2].release()  # twice is harmless
    third = limit.acquire(0.0)
    assert limit.in_flight == 2
    third.release()
    slots[3].release()
    assert limit.in_flight == 0


def test_raising_the_limit_frees_slots_at_once() -> None:
    limit = AccountLimit("acct", 1)
    first = limit.acquire(0.0)
    limit.set_limit(2)
    second = limit.acquire(0.0)
    assert limit.in_flight == 2
    first.release()
    second.release()


# ---------------------------------------------------------- batches, both classes


async def test_chatmodelslab_abatch_of_100_loses_none() -> None:
    with QueueLimitedServer(limit=5) as server:
        prompts = [f"question {i}" for i in range(N)]
        replies = await _lc(server).abatch(prompts)
        assert [r.content for r in replies] == [answer_for(p) for p in prompts]
        assert server.served == N
        _check_learnt(server)


async def test_modelslabllm_gather_of_100_achat_loses_none() -> None:
    with QueueLimitedServer(limit=5) as server:
        llm = _li(server)
        prompts = [f"question {i}" for i in range(N)]
        replies = await asyncio.gather(
            *(llm.achat([ChatMessage(role="user", content=p)]) for p in prompts)
        )
        assert [r.message.content for r in replies] == [answer_for(p) for p in prompts]
        _check_learnt(server)


async def test_modelslabllm_abatch_of_100_messages_protocol_loses_none() -> None:
    with QueueLimitedServer(limit=5) as server:
        llm = _li(server, api="messages")
        prompts = [f"question {i}" for i in range(N)]
        replies = await asyncio.gather(
            *(llm.achat([ChatMessage(role="user", content=p)]) for p in prompts)
        )
        assert [r.message.content for r in replies] == [answer_for(p) for p in prompts]
        _check_learnt(server)


def test_sync_batch_in_threads_with_a_known_limit_sends_no_429() -> None:
    with QueueLimitedServer(limit=5) as server:
        prompts = [f"q{i}" for i in range(40)]
        replies = _lc(server, max_concurrency=5).batch(prompts, config={"max_concurrency": 16})
        assert [r.content for r in replies] == [answer_for(p) for p in prompts]
        assert server.refused == 0
        assert server.peak_in_flight <= 5


async def test_every_instance_of_one_account_shares_one_limit() -> None:
    with QueueLimitedServer(limit=3) as server:
        first, second = _lc(server, max_concurrency=3), _lc(server)
        third = _li(server)
        transport = AsyncModelsLabClient(_settings(server.base_url))
        await first.ainvoke("first")  # the account's limit (3) is set before the burst
        calls = []
        for i in range(20):
            calls.append(first.ainvoke(f"a{i}"))
            calls.append(second.ainvoke(f"b{i}"))
            calls.append(third.achat([ChatMessage(role="user", content=f"c{i}")]))
            calls.append(transport.chat_completions(_request(f"d{i}")))
        replies = await asyncio.gather(*calls)
        assert len(replies) == 80
        assert server.refused == 0
        assert server.peak_in_flight <= 3
        await transport.aclose()


def test_threads_and_event_loops_share_one_limit() -> None:
    with QueueLimitedServer(limit=2) as server:
        llm = _lc(server, max_concurrency=2)
        errors: list[BaseException] = []
        answers: list[str] = []

        def run_loop(tag: str) -> None:
            async def main() -> None:
                replies = await llm.abatch([f"{tag}{i}" for i in range(10)])
                answers.extend(str(r.content) for r in replies)

            try:
                asyncio.run(main())
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        def run_sync(tag: str) -> None:
            try:
                answers.extend(str(llm.invoke(f"{tag}{i}").content) for i in range(5))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=run_loop, args=(t,)) for t in ("x", "y")]
        threads += [threading.Thread(target=run_sync, args=(t,)) for t in ("s", "t")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        assert len(answers) == 30
        assert server.refused == 0
        assert server.peak_in_flight <= 2


# ----------------------------------------------------------------------- streams


def test_a_sync_stream_holds_its_slot_until_closed_or_dropped() -> None:
    with QueueLimitedServer(limit=5, latency=0.0) as server:
        settings = _settings(server.base_url, max_concurrency=1, queue_timeout=0.2)
        client = ModelsLabClient(settings)
        limit = account_limit(settings)
        stream = client.stream_chat_completions(_request("s1"))
        assert limit.in_flight == 1
        with pytest.raises(QueueTimeoutError):
            client.chat_completions(_request("blocked"))
        stream.close()
        assert limit.in_flight == 0
        stream = client.stream_chat_completions(_request("s2"))
        assert "".join(c.choices[0].delta.text for c in stream if c.choices) == answer_for("s2")
        assert limit.in_flight == 0  # ended
        stream = client.stream_chat_completions(_request("s3"))
        del stream
        gc.collect()
        assert limit.in_flight == 0  # abandoned
        client.close()


async def test_an_async_stream_holds_its_slot_until_closed_or_dropped() -> None:
    with QueueLimitedServer(limit=5, latency=0.0) as server:
        settings = _settings(server.base_url, max_concurrency=1, queue_timeout=0.2)
        client = AsyncModelsLabClient(settings)
        limit = account_limit(settings)
        stream = await client.stream_chat_completions(_request("s1"))
        assert limit.in_flight == 1
        with pytest.raises(QueueTimeoutError):
            await client.chat_completions(_request("blocked"))
        await stream.aclose()
        assert limit.in_flight == 0
        stream = await client.stream_chat_completions(_request("s2"))
        texts = [c.choices[0].delta.text async for c in stream if c.choices]
        assert "".join(texts) == answer_for("s2")
        assert limit.in_flight == 0
        stream = await client.stream_chat_completions(_request("s3"))
        del stream
        gc.collect()
        assert limit.in_flight == 0
        await client.aclose()


def test_langchain_stream_over_both_protocols_releases_its_slot() -> None:
    with QueueLimitedServer(limit=5, latency=0.0) as server:
        for api in ("chat_completions", "messages"):
            llm = _lc(server, max_concurrency=1, api=api)
            text = "".join(str(chunk.content) for chunk in llm.stream("hello"))
            assert text == answer_for("hello")
            assert account_limit(_settings(server.base_url)).in_flight == 0


# --------------------------------------------------------- 429s: wait, not fail

QUEUE_429 = {
    "status": "error",
    "message": "Rate limit exceeded. Maximum 5 queued requests allowed.",
    "retry_after": 0,
}


class _Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    def policy(self) -> RetryPolicy:
        return RetryPolicy(sleep=self.sleep, async_sleep=self.asleep)


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_queue_limit_429s_do_not_count_against_max_retries(mode: str) -> None:
    refused = json_reply({**QUEUE_429, "retry_after": 2}, status=429)
    with FaultServer(refused, refused, refused, json_reply(completion_body("done"))) as server:
        sleeps = _Sleeps()
        settings = _settings(server.base_url, max_retries=0, max_concurrency=5)
        if mode == "sync":
            reply = ModelsLabClient(settings, retry_policy=sleeps.policy()).chat_completions(
                _request("x")
            )
        else:
            client = AsyncModelsLabClient(settings, retry_policy=sleeps.policy())
            reply = await client.chat_completions(_request("x"))
            await client.aclose()
        assert reply.choices[0].message.content == "done"
        assert server.request_count == 4
        # our own limit (5) was not exceeded: someone else fills the queue, so retry_after
        assert sleeps.waits == [2.0, 2.0, 2.0]


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_other_429s_keep_the_retry_policy(mode: str) -> None:
    other = json_reply({"error": {"message": "Too many requests"}}, status=429)
    with FaultServer(other, json_reply(completion_body("done"))) as server:
        sleeps = _Sleeps()
        settings = _settings(server.base_url, max_retries=0)
        if mode == "sync":
            client = ModelsLabClient(settings, retry_policy=sleeps.policy())
            with pytest.raises(RateLimitError, match="Too many requests"):
                client.chat_completions(_request("x"))
        else:
            aclient = AsyncModelsLabClient(settings, retry_policy=sleeps.policy())
            with pytest.raises(RateLimitError, match="Too many requests"):
                await aclient.chat_completions(_request("x"))
        assert server.request_count == 1


def test_queue_limit_waits_are_bounded_by_queue_timeout() -> None:
    refused = json_reply({**QUEUE_429, "retry_after": 30}, status=429)
    with FaultServer(refused) as server:
        sleeps = _Sleeps()
        settings = _settings(server.base_url, queue_timeout=5, max_concurrency=5)
        client = ModelsLabClient(settings, retry_policy=sleeps.policy())
        with pytest.raises(RateLimitError, match="Maximum 5 queued requests"):
            client.chat_completions(_request("x"))
        assert sleeps.waits == []  # a 30 s wait would pass the 5 s deadline: fail at once
        assert server.request_count == 1


def test_a_429_naming_a_lower_maximum_lowers_the_limit() -> None:
    with FaultServer(
        json_reply(QUEUE_429, status=429), json_reply(completion_body("ok"))
    ) as server:
        settings = _settings(server.base_url, max_concurrency=8)
        sleeps = _Sleeps()
        ModelsLabClient(settings, retry_policy=sleeps.policy()).chat_completions(_request("x"))
        assert account_limit(settings).limit == 5
        assert account_limit(settings).learnt == 5


def test_the_classes_pass_max_concurrency_through() -> None:
    lc = ChatModelsLab(model="m", api_key=KEY, base_url="http://127.0.0.1:9", max_concurrency=7)
    li = ModelsLabLLM(model="m", api_key=KEY, base_url="http://127.0.0.1:9", max_concurrency=7)
    assert lc.client.sync_client.settings.max_concurrency == 7
    assert li.client.async_client.settings.max_concurrency == 7
    with pytest.raises(ValueError, match="max_concurrency"):
        ChatModelsLab(model="m", api_key=KEY, max_concurrency=0)
    with pytest.raises(ValueError, match="max_concurrency"):
        ModelsLabLLM(model="m", api_key=KEY, max_concurrency=0)
    assert isinstance(AIMessage(content=""), AIMessage)


NO_SLOT = r"no slot .* raise queue_timeout"


@pytest.mark.parametrize("framework", ["langchain", "llama_index"])
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_the_classes_pass_queue_timeout_through(framework: str, use_async: bool) -> None:
    """Both classes raise a QueueTimeoutError (ChatModelsLab's also a ModelTimeoutError)."""
    from langchain_core.exceptions import ModelTimeoutError

    import langchain_modelslab

    with FaultServer(json_reply(completion_body("ok"))) as server:
        settings = _settings(server.base_url, max_concurrency=1)
        held = account_limit(settings).acquire(call_deadline(settings))  # the only slot
        try:
            if framework == "langchain":
                lc = ChatModelsLab(
                    model="m", api_key=KEY, base_url=server.base_url, queue_timeout=0.3
                )
                with pytest.raises(QueueTimeoutError, match=NO_SLOT) as caught:
                    asyncio.run(lc.ainvoke("hi")) if use_async else lc.invoke("hi")
                assert type(caught.value) is langchain_modelslab.ModelsLabQueueTimeoutError
                assert isinstance(caught.value, ModelTimeoutError)
                assert isinstance(caught.value, langchain_modelslab.ModelsLabTimeoutError)
                assert isinstance(caught.value.__cause__, QueueTimeoutError)
            else:
                li = ModelsLabLLM(
                    model="m", api_key=KEY, base_url=server.base_url, queue_timeout=0.3
                )
                messages = [ChatMessage(role="user", content="hi")]
                with pytest.raises(QueueTimeoutError, match=NO_SLOT) as caught:
                    asyncio.run(li.achat(messages)) if use_async else li.chat(messages)
                assert type(caught.value) is QueueTimeoutError
            assert caught.value.retryable is False
        finally:
            held.release()
        assert server.request_count == 0


def test_queue_timeout_error_is_exported_where_the_other_errors_are() -> None:
    import langchain_modelslab
    import modelslab_transport
    from langchain_modelslab.errors import ModelsLabQueueTimeoutError

    assert modelslab_transport.QueueTimeoutError is QueueTimeoutError
    assert "QueueTimeoutError" in modelslab_transport.__all__
    assert issubclass(QueueTimeoutError, modelslab_transport.APITimeoutError)
    assert langchain_modelslab.ModelsLabQueueTimeoutError is ModelsLabQueueTimeoutError
    assert "ModelsLabQueueTimeoutError" in langchain_modelslab.__all__
