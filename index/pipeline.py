"""Incremental, crash-safe ingest: files -> articles -> chunks -> vectors -> Chroma + registry.

Loading and chunking run in a background thread while the main thread embeds and writes, so
parsing is hidden behind embedding. Each write batch follows one order, so a kill -9 anywhere
leaves a state `recover()` repairs: journal the articles as pending, upsert their chunks
(deterministic ids, idempotent), commit them to the registry, delete stale chunks, clear pending.
"""
from __future__ import annotations

import os
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .chunking import ChunkSettings, chunk_article, embedding_text
from .embedder import Embedder, make_embedder
from .errors import DiskFullError
from .lexical import LexicalIndex
from .loaders import DEFAULT_EXCLUDE, DEFAULT_MAX_BYTES, LoadedFile, SourceFile, discover, iter_loaded
from . import manifest
from .models import Article, Chunk, LoadProblem
from .registry import Registry
from .store import StoreConfig, VectorStore, disk_full, open_store


@dataclass(frozen=True)
class IndexConfig:
    data_dir: Path = Path(".newsrag")
    chunking: ChunkSettings | None = None  # None: as the index was built, else the defaults
    embedder: str = "sentence-transformers"
    model_path: Path | None = None
    chroma_host: str | None = None
    chroma_port: int = 8000
    max_file_bytes: int = DEFAULT_MAX_BYTES
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    batch_chunks: int = 256  # chunks embedded and written per batch


@dataclass(frozen=True)
class FileReport:
    """What one file (or a path that could not be read) came to in an ingest."""

    path: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0  # same text as a stored article: recorded as an alias
    failed: int = 0  # files or records that could not be loaded
    chunks: int = 0  # chunks embedded and written for it
    problems: tuple[str, ...] = ()
    duplicate_of: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()  # stored all the same: an impossible date dropped, a record repeated

    @property
    def result(self) -> str:
        """"added", "unchanged", "failed", or a mix like "added 3, 1 failed"."""
        counts = [(n, name) for n, name in ((self.added, "added"), (self.updated, "updated"),
                                            (self.duplicate, "duplicate"), (self.unchanged, "unchanged")) if n]
        if not counts:
            return "failed"
        (n, name), *rest = counts
        words = [name if n == 1 and not (rest or self.failed) else f"{name} {n}"]
        words += [f"{k} {what}" for k, what in rest]
        return ", ".join(words + ([f"{self.failed} failed"] if self.failed else []))


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0
    removed: int = 0
    failed: int = 0
    chunks_written: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (duplicate id, stored id)
    files: list[FileReport] = field(default_factory=list)  # one per file, in the order read

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Planned:
    """What one loaded file asks of the index."""

    src: SourceFile
    loaded: LoadedFile | None  # None: the file's bytes are unchanged
    writes: list[tuple[Article, list[Chunk], bool]] = field(default_factory=list)  # (article, chunks, is_new)
    aliases: list[tuple[Article, str]] = field(default_factory=list)  # (article, canonical id)
    unchanged: int = 0
    problems: list[LoadProblem] = field(default_factory=list)  # the loader's, then id clashes
    warnings: list[LoadProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.loaded:
            self.problems += self.loaded.problems
            self.warnings += self.loaded.warnings

    @property
    def n_chunks(self) -> int:
        return sum(len(c) for _, c, _ in self.writes)

    def file_report(self, stored: int) -> FileReport:
        """`stored`: articles the registry holds from this file (all unchanged if its bytes are)."""
        return FileReport(str(self.src.path), added=sum(new for *_, new in self.writes),
                          updated=sum(not new for *_, new in self.writes),
                          unchanged=self.unchanged if self.loaded else stored, duplicate=len(self.aliases),
                          failed=len(self.problems), chunks=self.n_chunks,
                          problems=tuple(map(str, self.problems)),
                          duplicate_of=tuple(canonical for _, canonical in self.aliases),
                          warnings=tuple(map(str, self.warnings)))


class Index:
    """An opened index: registry, vector store and embedder, checked against the manifest."""

    def __init__(self, config: IndexConfig, embedder: Embedder | None = None, rebuild: bool = False) -> None:
        self.config = config
        self.data_dir = Path(config.data_dir)
        self.embedder = embedder or make_embedder(config.embedder, config.model_path,
                                                  cache_dir=self.data_dir / "models")
        self.store: VectorStore = open_store(StoreConfig(self.data_dir, config.chroma_host, config.chroma_port))
        if rebuild:
            self._wipe()
        recorded = manifest.read(self.data_dir)
        self.chunking = config.chunking or (ChunkSettings(**recorded["chunking"]) if recorded else ChunkSettings())
        self.build = {"embedder": self.embedder.identity,
                      "chunking": {"size": self.chunking.size, "overlap": self.chunking.overlap}}
        self.store.check_identity(self.embedder.identity)  # before the manifest: don't record a refused build
        manifest.check_or_write(self.data_dir, self.build)
        self.registry = Registry(self.data_dir / "registry.sqlite")
        self.recover()

    def _wipe(self) -> None:
        self.store.drop()
        for name in ("registry.sqlite", "registry.sqlite-wal", "registry.sqlite-shm", "manifest.json"):
            (self.data_dir / name).unlink(missing_ok=True)
        shutil.rmtree(self.lexical_dir, ignore_errors=True)
        self.store = open_store(StoreConfig(self.data_dir, self.config.chroma_host, self.config.chroma_port))

    @property
    def lexical_dir(self) -> Path:
        return self.data_dir / "bm25"

    def lexical(self) -> LexicalIndex:
        """The BM25 index over the stored chunks, brought up to date if needed."""
        return LexicalIndex.open(self.lexical_dir, self.registry)

    def close(self) -> None:
        self.registry.close()

    # -- crash recovery ------------------------------------------------------
    def recover(self) -> int:
        """Repair what an interrupted ingest left: returns how many articles were touched."""
        pending = self.registry.pending()
        if not pending:
            return 0
        committed = self.registry.chunk_ids(pending)
        stored = self.store.ids_for_articles(pending)
        extra = [cid for aid in pending for cid in stored[aid] - committed[aid]]
        self.store.delete(extra)
        with self.registry.transaction():
            for aid in pending:
                if committed[aid] - stored[aid]:  # registry claims chunks the store lacks: redo it
                    self._forget(aid)
            self.registry.clear_pending(pending)
        return len(pending)

    def _forget(self, article_id: str) -> None:
        origin = self.registry.db.execute("SELECT origin FROM articles WHERE id=?", (article_id,)).fetchone()
        self.registry.remove_article(article_id)
        if origin:
            self.registry.forget_file(origin[0])

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
        batch: list[_Planned] = []
        for done, item in enumerate(self._planned(files, namespace), 1):
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
                self._write(batch, report)
                batch = []
        self._write(batch, report)
        bar.close()
        if prune:
            self._prune(paths, unreadable, by_origin, produced, clean, report)
        LexicalIndex.refresh(self.lexical_dir, self.registry)
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def _planned(self, files: list[SourceFile], namespace: str | None = None):
        """Load, classify and chunk in a background thread; yields `_Planned` in file order."""
        hashes = self.registry.hashes()
        aliases = self.registry.aliases()
        owner = {text: aid for aid, (_, text) in hashes.items()}  # text hash -> stored article
        holders = {aid: origin for origin, ids in self.registry.ids_by_origin().items() for aid in ids}
        claimed: dict[str, Article] = {}  # id -> the article that took it in this ingest
        known_files = self.registry.file_hashes()
        out: queue.Queue = queue.Queue(maxsize=64)

        def produce() -> None:
            try:
                for src, loaded in iter_loaded(files, self.config.max_file_bytes, known_files):
                    item = _Planned(src, loaded)
                    for article in loaded.articles if loaded else ():
                        if namespace:
                            article = replace(article, id=f"{namespace}:{article.id}")
                        if self._claim(article, item, claimed, holders):
                            self._classify(article, item, hashes, aliases, owner, holders)
                    out.put(item)
            except BaseException as exc:  # hand any failure to the consumer
                out.put(exc)
            out.put(None)

        thread = threading.Thread(target=produce, name="newsrag-loader", daemon=True)
        thread.start()
        while (item := out.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
        thread.join()

    @staticmethod
    def _claim(article: Article, item: _Planned, claimed: dict[str, Article], holders: dict[str, str]) -> bool:
        """Whether `article` may take its id. An id belongs to the file it came from while that
        file exists: another file's article with the same id is refused (with the same text,
        noted as stored once), never a silent replacement; a moved file takes its id along."""
        first = claimed.get(article.id)
        holder = first.origin if first else holders.get(article.id)
        if holder and not (first is None and _same_file(holder, article.origin)):
            where = "earlier in this ingest" if first else "in the index"
            if holder == article.origin:
                holder = "another record of this file"
            if first and first.content_hash == article.content_hash:
                item.warnings.append(LoadProblem(article.origin, f"article {article.id!r} repeats one read "
                                                 f"{where} from {holder}; stored once"))
            else:
                item.problems.append(LoadProblem(article.origin, (
                    f"article id {article.id!r} is already used {where} by {holder}; this one was not "
                    "stored. Give each article its own id (a record's 'id' field, or another file name)")))
            return False
        claimed[article.id] = article
        return True

    def _classify(self, article: Article, item: _Planned, hashes: dict, aliases: dict, owner: dict,
                  holders: dict) -> None:
        stored = hashes.get(article.id)
        canonical = owner.get(article.text_hash)
        if stored and stored[0] == article.content_hash and holders.get(article.id) == article.origin:
            item.unchanged += 1
        elif canonical and canonical != article.id:
            if aliases.get(article.id) == canonical:
                item.unchanged += 1
            else:
                item.aliases.append((article, canonical))
        else:
            chunks = chunk_article(article, self.chunking, self.embedder.count_tokens)
            item.writes.append((article, chunks, stored is None))
            owner[article.text_hash] = article.id

    def _write(self, batch: list[_Planned], report: IngestReport) -> None:
        writes = [w for item in batch for w in item.writes]
        alias_list = [a for item in batch for a in item.aliases]
        touched = [a.id for a, _, _ in writes] + [a.id for a, _ in alias_list]
        texts = [embedding_text(a, c) for a, chunks, _ in writes for c in chunks]
        vectors = self.embedder.embed_batch(texts) if texts else None
        with self.registry.transaction():
            self.registry.mark_pending(touched)
        old = self.registry.chunk_ids(touched)
        new_ids: list[str] = []
        if texts:
            all_chunks = [c for _, chunks, _ in writes for c in chunks]
            new_ids = [chunk_id(a, c) for a, chunks, _ in writes for c in chunks]
            metas = [chunk_meta(a, c) for a, chunks, _ in writes for c in chunks]
            self.store.upsert(new_ids, vectors, all_chunks, metas)
        with self.registry.transaction():
            for article, chunks, _ in writes:
                self.registry.put_article(article, [chunk_id(article, c) for c in chunks], chunks)
            for article, canonical in alias_list:
                self.registry.remove_article(article.id)
                self.registry.put_alias(article.id, canonical, article.origin)
            for item in batch:
                if item.loaded and not item.problems:
                    self.registry.put_file(item.loaded.origin, item.loaded.file_hash)
        fresh = set(new_ids)
        self.store.delete([cid for ids in old.values() for cid in ids if cid not in fresh])
        with self.registry.transaction():
            self.registry.clear_pending(touched)
        for article, _, is_new in writes:
            if is_new:
                report.added += 1
            else:
                report.updated += 1
        report.duplicate += len(alias_list)
        report.duplicates.extend((a.id, canonical) for a, canonical in alias_list)
        report.chunks_written += len(new_ids)

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
            self.remove(gone)
            report.removed += len(gone)

    def remove(self, article_ids: list[str]) -> None:
        """Delete articles (and any duplicates that pointed at them) from the index."""
        with self.registry.transaction():
            self.registry.mark_pending(article_ids)
        old = self.registry.chunk_ids(article_ids)
        with self.registry.transaction():
            for aid in article_ids:
                for alias_id, alias_origin in self.registry.db.execute(
                        "SELECT id, origin FROM aliases WHERE canonical=?", (aid,)).fetchall():
                    # the duplicate's file is re-read next time and stored in its own right
                    self.registry.remove_article(alias_id)
                    self.registry.forget_file(alias_origin)
                self._forget(aid)
        self.store.delete([cid for ids in old.values() for cid in ids])
        with self.registry.transaction():
            self.registry.clear_pending(article_ids)

    @staticmethod
    def _fail(report: IngestReport, problems) -> None:
        report.failed += len(problems)
        report.problems.extend(str(p) for p in problems)

    # -- status --------------------------------------------------------------
    def status(self) -> dict:
        stats = self.registry.stats()
        return {**stats, "stored_chunks": self.store.count(), "embedder": self.build["embedder"],
                "chunking": self.build["chunking"], "data_dir": str(self.data_dir.absolute()),
                "store": getattr(self.store, "location", "")}


def _same_file(holder: str, origin: str) -> bool:
    """Whether the stored article's file is this one, or is gone (the file was moved)."""
    if holder == origin:
        return True
    try:
        return os.path.samefile(holder, origin)
    except FileNotFoundError:
        return not os.path.exists(holder)
    except OSError:
        return False


def _under(path: Path, folders: list[Path]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def chunk_id(article: Article, chunk: Chunk) -> str:
    """Deterministic, so a repeated upsert after a crash overwrites instead of duplicating."""
    return f"{article.id}::{article.content_hash[:16]}::{chunk.index}"


def chunk_meta(article: Article, chunk: Chunk) -> dict:
    meta = {"article_id": article.id, "title": article.title, "date": article.date,
            "date_num": int(article.date.replace("-", "")) if article.date else None,
            "source": article.source, "url": article.url, "author": article.author,
            "start": chunk.start, "end": chunk.end, "idx": chunk.index}
    return {k: v for k, v in meta.items() if v is not None}  # Chroma rejects None values


def _progress(total: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="file", desc="ingest", disable=not enabled or total < 20)
