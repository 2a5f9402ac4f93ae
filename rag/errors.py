"""newsrag's errors; the base hierarchy lives in `index` (which imports nothing of ours)."""
from index.errors import ConfigError, DiskFullError, IndexMismatchError, NewsragError, StoreUnavailableError
from index.plugins import require_extra


class LLMError(NewsragError):
    """The LLM gave no usable reply: unreachable, too slow, or not speaking its protocol.
    An answer survives it by falling back to the verified evidence."""


class LLMUnavailableError(LLMError):
    """The LLM backend cannot be loaded or reached (server down, bad URL, missing model)."""


__all__ = ["ConfigError", "DiskFullError", "IndexMismatchError", "LLMError", "LLMUnavailableError", "NewsragError",
           "StoreUnavailableError", "require_extra"]
