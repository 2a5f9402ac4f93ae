"""The vector store: Chroma, embedded (PersistentClient) or a `chroma run` server. We always pass
embeddings ourselves so Chroma never embeds or downloads anything."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexMismatchError, StoreUnavailableError
from .models import Chunk

COLLECTION = "newsrag_chunks"
MAX_BATCH = 5000  # Chroma refuses batches over 5,461


@dataclass(frozen=True)
class StoreConfig:
    data_dir: Path
    host: str | None = None  # set: talk to a `chroma run` server instead of the embedded store
    port: int = 8000
    collection: str = COLLECTION


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


class ChromaStore(VectorStore):
    def __init__(self, config: StoreConfig) -> None:
        import chromadb
        from chromadb.config import Settings

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
        except Exception as exc:
            where = f"{config.host}:{config.port}" if config.host else str(config.data_dir)
            raise StoreUnavailableError(
                f"cannot open the Chroma store at {where} ({exc}). For a server, start it with "
                "`chroma run --path DIR --host HOST --port PORT` and check --chroma-host/--chroma-port."
            ) from exc
        self.collection = self.client.get_or_create_collection(
            config.collection, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None)

    def check_identity(self, identity: dict) -> None:
        stored = {k[len("embedder_"):]: v for k, v in (self.collection.metadata or {}).items()
                  if k.startswith("embedder_")}
        if not stored:
            self.collection.modify(metadata={f"embedder_{k}": v for k, v in identity.items()})
        elif stored != identity:
            raise IndexMismatchError(
                f"the Chroma collection {self.collection.name!r} at {self.location} holds vectors of "
                f"{stored}, not {identity}. Use the embedder it was built with, or rebuild: "
                "`newsrag ingest --rebuild PATH...` (deletes and re-embeds the index).")

    def upsert(self, ids, vectors, chunks, metas) -> None:
        for i in range(0, len(ids), MAX_BATCH):
            j = i + MAX_BATCH
            self.collection.upsert(ids=list(ids[i:j]), embeddings=vectors[i:j],
                                   documents=[c.text for c in chunks[i:j]], metadatas=list(metas[i:j]))

    def delete(self, ids) -> None:
        ids = list(ids)
        for i in range(0, len(ids), MAX_BATCH):
            self.collection.delete(ids=ids[i:i + MAX_BATCH])

    def ids_for_articles(self, article_ids) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {a: set() for a in article_ids}
        article_ids = list(article_ids)
        for i in range(0, len(article_ids), 500):
            got = self.collection.get(where={"article_id": {"$in": article_ids[i:i + 500]}},
                                      include=["metadatas"])
            for cid, meta in zip(got["ids"], got["metadatas"]):
                found[meta["article_id"]].add(cid)
        return found

    def count(self) -> int:
        return self.collection.count()

    def drop(self) -> None:
        self.client.delete_collection(self.collection.name)

    def vectors(self, ids):
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
        res = self.collection.query(query_embeddings=[vector], n_results=k, where=where,
                                    include=["documents", "metadatas", "distances"])
        return [(StoredChunk(cid, m["article_id"], m["start"], m["end"], doc, m), 1.0 - dist)
                for cid, doc, m, dist in zip(res["ids"][0], res["documents"][0],
                                             res["metadatas"][0], res["distances"][0])]


def open_store(config: StoreConfig) -> VectorStore:
    """The store named by `config`: embedded Chroma in the data dir, or a Chroma server."""
    return ChromaStore(config)
