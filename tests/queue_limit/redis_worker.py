"""One worker process of the Redis queue-limit test: ``python -m tests.queue_limit.redis_worker
BASE_URL TAG N``, with ``$MODELSLAB_REDIS_URL`` set. Sends N prompts with
``ChatModelsLab.abatch`` and prints one JSON line: answers right, errors."""

from __future__ import annotations

import asyncio
import json
import sys

from langchain_modelslab import ChatModelsLab
from tests.support.queue_server import answer_for


async def main(base_url: str, tag: str, count: int) -> None:
    llm = ChatModelsLab(
        model="m", api_key="sk-queue-test-key", base_url=base_url, max_concurrency=5
    )
    prompts = [f"{tag}-{i}" for i in range(count)]
    results = await llm.abatch(prompts, return_exceptions=True)
    errors = [repr(r) for r in results if isinstance(r, BaseException)]
    right = sum(
        1
        for p, r in zip(prompts, results, strict=True)
        if not isinstance(r, BaseException) and r.content == answer_for(p)
    )
    print(json.dumps({"right": right, "errors": errors}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
