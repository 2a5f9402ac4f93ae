"""newsrag: cited answers over a folder of news articles."""
from .api import ingest, open_index, status
from .errors import NewsragError
from .settings import Settings

__all__ = ["NewsragError", "Settings", "ingest", "open_index", "status"]
__version__ = "0.1.0"
