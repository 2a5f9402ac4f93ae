"""Hybrid retrieval: dense (Chroma) and BM25 fused by reciprocal rank, with date/source/article
filters, recency for "latest" questions, and a cap per article so one story cannot crowd out the rest."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from index import Index
from index.errors import DiskFullError, StoreUnavailableError
from index.text import date_number, number_date

from .models import Hit
from .rerank import NoRerank, Reranker

MODES = ("hybrid", "dense", "bm25")


@dataclass(frozen=True)
class Filters:
    since: date | None = None  # inclusive publish-date bounds; undated articles are then excluded
    until: date | None = None
    sources: tuple[str, ...] = ()
    article_ids: tuple[str, ...] = ()
    latest: bool = False  # prefer the newest articles among the relevant ones

    def where(self) -> dict | None:
        """The same filter as a Chroma `where` clause."""
        parts = []
        if self.since:
            parts.append({"date_num": {"$gte": date_number(self.since)}})
        if self.until:
            parts.append({"date_num": {"$lte": date_number(self.until)}})
        if self.sources:
            parts.append({"source": {"$in": list(self.sources)}})
        if self.article_ids:
            parts.append({"article_id": {"$in": list(self.article_ids)}})
        return None if not parts else parts[0] if len(parts) == 1 else {"$and": parts}


@dataclass(frozen=True)
class RetrievalSettings:
    mode: str = "hybrid"
    top_k: int = 8
    candidates: int = 40  # per retriever, before fusion
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 0.5
    per_article: int = 2
    rerank_depth: int = 20  # fused candidates the reranker reorders


def _newest(dates: np.ndarray) -> date | None:
    """The newest real date; an index built before dates were checked may hold 2025-11-31."""
    return next((day for day in map(number_date, np.unique(dates)[::-1]) if day), None)


class Retriever:
    def __init__(self, index: Index, settings: RetrievalSettings = RetrievalSettings(),
                 reranker: Reranker | None = None) -> None:
        self.index, self.settings = index, settings
        self.reranker = reranker or NoRerank()
        self.generation = -1
        self.degraded: str | None = None  # why the last search ran on BM25 alone (the vector store failed)
        self._refresh()

    def _refresh(self) -> None:
        """Reload BM25 and chunk metadata when an ingest changed the index."""
        generation = self.index.registry.generation()
        if generation == self.generation:
            return
        self.lexical = self.index.lexical()
        rows = {r.chunk_id: r for r in self.index.registry.chunk_rows()}
        self.rows = [rows[cid] for cid in self.lexical.ids]
        self.position = {cid: i for i, cid in enumerate(self.lexical.ids)}
        self.dates = np.array([date_number(r.date) or 0 for r in self.rows], dtype=np.int64)
        self.newest = _newest(self.dates)
        self.generation = generation

    def anchor(self) -> date | None:
        """The newest publish date in the corpus: the 'today' for relative time expressions."""
        self._refresh()
        return self.newest

    def covers(self, since: date | None, until: date | None) -> bool:
        """Whether any stored article was published in this range."""
        self._refresh()
        keep = self.dates > 0
        if since:
            keep &= self.dates >= date_number(since)
        if until:
            keep &= self.dates <= date_number(until)
        return bool(keep.any())

    def search(self, query: str, filters: Filters = Filters(), k: int | None = None) -> list[Hit]:
        self._refresh()
        s = self.settings
        k = k or s.top_k
        ranked: dict[str, dict] = {}
        self.degraded = None
        if s.mode in ("hybrid", "dense"):
            vector = self.index.embedder.embed_batch([query])[0]
            try:
                dense = self.index.store.query(vector, s.candidates, filters.where())
            except (StoreUnavailableError, DiskFullError) as exc:  # BM25 lives in the data dir: answer from it
                self.degraded, dense = str(exc), []
            for rank, (chunk, _) in enumerate(dense):
                ranked.setdefault(chunk.id, {"text": chunk.text})["dense"] = rank
        if s.mode in ("hybrid", "bm25") or self.degraded:
            for rank, (pos, _) in enumerate(self.lexical.search(query, s.candidates, self._mask(filters))):
                ranked.setdefault(self.lexical.ids[pos], {})["bm25"] = rank
        ranked = {cid: r for cid, r in ranked.items() if cid in self.position}  # skip a half-written batch
        scores = {cid: (s.dense_weight / (s.rrf_k + r["dense"]) if "dense" in r else 0.0)
                  + (s.bm25_weight / (s.rrf_k + r["bm25"]) if "bm25" in r else 0.0) for cid, r in ranked.items()}
        if filters.latest:
            by_date = sorted(scores, key=lambda cid: -self.dates[self.position[cid]])
            for rank, cid in enumerate(by_date):
                scores[cid] += 1.0 / (s.rrf_k + rank)
        order = sorted(scores, key=scores.get, reverse=True)
        if not isinstance(self.reranker, NoRerank):
            head = self._hits(order[:max(k, s.rerank_depth)], ranked, scores)
            try:
                order = [h.chunk_id for h in self.reranker.rerank(query, head)] + order[len(head):]
            except (StoreUnavailableError, DiskFullError) as exc:  # MMR reads the stored vectors: keep the fused order
                self.degraded = self.degraded or str(exc)
        return self._hits(self._diverse(order, k), ranked, scores)

    def _hits(self, ids: list[str], ranked: dict, scores: dict) -> list[Hit]:
        missing = [cid for cid in ids if "text" not in ranked[cid]]
        texts = {cid: text for cid, (_, text) in self.index.registry.chunk_texts(missing).items()}
        return [self._hit(cid, ranked[cid].get("text") or texts[cid], scores[cid], ranked[cid]) for cid in ids]

    def _diverse(self, order: list[str], k: int) -> list[str]:
        """The first `k` of `order` (fused, then re-ranked) with at most `per_article` chunks per
        article, filled from the rest when fewer articles match."""
        chosen, per_article = [], {}
        for cid in order:
            article = self.rows[self.position[cid]].article_id
            if per_article.get(article, 0) < self.settings.per_article and len(chosen) < k:
                per_article[article] = per_article.get(article, 0) + 1
                chosen.append(cid)
        chosen += [cid for cid in order if cid not in chosen][:k - len(chosen)]
        position = {cid: i for i, cid in enumerate(order)}
        return sorted(chosen, key=position.get)

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if not (filters.since or filters.until or filters.sources or filters.article_ids):
            return None
        keep = np.ones(len(self.rows), dtype=bool)
        if filters.since:
            keep &= self.dates >= date_number(filters.since)
        if filters.until:
            keep &= (self.dates <= date_number(filters.until)) & (self.dates > 0)
        if filters.sources:
            keep &= np.array([r.source in filters.sources for r in self.rows], dtype=bool)
        if filters.article_ids:
            keep &= np.array([r.article_id in filters.article_ids for r in self.rows], dtype=bool)
        return keep.astype(np.float32)

    def _hit(self, cid: str, text: str, score: float, ranks: dict) -> Hit:
        r = self.rows[self.position[cid]]
        return Hit(cid, r.article_id, r.title, r.date, r.source, r.url, r.start, r.end, text, score,
                   ranks.get("dense"), ranks.get("bm25"))
