"""The public Python API: what the CLI, the UI and the eval scripts use."""
from __future__ import annotations

from pathlib import Path

from index import Index, IngestReport

from .settings import Settings


def open_index(settings: Settings, rebuild: bool = False) -> Index:
    """Open (or create) the index described by `settings`."""
    return Index(settings.index_config(), rebuild=rebuild)


def ingest(paths: list[str | Path], settings: Settings | None = None, *, prune: bool = False,
           rebuild: bool = False, progress: bool = False) -> IngestReport:
    """Index the articles in `paths` (files or folders, recursive). Unchanged articles cost
    nothing; `prune` removes articles whose file is gone; `rebuild` starts from an empty index."""
    index = open_index(settings or Settings(), rebuild=rebuild)
    try:
        return index.ingest(paths, prune=prune, progress=progress)
    finally:
        index.close()


def status(settings: Settings | None = None) -> dict:
    """Article and chunk counts, date range, sources, embedding model and data dir."""
    index = open_index(settings or Settings())
    try:
        return index.status()
    finally:
        index.close()
