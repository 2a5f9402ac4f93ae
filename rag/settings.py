"""One typed settings object. Defaults live here; the CLI overrides them from flags and
`NEWSRAG_*` environment variables at start-up; the core never reads the environment."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from index import ChunkSettings, IndexConfig
from .answer import AnswerSettings
from .retrieval import MODES, RetrievalSettings
from index.embedder import DEFAULT_BACKEND
from index.loaders import DEFAULT_MAX_BYTES

from .errors import ConfigError


_R, _A = RetrievalSettings, AnswerSettings  # the stages' defaults, stated once there


def _s(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _s(Path(".newsrag"), "where the index, registry and manifest live")
    chroma_host: str | None = _s(None, "Chroma server host (`chroma run`); unset: embedded Chroma in the data dir")
    chroma_port: int = _s(IndexConfig.chroma_port, "Chroma server port")
    store: str = _s("chroma", "vector store backend (a `newsrag.stores` entry point)")
    embedder: str | None = _s(None, "embedding backend: sentence-transformers (torch), onnx (same vectors, ~1.4x "
                                    "faster), onnx-int8 (~2x), or an Embedder class package.module:Class; "
                                    f"unset: as the index was built, or {DEFAULT_BACKEND} for a new one")
    embed_model_path: Path | None = _s(None, "a local sentence-transformers model dir; unset: the bundled MiniLM")
    chunk_size: int | None = _s(None, "chunk size in word-piece tokens; unset: as the index was built, "
                                      f"or {ChunkSettings.size} for a new one")
    chunk_overlap: int | None = _s(None, f"overlap between chunks in tokens (whole sentences); default {ChunkSettings.overlap}")
    llm: str = _s("extractive", "answer backend (extractive: no model; local: llama.cpp GGUF; ollama; openai: "
                                 "any OpenAI-compatible server), or a LlamaIndex LLM class package.module:Class")
    llm_model: str | None = _s(None, "local: a GGUF path or a catalog model (qwen2.5-coder-0.5b, qwen2.5-coder-1.5b; "
                                     "unset: bundled SmolLM2-135M); ollama/openai: model name")
    model_cache: Path | None = _s(None, "where catalog models are joined and checked and ONNX embedders built, once; unset: <data dir>/models")
    reader: str = _s("auto", "which sentence answers: score (no model), model (the LLM picks a phrase, found "
                             "word for word), generate (the LLM writes, each sentence verified), model-shuffled "
                             "(model, sentences shown shuffled: measures position bias); auto: score for "
                             "extractive, model for local, generate for ollama/openai")
    llm_options: str | None = _s(None, "a dotted LlamaIndex LLM class: its constructor arguments as a JSON object")
    llm_base_url: str | None = _s(None, "ollama/openai server URL, e.g. http://127.0.0.1:11434 or http://host:8000/v1")
    llm_api_key: str | None = _s(None, "API key for an OpenAI-compatible server")
    llm_threads: int = _s(0, "local: llama.cpp threads; 0 = all cores (on a busy machine 1 is faster: "
                             "its threads spin while waiting)")
    llm_timeout: float = _s(60.0, "seconds an LLM server may take for a whole reply (then the answer quotes "
                                  "the evidence)")
    retrieval: str = _s("hybrid", "hybrid (dense + BM25, fused), dense or bm25")
    top_k: int = _s(_R.top_k, "chunks retrieved per question")
    per_article: int = _s(_R.per_article, "at most this many of the top chunks from one article")
    dense_weight: float = _s(_R.dense_weight, "weight of dense ranks in reciprocal-rank fusion")
    bm25_weight: float = _s(_R.bm25_weight, "weight of BM25 ranks in reciprocal-rank fusion (0.5: best answers on "
                                 "the gold sets, see README)")
    rerank: str = _s("none", "re-rank the fused candidates (cross-encoder:PATH: a local CrossEncoder folder), "
                             "or a Reranker class package.module:Class")
    rerank_depth: int = _s(_R.rerank_depth, "fused candidates the reranker reorders")
    mmr_weight: float = _s(0.7, "mmr: weight of relevance against novelty (1.0 = no diversity)")
    min_evidence: float = _s(_A.min_evidence, "abstain when the best evidence sentence scores below this")
    support_threshold: float = _s(_A.support_threshold, "verifier: support a generated sentence needs to be kept")
    max_question_chars: int = _s(2000, "longer questions are refused (the web chat's box holds as many)")
    workers: int = _s(IndexConfig.workers, "processes that embed and upsert during an ingest; more than 1 needs a "
                                           "Chroma server (--chroma-host)")
    batch_chunks: int = _s(IndexConfig.batch_chunks, "chunks embedded and written per batch (smaller: less lost "
                                                      "to a crash)")
    near_duplicate: float = _s(IndexConfig.near_duplicate, "an article at least this similar to a stored one "
                                "(MinHash estimate of word 3-shingle Jaccard) is stored as its copy: cited "
                                "once, \"also reported by\" (1.0: only the same text)")
    max_file_mb: float = _s(DEFAULT_MAX_BYTES / 2**20, "files larger than this are refused")
    ingest_root: tuple[Path, ...] = _s((), "folders the web UI may ingest from, with everything under them "
                                           f"(env: separated by {os.pathsep!r}); none: folder ingest from the web is off")
    max_upload_files: int = _s(50, "web uploads: at most this many files per ingest")
    max_upload_mb: float = _s(50.0, "web uploads: at most this many MB in all per ingest")
    login_attempts: int = _s(5, "--auth: failed sign-ins from one address before it must wait")
    login_wait: float = _s(30.0, "--auth: seconds that wait lasts; doubled by each further failure, up to an hour")

    @classmethod
    def from_env(cls, environ: Mapping[str, str], **overrides) -> "Settings":
        """Settings from `NEWSRAG_<NAME>` variables, then `overrides` (None means not given)."""
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"NEWSRAG_{f.name.upper()}")
            if raw not in (None, ""):
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**{k: _coerce(cls, k, v) for k, v in values.items()})

    def index_config(self) -> IndexConfig:
        chunking = None
        if self.chunk_size is not None or self.chunk_overlap is not None:
            try:
                chunking = ChunkSettings(self.chunk_size or ChunkSettings.size,
                                         ChunkSettings.overlap if self.chunk_overlap is None else self.chunk_overlap)
            except ValueError as exc:
                raise ConfigError(f"{exc}; set --chunk-size/--chunk-overlap accordingly") from exc
        return IndexConfig(data_dir=Path(self.data_dir), chunking=chunking, embedder=self.embedder,
                           model_path=self.embed_model_path, cache_dir=self.models_dir(), chroma_host=self.chroma_host, store=self.store,
                           chroma_port=self.chroma_port, batch_chunks=self.batch_chunks, workers=self.workers, max_file_bytes=int(self.max_file_mb * 2**20),
                           near_duplicate=self.near_duplicate)


    def retrieval_settings(self) -> RetrievalSettings:
        if self.retrieval not in MODES:
            raise ConfigError(f"retrieval {self.retrieval!r} is not one of {', '.join(MODES)}")
        return RetrievalSettings(mode=self.retrieval, top_k=self.top_k, per_article=self.per_article,
                                 dense_weight=self.dense_weight, bm25_weight=self.bm25_weight,
                                 rerank_depth=self.rerank_depth)

    def answer_settings(self) -> AnswerSettings:
        return AnswerSettings(min_evidence=self.min_evidence, support_threshold=self.support_threshold)

    def models_dir(self) -> Path:
        return Path(self.model_cache) if self.model_cache else Path(self.data_dir) / "models"

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **{k: _coerce(type(self), k, v) for k, v in changes.items()})


def _coerce(cls, name: str, value):
    kind = {f.name: f.type for f in dataclasses.fields(cls)}[name]
    if value is None and "None" in kind:
        return None
    try:
        if kind.startswith("tuple"):  # a list of paths: a sequence, or one string like $PATH
            return tuple(Path(p) for p in (value.split(os.pathsep) if isinstance(value, str) else value) if p)
        if "int" in kind:
            return int(value)
        if "float" in kind:
            return float(value)
        if "Path" in kind:
            return Path(value)
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"setting {name}={value!r} is not valid ({exc})") from exc
