"""Every change to the stored articles, in the one order that makes a crash safe: mark the
articles pending, upsert their chunks (deterministic ids, idempotent), commit them to the
registry, delete the stale chunks, clear pending. A kill -9 anywhere leaves a state `recover`
repairs on the next open."""
from __future__ import annotations

from dataclasses import dataclass

from .chunking import embedding_text
from .embedder import Embedder
from .models import Article, ArticleRecord, Chunk, IngestReport
from .plan import Planned
from .registry import Registry
from .store import VectorStore
from .text import date_number


@dataclass
class Staged:
    """A batch marked pending, with the chunks the store must hold before it is committed."""

    batch: list[Planned]
    writes: list
    aliases: list
    touched: list[str]
    old: dict[str, set[str]]  # the articles' chunk ids before: dropped unless written again
    ids: list[str]
    texts: list[str]  # what is embedded: the chunk with its headline
    chunks: list[Chunk]
    metas: list[dict]


class Journal:
    """Writes to the registry and the vector store together."""

    def __init__(self, registry: Registry, store: VectorStore, embedder: Embedder) -> None:
        self.registry, self.store, self.embedder = registry, store, embedder

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
        if self.store.shared:  # a shared store's records as the registry now has them
            held = self.registry.records(pending)
            self.store.put_records(held)
            self.store.delete_records(sorted(set(pending) - {r.article.id for r in held}))
        with self.registry.transaction():
            self.registry.clear_pending(pending)
        return len(pending)

    def _forget(self, article_id: str) -> None:
        origin = self.registry.origin(article_id)
        self.registry.remove_article(article_id)
        if origin:
            self.registry.forget_file(origin)

    def write(self, batch: list[Planned], report: IngestReport) -> None:
        """Store a batch of planned files' articles and duplicates, counting them in `report`."""
        staged = self.stage(batch)
        if staged.ids:
            self.store.upsert(staged.ids, self.embedder.embed_batch(staged.texts), staged.chunks, staged.metas)
        self.commit(staged, report)

    def stage(self, batch: list[Planned]) -> "Staged":
        """Mark a batch's articles pending: its chunks may now be upserted, here or by a worker."""
        writes = [w for item in batch for w in item.writes]
        aliases = [a for item in batch for a in item.aliases]
        touched = [a.id for a, _, _ in writes] + [a.id for a, _, _ in aliases]
        with self.registry.transaction():
            self.registry.mark_pending(touched)
        return Staged(batch, writes, aliases, touched, old=self.registry.chunk_ids(touched),
                      ids=[chunk_id(a, c) for a, chunks, _ in writes for c in chunks],
                      texts=[embedding_text(a, c) for a, chunks, _ in writes for c in chunks],
                      chunks=[c for _, chunks, _ in writes for c in chunks],
                      metas=[chunk_meta(a, c) for a, chunks, _ in writes for c in chunks])

    def commit(self, staged: "Staged", report: IngestReport) -> None:
        """Once the store holds a staged batch's chunks: record them, drop the stale ones."""
        if self.store.shared:
            self.store.put_records([self.registry.shared(r) for r in (
                [ArticleRecord(a, tuple((c.start, c.end) for c in chunks)) for a, chunks, _ in staged.writes]
                + [ArticleRecord(a, canonical=c, similarity=1.0 if sim is None else sim)
                   for a, c, sim in staged.aliases])])
        with self.registry.transaction():
            for article, chunks, _ in staged.writes:
                self.registry.put_article(article, [chunk_id(article, c) for c in chunks], chunks)
            for article, canonical, similarity in staged.aliases:
                self.registry.remove_article(article.id)
                self.registry.put_alias(article, canonical, 1.0 if similarity is None else similarity)
            for item in staged.batch:
                for article_id, sig in item.signatures.items():
                    self.registry.put_signature(article_id, sig)
                if item.loaded and not item.problems:
                    self.registry.put_file(item.loaded.origin, item.loaded.file_hash)
        fresh = set(staged.ids)
        self.store.delete([cid for ids in staged.old.values() for cid in ids if cid not in fresh])
        with self.registry.transaction():
            self.registry.clear_pending(staged.touched)
        for article, _, is_new in staged.writes:
            if is_new:
                report.added += 1
            else:
                report.updated += 1
        report.duplicate += len(staged.aliases)
        report.duplicates.extend((a.id, canonical) for a, canonical, sim in staged.aliases if sim is None)
        report.copies.extend((a.id, canonical, sim) for a, canonical, sim in staged.aliases if sim is not None)
        report.chunks_written += len(staged.ids)

    def remove(self, article_ids: list[str]) -> None:
        """Delete articles (and the copies that pointed at them: `Index` stores those again) from
        the index."""
        touched = article_ids + [alias_id for aid in article_ids for alias_id, _ in self.registry.aliases_of(aid)]
        with self.registry.transaction():
            self.registry.mark_pending(touched)
        old = self.registry.chunk_ids(article_ids)
        with self.registry.transaction():
            for aid in article_ids:
                for alias_id, alias_origin in self.registry.aliases_of(aid):
                    # its file is re-read next time, should a crash come before it is stored again
                    self.registry.remove_article(alias_id)
                    self.registry.forget_file(alias_origin)
                self._forget(aid)
        self.store.delete([cid for ids in old.values() for cid in ids])
        self.store.delete_records(touched)
        with self.registry.transaction():
            self.registry.clear_pending(touched)


def chunk_id(article: Article, chunk: Chunk) -> str:
    """Deterministic, so a repeated upsert after a crash overwrites instead of duplicating."""
    return f"{article.id}::{article.content_hash[:16]}::{chunk.index}"


def chunk_meta(article: Article, chunk: Chunk) -> dict:
    meta = {"article_id": article.id, "title": article.title, "date": article.date,
            "date_num": date_number(article.date),
            "source": article.source, "url": article.url, "author": article.author,
            "start": chunk.start, "end": chunk.end, "idx": chunk.index}
    return {k: v for k, v in meta.items() if v is not None}  # Chroma rejects None values
