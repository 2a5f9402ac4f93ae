"""Indexing: load articles, chunk them, embed the chunks and store them in Chroma."""
from .chunking import ChunkSettings
from .errors import ConfigError, IndexMismatchError, NewsragError, StoreUnavailableError
from .models import Article, Chunk
from .pipeline import FileReport, Index, IndexConfig, IngestReport

__all__ = ["Article", "Chunk", "ChunkSettings", "ConfigError", "Index", "IndexConfig",
           "FileReport", "IndexMismatchError", "IngestReport", "NewsragError", "StoreUnavailableError"]
