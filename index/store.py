"""The vector store: Chroma, embedded (PersistentClient) or a `chroma run` server. We always pass
embeddings ourselves so Chroma never embeds or downloads anything. Every Chroma call turns a
server gone away or a full disk into an error that says the fix."""
from __future__ import annotations

import errno
import json
import shutil
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DiskFullError, IndexMismatchError, NewsragError, StoreUnavailableError
from .plugins import Registry
from .models import Article, ArticleRecord, Chunk

COLLECTION = "newsrag_chunks"
RECORDS = "_articles"  # the collection of article records beside a shared store's chunks: COLLECTION + RECORDS
CHROMA_PORT = 8000  # `chroma run`'s default
MAX_BATCH = 5000  # Chroma refuses batches over 5,461
BYTES_PER_CHUNK = 32 * 1024  # Chroma takes ~15 KB a chunk (vector, text, metadata, full-text index): doubled
RESERVE_BYTES = 16 * 2**20  # kept free for Chroma's compaction and index resizes


@dataclass(frozen=True)
class StoreConfig:
    data_dir: Path
    host: str | None = None  # set: talk to a `chroma run` server instead of the embedded store
    port: int = CHROMA_PORT
    collection: str = COLLECTION
    backend: str = "chroma"  # the `newsrag.stores` entry that opens it


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as stored, with the metadata a citation needs."""

    id: str
    article_id: str
    start: int
    end: int
    text: str
    meta: dict


class VectorStore(ABC):
    """What the index and retrieval need from a vector database."""

    @abstractmethod
    def upsert(self, ids: Sequence[str], vectors: np.ndarray, chunks: Sequence[Chunk],
               metas: Sequence[dict]) -> None: ...

    @abstractmethod
    def delete(self, ids: Sequence[str]) -> None: ...

    @abstractmethod
    def ids_for_articles(self, article_ids: Sequence[str]) -> dict[str, set[str]]: ...

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def query(self, vector: np.ndarray, k: int, where: dict | None = None) -> list[tuple[StoredChunk, float]]: ...

    @abstractmethod
    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of `ids`, in that order; zeros for an id the store does not hold."""

    @abstractmethod
    def check_identity(self, identity: dict) -> None:
        """Refuse to mix vectors of another embedder into this store."""

    def identity(self) -> dict | None:
        """The embedder identity the stored vectors were made with, if the store records it."""
        return None

    # A store several machines write (a `chroma run` server) also keeps a record of every stored
    # article and copy, so each machine's registry and BM25 follow what it holds (index/follow.py).
    # A store of one data dir keeps none: its registry is beside it.
    shared = False

    def put_records(self, records: Sequence[ArticleRecord]) -> None:
        """Keep these articles' records (a shared store)."""

    def delete_records(self, ids: Sequence[str]) -> None:
        """Drop the records of these article ids (a shared store)."""

    def record_heads(self) -> dict[str, tuple[str | None, str | None]]:
        """id -> (content hash, canonical id or None) of every record held."""
        return {}

    def records(self, ids: Sequence[str]) -> list[ArticleRecord]:
        """The records of `ids` that are held, with their texts."""
        return []


class ChromaStore(VectorStore):
    def __init__(self, config: StoreConfig) -> None:
        import chromadb
        from chromadb.config import Settings

        self.config = config
        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        try:
            if config.host:
                self.client = chromadb.HttpClient(host=config.host, port=config.port, settings=settings)
                self.client.heartbeat()
                self.location = f"http://{config.host}:{config.port}"
            else:
                path = Path(config.data_dir) / "chroma"
                self.client = chromadb.PersistentClient(path=str(path), settings=settings)
                self.location = str(path)
            with self._calls():
                self.collection = self.client.get_or_create_collection(
                    config.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)
                self.shared = bool(config.host)
                if self.shared:
                    self.articles = self.client.get_or_create_collection(config.collection + RECORDS,
                                                                         embedding_function=None)
        except NewsragError:
            raise
        except Exception as exc:
            if self._is_full(exc):
                raise self._full(exc) from exc
            if config.host:
                raise StoreUnavailableError(f"cannot open the Chroma store at {config.host}:{config.port} ({exc}). "
                                            + self._start_hint()) from exc
            raise StoreUnavailableError(
                f"cannot open the embedded Chroma store in {Path(config.data_dir) / 'chroma'} ({exc}). Check that "
                "the data dir is readable and writable, or use a Chroma server with --chroma-host/--chroma-port."
            ) from exc

    @contextmanager
    def _calls(self) -> Iterator[None]:
        """Around every Chroma call: a full disk or a server gone away becomes an error with the fix."""
        try:
            yield
        except NewsragError:
            raise
        except Exception as exc:
            if self._is_full(exc):
                raise self._full(exc) from exc
            if self.config.host and _unreachable(exc):
                raise StoreUnavailableError(
                    f"the Chroma server at {self.config.host}:{self.config.port} is not answering "
                    f"({type(exc).__name__}: {exc}). " + self._start_hint()) from exc
            raise

    def _start_hint(self) -> str:
        return (f"Start it with `chroma run --path DIR --host {self.config.host} --port {self.config.port}` "
                "(DIR: the folder it keeps the vectors in), or check --chroma-host/--chroma-port.")

    def _is_full(self, exc: BaseException) -> bool:
        """ENOSPC, or Chroma failing inside with the disk (nearly) full: its Rust core reports a
        full disk only as a failed step ("Failed to apply logs to the metadata segment")."""
        return disk_full(exc) or (type(exc).__name__ == "InternalError" and self._free_bytes() < RESERVE_BYTES)

    def _free_bytes(self) -> float:
        """Free space on the embedded store's disk (a server's is not ours to see: infinite)."""
        if self.config.host:
            return float("inf")
        folder = Path(self.config.data_dir).absolute()
        while not folder.exists():
            folder = folder.parent
        return shutil.disk_usage(folder).free

    def _room_for(self, n_chunks: int) -> None:
        """Refuse a write the disk cannot hold: a write Chroma cannot finish stays in its log, and
        until space is freed it cannot even read."""
        free, need = self._free_bytes(), n_chunks * BYTES_PER_CHUNK + RESERVE_BYTES
        if free < need:
            raise self._full(f"{free / 2**20:.1f} MB free, this batch needs about {need / 2**20:.0f} MB")

    def _full(self, exc: BaseException | str) -> DiskFullError:
        where = (f"the Chroma server at {self.config.host}:{self.config.port}" if self.config.host
                 else f"the data dir {Path(self.config.data_dir).absolute()}")
        return DiskFullError(f"no space left on device for {where} ({exc}). What was stored before is intact. "
                             "Free some space on that disk, or move the index to one with room (--data-dir), "
                             "then run the ingest again.")

    def identity(self) -> dict | None:
        stored = {k[len("embedder_"):]: v for k, v in (self.collection.metadata or {}).items()
                  if k.startswith("embedder_")}
        return stored or None

    def check_identity(self, identity: dict) -> None:
        stored = self.identity()
        if not stored:
            with self._calls():
                self.collection.modify(metadata={f"embedder_{k}": v for k, v in identity.items()})
        elif stored != identity:
            raise IndexMismatchError(
                f"the Chroma collection {self.collection.name!r} at {self.location} holds vectors of "
                f"{stored}, not {identity}. Use the embedder it was built with, or rebuild: "
                "`newsrag ingest --rebuild PATH...` (deletes and re-embeds the index).")

    def upsert(self, ids, vectors, chunks, metas) -> None:
        self._room_for(len(ids))
        for i in range(0, len(ids), MAX_BATCH):
            j = i + MAX_BATCH
            with self._calls():
                self.collection.upsert(ids=list(ids[i:j]), embeddings=vectors[i:j],
                                       documents=[c.text for c in chunks[i:j]], metadatas=list(metas[i:j]))

    def delete(self, ids) -> None:
        self._delete_from(self.collection, ids)

    def _delete_from(self, collection, ids) -> None:
        ids = list(ids)
        for i in range(0, len(ids), MAX_BATCH):
            with self._calls():
                collection.delete(ids=ids[i:i + MAX_BATCH])

    def ids_for_articles(self, article_ids) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {a: set() for a in article_ids}
        article_ids = list(article_ids)
        for i in range(0, len(article_ids), 500):
            with self._calls():
                got = self.collection.get(where={"article_id": {"$in": article_ids[i:i + 500]}},
                                          include=["metadatas"])
            for cid, meta in zip(got["ids"], got["metadatas"]):
                found[meta["article_id"]].add(cid)
        return found

    def put_records(self, records) -> None:
        if not self.shared:
            return
        for i in range(0, len(records), MAX_BATCH):
            part = records[i:i + MAX_BATCH]
            with self._calls():
                # a record is found by id, never by vector: each gets the same one-number vector
                self.articles.upsert(ids=[r.article.id for r in part], embeddings=[[1.0]] * len(part),
                                     documents=[r.article.text for r in part], metadatas=[_record_meta(r) for r in part])

    def delete_records(self, ids) -> None:
        if self.shared:
            self._delete_from(self.articles, ids)

    def record_heads(self) -> dict[str, tuple[str | None, str | None]]:
        if not self.shared:
            return {}
        heads: dict[str, tuple[str | None, str | None]] = {}
        while True:  # paged by offset: records added meanwhile are seen by the next follow
            with self._calls():
                got = self.articles.get(include=["metadatas"], limit=MAX_BATCH, offset=len(heads))
            heads.update((i, (m.get("content_hash"), m.get("canonical"))) for i, m in zip(got["ids"], got["metadatas"]))
            if len(got["ids"]) < MAX_BATCH:
                return heads

    def records(self, ids) -> list[ArticleRecord]:
        if not self.shared:
            return []
        ids, out = list(ids), []
        for i in range(0, len(ids), 500):
            with self._calls():
                got = self.articles.get(ids=ids[i:i + 500], include=["metadatas", "documents"])
            out.extend(_record(i, text, m) for i, text, m in zip(got["ids"], got["documents"], got["metadatas"]))
        return out

    def count(self) -> int:
        with self._calls():
            return self.collection.count()

    def drop(self) -> None:
        with self._calls():
            self.client.delete_collection(self.collection.name)
            if self.shared:
                self.client.delete_collection(self.articles.name)

    def vectors(self, ids):
        with self._calls():
            got = self.collection.get(ids=list(ids), include=["embeddings"])
        by_id = dict(zip(got["ids"], got["embeddings"]))
        if not by_id:
            return np.zeros((len(ids), 0), dtype=np.float32)
        zero = np.zeros(len(next(iter(by_id.values()))), dtype=np.float32)
        return np.array([by_id.get(cid, zero) for cid in ids], dtype=np.float32)

    def query(self, vector, k, where=None):
        k = min(k, self.count())
        if k <= 0:
            return []
        with self._calls():
            res = self.collection.query(query_embeddings=[vector], n_results=k, where=where,
                                        include=["documents", "metadatas", "distances"])
        return [(StoredChunk(cid, m["article_id"], m["start"], m["end"], doc, m), 1.0 - dist)
                for cid, doc, m, dist in zip(res["ids"][0], res["documents"][0],
                                             res["metadatas"][0], res["distances"][0])]


_RECORD_FIELDS = ("title", "date", "source", "url", "author", "origin")


def _record_meta(record: ArticleRecord) -> dict:
    a = record.article
    meta = {**{k: getattr(a, k) for k in _RECORD_FIELDS}, "content_hash": a.content_hash,
            "spans": json.dumps(record.spans), "canonical": record.canonical, "similarity": record.similarity}
    return {k: v for k, v in meta.items() if v is not None}  # Chroma rejects None values


def _record(article_id: str, text: str, meta: dict) -> ArticleRecord:
    fields = {k: meta.get(k) for k in _RECORD_FIELDS}
    article = Article(id=article_id, text=text, **{**fields, "title": fields["title"] or "",
                                                    "origin": fields["origin"] or ""})
    return ArticleRecord(article, tuple(map(tuple, json.loads(meta.get("spans", "[]")))), meta.get("canonical"),
                         meta.get("similarity"))


def disk_full(exc: BaseException | None) -> bool:
    """ENOSPC, as an OSError or in the words of SQLite or Chroma's Rust core, here or in a cause."""
    while exc is not None:
        text = str(exc).lower()
        if (isinstance(exc, OSError) and exc.errno == errno.ENOSPC) or any(
                words in text for words in ("no space left on device", "disk is full", "os error 28")):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _unreachable(exc: BaseException) -> bool:
    """A transport failure (refused, reset, timed out): the server is down or unreachable."""
    import httpx  # Chroma's own HTTP client; present whenever chromadb is

    return isinstance(exc, (httpx.TransportError, ConnectionError))


STORES = Registry("newsrag.stores", "vector store")


def open_store(config: StoreConfig) -> VectorStore:
    """The store registered as `config.backend` (built in: chroma, embedded in the data dir or a
    `chroma run` server), built from `config`."""
    return STORES.build(config.backend, config)
