"""One typed settings object. Defaults live here; the CLI overrides them from flags and
`NEWSRAG_*` environment variables at start-up; the core never reads the environment."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from index import ChunkSettings, IndexConfig
from index.loaders import DEFAULT_MAX_BYTES

from .errors import ConfigError


def _s(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _s(Path(".newsrag"), "where the index, registry and manifest live")
    chroma_host: str | None = _s(None, "Chroma server host (`chroma run`); unset: embedded Chroma in the data dir")
    chroma_port: int = _s(8000, "Chroma server port")
    embedder: str = _s("sentence-transformers",
                       "embedding backend: sentence-transformers, onnx, onnx-int8, or package.module:Class")
    embed_model_path: Path | None = _s(None, "a local sentence-transformers model dir; unset: the bundled MiniLM")
    chunk_size: int | None = _s(None, "chunk size in word-piece tokens; unset: as the index was built, "
                                      f"or {ChunkSettings.size} for a new one")
    chunk_overlap: int | None = _s(None, f"overlap between chunks in tokens (whole sentences); default {ChunkSettings.overlap}")
    batch_chunks: int = _s(256, "chunks embedded and written per batch (smaller: less lost to a crash)")
    max_file_mb: float = _s(DEFAULT_MAX_BYTES / 2**20, "files larger than this are refused")

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
                           model_path=self.embed_model_path, chroma_host=self.chroma_host,
                           chroma_port=self.chroma_port, batch_chunks=self.batch_chunks, max_file_bytes=int(self.max_file_mb * 2**20))


def _coerce(cls, name: str, value):
    kind = {f.name: f.type for f in dataclasses.fields(cls)}[name]
    try:
        if "int" in kind:
            return int(value)
        if "float" in kind:
            return float(value)
        if "Path" in kind:
            return Path(value)
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"setting {name}={value!r} is not valid ({exc})") from exc
