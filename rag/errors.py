"""newsrag's errors; the hierarchy lives in `index` (which imports nothing of ours)."""
from index.errors import ConfigError, IndexMismatchError, NewsragError, StoreUnavailableError

__all__ = ["ConfigError", "IndexMismatchError", "NewsragError", "StoreUnavailableError"]
