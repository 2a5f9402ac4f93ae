"""newsrag: cited answers over a folder of news articles."""
from .api import Answer, Assistant, Citation, Hit, ingest, open_index, status
from .errors import NewsragError
from .settings import Settings

__all__ = ["Answer", "Assistant", "Citation", "Hit", "NewsragError", "Settings", "ingest", "open_index", "status"]
__version__ = "0.1.0"
