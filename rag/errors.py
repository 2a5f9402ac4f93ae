"""newsrag's errors; the base hierarchy lives in `index` (which imports nothing of ours)."""
from index.errors import ConfigError, IndexMismatchError, NewsragError, StoreUnavailableError


class LLMUnavailableError(NewsragError):
    """The LLM backend cannot be loaded or reached (server down, bad URL, missing model)."""


__all__ = ["ConfigError", "IndexMismatchError", "LLMUnavailableError", "NewsragError", "StoreUnavailableError"]
