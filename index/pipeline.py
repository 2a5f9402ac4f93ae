"""Incremental, crash-safe ingest: files -> articles -> chunks -> vectors -> Chroma + registry.

`Index` opens the parts (registry, vector store, embedder, checked against the manifest) and
runs an ingest: `plan` loads and classifies in a background thread, so parsing is hidden behind
embedding, and `Journal` writes each batch in the order that a crash cannot break.
"""
from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .chunking import ChunkSettings
from .embedder import Embedder, make_embedder
from .errors import DiskFullError
from .journal import Journal
from .lexical import LexicalIndex
from .loaders import DEFAULT_EXCLUDE, DEFAULT_MAX_BYTES, discover
from . import manifest
from .models import FileReport, IndexStatus, IngestReport
from .plan import Planned, plan
from .registry import Registry
from .store import CHROMA_PORT, StoreConfig, VectorStore, disk_full, open_store


@dataclass(frozen=True)
class IndexConfig:
    data_dir: Path = Path(".newsrag")
    chunking: ChunkSettings | None = None  # None: as the index was built, else the defaults
    embedder: str = "sentence-transformers"
    model_path: Path | None = None
    chroma_host: str | None = None
    chroma_port: int = CHROMA_PORT
    store: str = "chroma"
    max_file_bytes: int = DEFAULT_MAX_BYTES
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    batch_chunks: int = 256  # chunks embedded and written per batch


class Index:
    """An opened index: registry, vector store and embedder, checked against the manifest."""

    def __init__(self, config: IndexConfig, embedder: Embedder | None = None, rebuild: bool = False) -> None:
        self.config = config
        self.data_dir = Path(config.data_dir)
        self.embedder = embedder or make_embedder(config.embedder, config.model_path,
                                                  cache_dir=self.data_dir / "models")
        self.store: VectorStore = open_store(StoreConfig(self.data_dir, config.chroma_host, config.chroma_port,
                                                         backend=config.store))
        if rebuild:
            self._wipe()
        recorded = manifest.read(self.data_dir)
        self.chunking = config.chunking or (ChunkSettings(**recorded["chunking"]) if recorded else ChunkSettings())
        self.build = {"embedder": self.embedder.identity,
                      "chunking": {"size": self.chunking.size, "overlap": self.chunking.overlap}}
        self.store.check_identity(self.embedder.identity)  # before the manifest: don't record a refused build
        manifest.check_or_write(self.data_dir, self.build)
        self.registry = Registry(self.data_dir / "registry.sqlite")
        self.journal = Journal(self.registry, self.store, self.embedder)
        self.journal.recover()

    def _wipe(self) -> None:
        self.store.drop()
        for name in ("registry.sqlite", "registry.sqlite-wal", "registry.sqlite-shm", "manifest.json"):
            (self.data_dir / name).unlink(missing_ok=True)
        shutil.rmtree(self.lexical_dir, ignore_errors=True)
        self.store = open_store(StoreConfig(self.data_dir, self.config.chroma_host, self.config.chroma_port,
                                           backend=self.config.store))

    @property
    def lexical_dir(self) -> Path:
        return self.data_dir / "bm25"

    def lexical(self) -> LexicalIndex:
        """The BM25 index over the stored chunks, brought up to date if needed."""
        return LexicalIndex.open(self.lexical_dir, self.registry)

    def close(self) -> None:
        self.registry.close()

    # -- ingest --------------------------------------------------------------
    def ingest(self, paths: list[str | Path], prune: bool = False, progress: bool = False,
               on_file: Callable[[int, int, str], None] | None = None,
               namespace: str | None = None, confine: bool = False) -> IngestReport:
        """Add new and changed articles under `paths`; with `prune`, drop those whose file is gone.
        `on_file(done, total, path)` is called as each file is read (a UI's progress bar).
        `namespace` prefixes every article id ("upload" -> "upload:name.txt"), so articles from
        one place (the web's uploads) can never take the id of an article from another.
        `confine` skips symlinks that lead outside the folders given."""
        try:
            return self._ingest(paths, prune, progress, on_file, namespace, confine)
        except (sqlite3.Error, OSError) as exc:  # the registry's or BM25's write; Chroma's are handled in the store
            if disk_full(exc):
                raise DiskFullError(f"no space left on device for the data dir {self.data_dir.absolute()} ({exc}). "
                                    "What was stored before is intact. Free some space on that disk, or move "
                                    "the index to one with room (--data-dir), then run the ingest again.") from exc
            raise

    def _ingest(self, paths, prune, progress, on_file, namespace, confine) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        files, problems = discover(paths, self.config.exclude, confine)
        self._fail(report, problems)
        report.files.extend(FileReport(p.path, failed=1, problems=(str(p),)) for p in problems)
        unreadable = [Path(p.path).absolute() for p in problems]  # never prune what we could not see
        by_origin = self.registry.ids_by_origin()
        produced: dict[str, set[str]] = {}  # origin -> article ids it yields now
        clean: set[str] = set()  # origins loaded without any problem
        bar = _progress(len(files), progress)
        batch: list[Planned] = []
        for done, item in enumerate(plan(files, self.registry, self.chunking, self.embedder.count_tokens,
                                              self.config.max_file_bytes, namespace), 1):
            bar.update(1)
            origin = str(item.src.path)
            if on_file:
                on_file(done, len(files), origin)
            report.files.append(item.file_report(stored=len(by_origin.get(origin, ()))))
            if item.loaded is None:
                report.unchanged += len(by_origin.get(origin, ()))
                produced[origin] = set(by_origin.get(origin, ()))
                clean.add(origin)
                continue
            self._fail(report, item.problems)
            report.warnings.extend(map(str, item.warnings))
            if not item.problems:
                clean.add(origin)
            produced[origin] = {a.id for a in item.loaded.articles}
            report.unchanged += item.unchanged
            batch.append(item)
            if sum(p.n_chunks for p in batch) >= self.config.batch_chunks:
                self.journal.write(batch, report)
                batch = []
        self.journal.write(batch, report)
        bar.close()
        if prune:
            self._prune(paths, unreadable, by_origin, produced, clean, report)
        LexicalIndex.refresh(self.lexical_dir, self.registry)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _prune(self, paths, unreadable, by_origin, produced, clean, report: IngestReport) -> None:
        roots = [Path(p).absolute() for p in paths]
        gone: list[str] = []
        for origin, ids in by_origin.items():
            if not _under(Path(origin), roots) or _under(Path(origin), unreadable):
                continue
            if origin not in produced:
                gone.extend(ids)  # the file is gone
            elif origin in clean:
                gone.extend(set(ids) - produced[origin])  # records no longer in the file
        if gone:
            self.journal.remove(gone)
            report.removed += len(gone)

    @staticmethod
    def _fail(report: IngestReport, problems) -> None:
        report.failed += len(problems)
        report.problems.extend(str(p) for p in problems)

    # -- status --------------------------------------------------------------
    def status(self) -> IndexStatus:
        return IndexStatus(**self.registry.stats(), stored_chunks=self.store.count(),
                           embedder=self.build["embedder"], chunking=self.build["chunking"],
                           data_dir=str(self.data_dir.absolute()), store=getattr(self.store, "location", ""))


def _under(path: Path, folders: list[Path]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="ingest", disable=not enabled or total < 20)
