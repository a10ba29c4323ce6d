"""Profile one contender of one scenario under pyinstrument.

``python -m benchmarks.profile KIND KEY [--path /c2000] [--runs N] [--html out.html]``

``KIND`` is ``stream``, ``invoke``, ``ainvoke`` or ``tools``; ``KEY`` a contender key
from :data:`benchmarks.clients.BUILDERS` (``tr-ours``, ``lc-ours``, ``lc-openai``, ...).
The loopback server is started as for the benchmarks. For py-spy instead, run the
same contender under ``py-spy record -o out.svg -- python -m benchmarks.profile ...
--no-profiler``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.clients import BUILDERS
from benchmarks.runner import close_all, running_server


async def _await(call: Callable[[], Awaitable[Any]]) -> None:
    await call()


DEFAULT_PATHS = {"stream": "/c2000", "invoke": "/c20", "ainvoke": "/c20", "tools": "/c0/t200"}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("kind", choices=sorted(DEFAULT_PATHS))
    parser.add_argument("key", choices=sorted(BUILDERS))
    parser.add_argument("--path", help="scenario path of the base URL (default by kind)")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--html", help="write pyinstrument's HTML report here")
    parser.add_argument("--no-profiler", action="store_true", help="just run (for py-spy)")
    args = parser.parse_args()
    with running_server() as server:
        contender = BUILDERS[args.key](args.kind, server.url(args.path or DEFAULT_PATHS[args.kind]))

        def work() -> None:
            for _ in range(args.runs):
                if contender.run is not None:
                    contender.run()
                else:
                    assert contender.arun is not None
                    asyncio.run(_await(contender.arun))

        work()  # warm-up
        if args.no_profiler:
            work()
        else:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002)
            with profiler:
                work()
            if args.html:
                with open(args.html, "w") as out:
                    out.write(profiler.output_html())
            print(profiler.output_text(unicode=True, color=False, show_all=False))
        close_all([contender])


if __name__ == "__main__":
    main()
