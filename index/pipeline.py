"""Incremental, crash-safe ingest: files -> articles -> chunks -> vectors -> Chroma + registry.

`Index` opens the parts (registry, vector store, embedder, checked against the manifest) and
runs an ingest: `plan` loads and classifies in a background thread, so parsing is hidden behind
embedding, and `Journal` writes each batch in the order that a crash cannot break.
"""
from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from .chunking import ChunkSettings
from .embedder import Embedder, backend_for, make_embedder
from .errors import DiskFullError
from .follow import follow
from .journal import Journal
from .lexical import LexicalIndex
from .loaders import DEFAULT_EXCLUDE, DEFAULT_MAX_BYTES, discover
from . import manifest, neardup
from .models import Article, ArticleRow, FileReport, IndexStatus, IngestReport
from .plan import Classifier, Planned, plan
from .registry import Registry
from .workers import Workers
from .text import check_date, check_source
from .store import CHROMA_PORT, StoreConfig, VectorStore, disk_full, open_store


@dataclass(frozen=True)
class IndexConfig:
    data_dir: Path = Path(".newsrag")
    chunking: ChunkSettings | None = None  # None: as the index was built, else the defaults
    embedder: str | None = None  # None: as the index was built, else embedder.DEFAULT_BACKEND
    model_path: Path | None = None
    cache_dir: Path | None = None  # where ONNX exports are built once; None: <data_dir>/models
    chroma_host: str | None = None
    chroma_port: int = CHROMA_PORT
    store: str = "chroma"
    max_file_bytes: int = DEFAULT_MAX_BYTES
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    batch_chunks: int = 256  # chunks embedded and written per batch
    near_duplicate: float = neardup.DEFAULT_THRESHOLD  # similarity at which an article is a copy
    workers: int = 1  # processes that embed and upsert (more than 1 needs a Chroma server)


class Index:
    """An opened index: registry, vector store and embedder, checked against the manifest."""

    def __init__(self, config: IndexConfig, embedder: Embedder | None = None, rebuild: bool = False) -> None:
        self.config = config
        self.data_dir = Path(config.data_dir)
        self.store_config = StoreConfig(self.data_dir, config.chroma_host, config.chroma_port, backend=config.store)
        self.store: VectorStore = open_store(self.store_config)
        if rebuild:
            self._wipe()
        recorded = manifest.read(self.data_dir)
        built = recorded["embedder"] if recorded else self.store.identity()  # a server's collection says too
        self.backend = config.embedder or backend_for(built)
        self.cache_dir = config.cache_dir or self.data_dir / "models"
        self.embedder = embedder or make_embedder(self.backend, config.model_path, cache_dir=self.cache_dir)
        self.chunking = config.chunking or (ChunkSettings(**recorded["chunking"]) if recorded else ChunkSettings())
        self.build = {"embedder": self.embedder.identity,
                      "chunking": {"size": self.chunking.size, "overlap": self.chunking.overlap}}
        self.store.check_identity(self.embedder.identity)  # before the manifest: don't record a refused build
        manifest.check_or_write(self.data_dir, self.build)
        self.registry = Registry(self.data_dir / "registry.sqlite")
        self.journal = Journal(self.registry, self.store, self.embedder)
        self.journal.recover()
        self.followed = follow(self.registry, self.store)  # a shared server's articles from elsewhere

    def _wipe(self) -> None:
        self.store.drop()
        for name in ("registry.sqlite", "registry.sqlite-wal", "registry.sqlite-shm", "manifest.json"):
            (self.data_dir / name).unlink(missing_ok=True)
        shutil.rmtree(self.lexical_dir, ignore_errors=True)
        self.store = open_store(self.store_config)

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
               namespace: str | None = None, confine: bool = False, *, date: str | None = None,
               source: str | None = None) -> IngestReport:
        """Add new and changed articles under `paths`; with `prune`, drop those whose file is gone.
        `on_file(done, total, path)` is called as each file is read (a UI's progress bar).
        `namespace` prefixes every article id ("upload" -> "upload:name.txt"), so articles from
        one place (the web's uploads) can never take the id of an article from another.
        `confine` skips symlinks that lead outside the folders given. `date` and `source` are
        given to the articles that have none of their own (ValueError if the date is not one)."""
        defaults = {"date": check_date(date), "source": check_source(source)}
        return self._guarded(self._ingest, paths, prune, progress, on_file, namespace, confine, defaults)

    def _guarded(self, write, *args):
        try:
            return write(*args)
        except (sqlite3.Error, OSError) as exc:  # the registry's or BM25's write; Chroma's are handled in the store
            if disk_full(exc):
                raise DiskFullError(f"no space left on device for the data dir {self.data_dir.absolute()} ({exc}). "
                                    "What was stored before is intact. Free some space on that disk, or move "
                                    "the index to one with room (--data-dir), then run the ingest again.") from exc
            raise

    def _ingest(self, paths, prune, progress, on_file, namespace, confine, defaults) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        with self.registry.transaction():
            for path in paths:
                self.registry.put_root(str(Path(path).absolute()), namespace or "")
        files, problems = discover(paths, self.config.exclude, confine)
        self._fail(report, problems)
        report.files.extend(FileReport(p.path, failed=1, problems=(str(p),)) for p in problems)
        unreadable = [Path(p.path).absolute() for p in problems]  # never prune what we could not see
        by_origin = self.registry.ids_by_origin()
        produced: dict[str, set[str]] = {}  # origin -> article ids it yields now
        clean: set[str] = set()  # origins loaded without any problem
        bar = _progress(len(files), progress)
        batch: list[Planned] = []
        with self._batches(report) as write:
            for done, item in enumerate(plan(files, self.registry, self.chunking, self.embedder.count_tokens,
                                             self.config.max_file_bytes, self._near(), namespace, defaults), 1):
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
                    write(batch)
                    batch = []
            write(batch)
        bar.close()
        if prune:
            self._prune(paths, unreadable, by_origin, produced, clean, report)
        LexicalIndex.refresh(self.lexical_dir, self.registry)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    @contextmanager
    def _batches(self, report: IngestReport) -> Iterator[Callable[[list[Planned]], None]]:
        """A writer of batches, here or through the worker processes (whose every batch the
        server holds, and is committed, when the block ends; on an error, what a worker did not
        finish stays pending and `recover` repairs it)."""
        if self.config.workers <= 1:
            yield lambda batch: self.journal.write(batch, report)
            return
        with Workers(self.config.workers, self.backend, self.config.model_path, self.cache_dir,
                     self.store_config, self.embedder.identity) as pool:
            def write(batch: list[Planned]) -> None:
                for staged in pool.submit(self.journal.stage(batch)):
                    self.journal.commit(staged, report)
            yield write
            for staged in pool.drain():
                self.journal.commit(staged, report)
            report.worker_processes = len(pool.pids)

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
            self._remove(gone)
            report.removed += len(gone)

    def _near(self) -> neardup.NearDuplicates:
        """The stored originals' signatures; an index from before them gets them now, once."""
        unsigned = self.registry.unsigned()
        if unsigned:
            with self.registry.transaction():
                for article_id, text in unsigned:
                    sig = neardup.signature(text)
                    if sig is not None:
                        self.registry.put_signature(article_id, neardup.to_bytes(sig))
        return neardup.NearDuplicates(self.config.near_duplicate, self.registry.signatures())

    def _remove(self, article_ids: list[str]) -> None:
        """Remove articles; the oldest copy of a removed original takes its place (cited from then
        on, the other copies folded into it again when they still are near)."""
        gone = set(article_ids)
        copies = [a for aid in article_ids for a, _ in self.registry.copies_of(aid) if a.text and a.id not in gone]
        self.journal.remove(article_ids)
        if not copies:
            return
        item = Planned(src=None, loaded=None)
        classifier = Classifier(self.registry, self.chunking, self.embedder.count_tokens, self._near())
        for article in sorted(copies, key=lambda a: (a.date is None, a.date or "", a.id)):
            classifier.classify(article, item)
        self.journal.write([item], IngestReport())

    @staticmethod
    def _fail(report: IngestReport, problems) -> None:
        report.failed += len(problems)
        report.problems.extend(str(p) for p in problems)

    # -- curation (the corpus view) ------------------------------------------
    def browse(self, query: str = "", sort: str = "date", descending: bool = True, offset: int = 0,
               limit: int = 50) -> tuple[list[ArticleRow], int]:
        """A page of the stored articles (see `Registry.browse`) and how many match `query`."""
        return self.registry.browse(query, sort, descending, offset, limit)

    def delete(self, article_id: str) -> bool:
        """Remove an article from Chroma, BM25 and the registry; False if there is none by that id.
        Its file's same text is not stored again; a stored upload's file is deleted too."""
        article = self.registry.article(article_id)
        if article is None:
            return False
        self._guarded(self._remove, [article_id])
        with self.registry.transaction():
            self.registry.put_tombstone(article_id, article.text_hash)
        uploads = (self.data_dir / "uploads").absolute()
        if article_id.startswith("upload:") and _under(Path(article.origin), [uploads]):
            Path(article.origin).unlink(missing_ok=True)
        LexicalIndex.refresh(self.lexical_dir, self.registry)
        return True

    def set_metadata(self, article_id: str, *, date: str | None, source: str | None) -> Article:
        """Set (or clear, with None) an article's date and source: stored, used by the filters from
        the next question on, and kept when its file is read again. ValueError for a bad value,
        KeyError for an unknown id."""
        article = self.registry.article(article_id)
        if article is None:
            raise KeyError(f"no article {article_id!r} in the index; pick one from the list")
        edited = replace(article, date=check_date(date), source=check_source(source))
        # rewritten like an updated file: new chunk ids carry the metadata into Chroma, crash-safely
        item = Planned(src=None, loaded=None, writes=[(edited, self.registry.chunks_of(article), False)])
        self._guarded(self.journal.write, [item], IngestReport())
        with self.registry.transaction():
            self.registry.put_edit(article_id, edited.date, edited.source)
        LexicalIndex.refresh(self.lexical_dir, self.registry)
        return edited

    def reindex(self) -> IngestReport:
        """Read again every path ingested before (same ids): changed files are updated."""
        report = IngestReport()
        by_namespace: dict[str, list[str]] = {}
        for path, namespace in self.registry.roots():
            if Path(path).exists():
                by_namespace.setdefault(namespace, []).append(path)
        for namespace, paths in by_namespace.items():
            report.merge(self.ingest(paths, namespace=namespace or None))
        return report

    def prune_missing(self) -> IngestReport:
        """Remove the articles whose file no longer exists (never those merely unreadable, nor
        those another machine ingested into a shared server: only files under the paths given here)."""
        roots = [Path(path) for path, _ in self.registry.roots()]
        gone = [aid for origin, ids in self.registry.ids_by_origin().items()
                if _under(Path(origin), roots) and not Path(origin).exists() for aid in ids]
        report = IngestReport(removed=len(gone))
        if gone:
            self._guarded(self._remove, gone)
            LexicalIndex.refresh(self.lexical_dir, self.registry)
        return report

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
