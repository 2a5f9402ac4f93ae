"""Indexing: load articles, chunk them, embed the chunks and store them in Chroma."""
from .chunking import ChunkSettings
from .errors import ConfigError, IndexMismatchError, NewsragError, StoreUnavailableError
from .models import Article, Chunk, FileReport, IngestReport
from .pipeline import Index, IndexConfig

__all__ = ["Article", "Chunk", "ChunkSettings", "ConfigError", "Index", "IndexConfig",
           "FileReport", "IndexMismatchError", "IngestReport", "NewsragError", "StoreUnavailableError"]
