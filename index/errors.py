"""The error hierarchy. Messages say what went wrong and how to fix it."""


class NewsragError(Exception):
    """Base of every error newsrag raises on purpose."""


class IndexMismatchError(NewsragError):
    """The index on disk was built with other settings than the ones in use."""


class StoreUnavailableError(NewsragError):
    """The Chroma store (embedded or server) cannot be reached or opened."""


class DiskFullError(NewsragError):
    """The disk holding the data dir has no space left; what was stored before is intact."""


class ConfigError(NewsragError):
    """A setting has an invalid value."""
