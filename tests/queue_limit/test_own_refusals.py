"""Queue-limit 429s the process's own requests caused wait no ``retry_after``.

ModelsLab's ``retry_after`` (30 s) is for a queue other clients of the account fill. A
refusal our own requests explain (those sent with the refused one, which may have
reached the server first, or those whose replies had just come back, whose places a
server may free a moment later) is followed by a resend as soon as a slot is free (a
slot is then kept back a moment after each request ends); ``retry_after`` only when our
own requests cannot explain it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import anyio
import pytest
from llama_index.core.llms import ChatMessage

from langchain_modelslab import ChatModelsLab
from llama_index_modelslab import ModelsLabLLM
from modelslab_transport.errors import RateLimitError
from modelslab_transport.limits.queue import (
    RECENTLY_ENDED,
    AccountLimit,
    QueueTimeoutError,
    account_limit,
)
from modelslab_transport.limits.retry import RetryPolicy
from tests.support.queue_server import QueueLimitedServer, answer_for

KEY = "sk-own-refusals-key"
RETRY_AFTER = 30.0
QUEUE_429 = "Rate limit exceeded. Maximum 5 queued requests allowed."


class _Sleeps:
    """Records every wait of a client; waits at most a moment (a wrong wait fails fast)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await anyio.sleep(min(seconds, 0.05))

    def policy(self) -> RetryPolicy:
        return RetryPolicy(sleep=self.sleep, async_sleep=self.asleep)


def _refusal() -> RateLimitError:
    return RateLimitError(QUEUE_429, status_code=429, retry_after=RETRY_AFTER)


def _server() -> QueueLimitedServer:
    # Frees a place 20 ms after the reply is written: a request sent the moment a reply
    # came back is refused for the place its predecessor still holds.
    return QueueLimitedServer(limit=5, latency=0.03, retry_after=RETRY_AFTER, free_after_reply=0.02)


# --------------------------------------------------------------- AccountLimit alone


def test_a_refusal_explained_by_requests_sent_after_it_waits_for_a_slot_only() -> None:
    limit = AccountLimit("acct", None)
    early = limit.acquire(math.inf)  # sent first, but reached the server 6th
    later = [limit.acquire(math.inf) for _ in range(5)]
    early.release()
    assert early.in_flight == 1
    assert limit.wait_after(_refusal(), early, math.inf) == 0.0
    assert limit.limit == 5
    for slot in later:
        slot.release()


def test_a_refusal_explained_by_requests_that_just_ended_keeps_slots_back_after_ends() -> None:
    limit = AccountLimit("acct", 5)
    slots = [limit.acquire(math.inf) for _ in range(5)]
    slots.pop(0).release()  # its reply came back; the server may still count it
    refused = limit.acquire(math.inf)
    assert (refused.in_flight, refused.ended_before) == (5, 1)
    time.sleep(0.2)  # the refusal comes back: the place was still taken 0.2 s after the end
    refused.release()
    assert limit.wait_after(_refusal(), refused, math.inf) == 0.0
    assert 0.4 <= limit.late_free <= RECENTLY_ENDED
    # from now on a slot whose request ended is kept back a while before it is free again
    slots.pop().release()
    resent = limit.acquire(math.inf)  # the refused request's slot
    with pytest.raises(QueueTimeoutError):
        limit.acquire(time.monotonic())  # the slot that ended is not free yet
    later = limit.acquire(time.monotonic() + 10)  # it is, a moment later
    assert later.in_flight == 5
    later.release()
    resent.release()
    for slot in slots:
        slot.release()


def test_a_refusal_our_requests_cannot_explain_waits_retry_after() -> None:
    limit = AccountLimit("acct", 5)
    slots = [limit.acquire(math.inf) for _ in range(4)]
    refused = limit.acquire(math.inf)  # 5 of ours at most, none ended: someone else
    refused.release()
    assert limit.wait_after(_refusal(), refused, math.inf) == RETRY_AFTER
    # the refused request held no place: its end does not explain the next refusal
    again = limit.acquire(math.inf)
    assert again.ended_before == 0
    again.release()
    assert limit.wait_after(_refusal(), again, math.inf) == RETRY_AFTER
    for slot in slots:
        slot.release()


# ----------------------------------------------- a server that frees places late


def _no_retry_after(sleeps: _Sleeps, server: QueueLimitedServer) -> None:
    assert server.refused > 0  # our own requests were refused...
    assert max(sleeps.waits) < 1, sorted(sleeps.waits)[-8:]  # ...and none waited 30 s
    assert server.peak_in_flight <= server.limit


@pytest.mark.parametrize("max_concurrency", [None, 5], ids=["learnt", "known"])
async def test_chatmodelslab_abatch_waits_no_retry_after_for_its_own_refusals(
    max_concurrency: int | None,
) -> None:
    prompts = [f"q{i}" for i in range(40)]
    with _server() as server:
        llm = ChatModelsLab(
            model="m", api_key=KEY, base_url=server.base_url, max_concurrency=max_concurrency
        )
        sleeps = _Sleeps()
        llm.client.async_client.retry_policy = sleeps.policy()
        replies = await llm.abatch(prompts)
        await llm.aclose()
    assert [reply.content for reply in replies] == [answer_for(p) for p in prompts]
    assert account_limit(llm.client.async_client.settings).limit == 5
    _no_retry_after(sleeps, server)


async def test_modelslabllm_gathered_achat_waits_no_retry_after_for_its_own_refusals() -> None:
    prompts = [f"q{i}" for i in range(40)]
    with _server() as server:
        llm = ModelsLabLLM(model="m", api_key=KEY, base_url=server.base_url)
        sleeps = _Sleeps()
        llm.client.async_client.retry_policy = sleeps.policy()

        async def ask(prompt: str) -> Any:
            return await llm.achat([ChatMessage(role="user", content=prompt)])

        replies: list[Any] = [None] * len(prompts)

        async def one(index: int) -> None:
            replies[index] = await ask(prompts[index])

        async with anyio.create_task_group() as group:
            for index in range(len(prompts)):
                group.start_soon(one, index)
    assert [reply.message.content for reply in replies] == [answer_for(p) for p in prompts]
    _no_retry_after(sleeps, server)


def test_slots_go_back_at_once_again_after_refusals_stop() -> None:
    limit = AccountLimit("acct", 5)
    limit.late_free = 0.002  # learnt from a refusal for a place still taken
    for _ in range(20):  # each end keeps its slot back a little less long
        limit.acquire(time.monotonic() + 10).release()
    assert limit.late_free == 0.0
    limit.acquire(math.inf).release()
    assert limit.acquire(time.monotonic()).in_flight == 1  # free at once: no waiting
