"""End to end: a VectorStoreIndex over real documents, embedded by a real local model,
answering through ModelsLabLLM (LLM traffic replayed from cassettes; embeddings are
computed locally on every run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.base.response.schema import Response, StreamingResponse

from examples.minilm import MiniLMEmbedding
from llama_index_modelslab import ModelsLabLLM

pytestmark = pytest.mark.vcr

DOCS = Path(__file__).parent / "data" / "docs"
QUESTION = "How long is a year on Mercury?"


def planet_documents() -> list[Document]:
    """Five short articles about planets, one document each."""
    return [
        Document(
            text=path.read_text(encoding="utf-8").strip(),
            id_=path.stem,
            metadata={"source": path.name},
        )
        for path in sorted(DOCS.glob("*.txt"))
    ]


@pytest.fixture(scope="module")
def index() -> VectorStoreIndex:
    return VectorStoreIndex.from_documents(planet_documents(), embed_model=MiniLMEmbedding())


def assert_grounded(response: Any, sent: dict[str, Any]) -> None:
    assert response.source_nodes[0].node.metadata["source"] == "mercury.txt"
    prompt = "\n".join(m["content"] for m in sent["messages"])
    assert "88 Earth days" in prompt
    assert QUESTION in prompt


def test_query_engine_answers_through_modelslab(
    index: VectorStoreIndex, llm: ModelsLabLLM, vcr: Any
) -> None:
    engine = index.as_query_engine(llm=llm, similarity_top_k=2)
    response = engine.query(QUESTION)
    assert isinstance(response, Response)
    assert str(response).strip()
    assert len(response.source_nodes) == 2
    assert_grounded(response, json.loads(vcr.requests[0].body))


def test_streaming_query_engine(index: VectorStoreIndex, llm: ModelsLabLLM, vcr: Any) -> None:
    engine = index.as_query_engine(llm=llm, similarity_top_k=2, streaming=True)
    response = engine.query(QUESTION)
    assert isinstance(response, StreamingResponse)
    pieces = list(response.response_gen)
    assert len(pieces) > 1
    assert "".join(pieces).strip()
    assert_grounded(response, json.loads(vcr.requests[0].body))


async def test_async_query_engine(index: VectorStoreIndex, llm: ModelsLabLLM, vcr: Any) -> None:
    engine = index.as_query_engine(llm=llm, similarity_top_k=2)
    response = await engine.aquery(QUESTION)
    assert str(response).strip()
    assert_grounded(response, json.loads(vcr.requests[0].body))
