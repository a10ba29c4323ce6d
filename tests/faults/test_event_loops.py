"""Event loops and shutdown, end to end in a fresh interpreter (``-W error::ResourceWarning``).

A child process drives one ``ChatModelsLab`` and one ``ModelsLabLLM`` against a loopback
fault server run by the test: two ``asyncio.run`` calls in a row, one instance used from
two live event loops in turn, and an async stream still open when its loop ends. With
ResourceWarnings made errors, an unclosed socket prints "Exception ignored ... ResourceWarning"
on stderr; an async generator finalised twice prints "aclose(): asynchronous generator is
already running". Neither may appear, nor the key, and each loop opens one connection.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap

from tests.faults.drivers import FAKE_KEY, Framework
from tests.faults.leaks import assert_no_key
from tests.support.fault_server import FaultServer, json_reply, sse_reply
from tests.support.replies import chunk, completion_body

_CHILD = textwrap.dedent(
    """
    import asyncio, gc, sys
    from langchain_modelslab import ChatModelsLab
    from llama_index.core.base.llms.types import ChatMessage
    from llama_index_modelslab import ModelsLabLLM

    key = sys.argv[1]
    prompt = [ChatMessage(role="user", content="hi")]

    def calls(framework, base_url):
        if framework == "langchain":
            llm = ChatModelsLab(api_key=key, base_url=base_url, max_retries=0)
            async def once():
                return str((await llm.ainvoke("hi")).content)
            async def first_piece():
                async for piece in llm.astream("hi"):
                    return str(piece.content)
        else:
            llm = ModelsLabLLM(api_key=key, base_url=base_url, max_retries=0)
            async def once():
                return str((await llm.achat(prompt)).message.content)
            async def first_piece():
                async for piece in await llm.astream_chat(prompt):
                    return str(piece.delta)
        return once, first_piece

    for argument in sys.argv[2:]:
        framework, what, base_url = argument.split(",")
        once, first_piece = calls(framework, base_url)
        if what == "two_runs":
            print(asyncio.run(once()), asyncio.run(once()))
        elif what == "two_loops":
            loops = [asyncio.new_event_loop(), asyncio.new_event_loop()]
            print(*[loop.run_until_complete(once()) for _ in range(3) for loop in loops])
            for loop in loops:  # what asyncio.run does as it ends
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()
        else:
            print(asyncio.run(first_piece()))  # the stream is still open as the loop ends
        del once, first_piece
        gc.collect()
    """
)

FRAMEWORKS: tuple[Framework, ...] = ("langchain", "llama_index")


def test_event_loops_and_shutdown_leave_nothing_open() -> None:
    """Both classes: two ``asyncio.run``; two live loops in turn; a stream open at loop end."""
    stream = sse_reply(*([chunk("a")] + [chunk("b")] * 3), pause=1.0)
    plan = [
        (framework, what, behaviour)
        for framework in FRAMEWORKS
        for what, behaviour in (
            ("two_runs", json_reply(completion_body("ok"))),
            ("two_loops", json_reply(completion_body("ok"))),
            ("abandon", stream),
        )
    ]
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(FaultServer(behaviour)) for _, _, behaviour in plan]
        arguments = [
            f"{framework},{what},{server.base_url}"
            for (framework, what, _), server in zip(plan, servers, strict=True)
        ]
        result = subprocess.run(
            [sys.executable, "-W", "error::ResourceWarning", "-c", _CHILD, FAKE_KEY, *arguments],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert_no_key([result.stdout, result.stderr], "the child's output")
        assert "ResourceWarning" not in result.stderr, result.stderr
        assert "already running" not in result.stderr, result.stderr
        assert "Exception ignored" not in result.stderr, result.stderr
        assert result.returncode == 0, result.stderr
        expected = {"two_runs": "ok ok", "two_loops": " ".join(["ok"] * 6), "abandon": "a"}
        assert result.stdout.split("\n")[:-1] == [expected[what] for _, what, _ in plan]
        for (_, what, _), server in zip(plan, servers, strict=True):
            assert server.wait_until_no_open_connections() == 0, what
            if what == "two_runs":
                assert server.request_count == 2
            if what == "two_loops":
                assert server.request_count == 6
                assert server.total_connections == 2  # one per loop, not one per call
