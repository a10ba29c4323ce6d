"""The local embedding model used by the RAG test matches the reference implementation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from examples.minilm import MiniLMEmbedding, encode

REFERENCE = Path(__file__).parent / "data" / "minilm_reference.json"


def test_minilm_matches_reference() -> None:
    """Embeddings equal sentence-transformers' (see the file's "generator") within rounding."""
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
    expected = np.array(reference["embeddings"], dtype=np.float32)
    assert np.abs(encode(reference["texts"]) - expected).max() < 1e-5


def test_minilm_embedding_ranks_related_text_first() -> None:
    model = MiniLMEmbedding()
    query = model.get_query_embedding("Which city is the capital of France?")
    texts = ["Bread is baked from flour and water.", "Paris is the capital city of France."]
    scores = [model.similarity(query, vector) for vector in model.get_text_embedding_batch(texts)]
    assert scores[1] > scores[0]
    assert len(query) == 384
