"""Re-ranking of the fused candidates before the per-article cap: none, MMR (LLM-free, uses the
stored chunk vectors) or a user-supplied cross-encoder. The eval decides the default."""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from index import Index
from index.plugins import Registry, load_class
from index.text import titled

from .errors import ConfigError
from .models import Hit

RERANKERS = Registry("newsrag.rerankers", "reranker")


class Reranker(ABC):
    """Reorders candidates (best first, as fused) for one query; may not add or drop any."""

    @abstractmethod
    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]: ...


class NoRerank(Reranker):
    def rerank(self, query, hits):
        return hits


class MMRReranker(Reranker):
    """Maximal marginal relevance across articles: relevance is the fused score (min-max scaled, so
    BM25 keeps its say), redundancy the cosine to chunks of *other* articles already picked, so
    the same story from several outlets cannot fill the top. Chunks of one article are never
    redundant with each other: they hold different facts (the per-article cap limits them)."""

    def __init__(self, index: Index, weight: float = 0.7) -> None:
        self.index, self.weight = index, weight

    def rerank(self, query, hits):
        if len(hits) < 3:
            return hits
        vectors = self.index.store.vectors([h.chunk_id for h in hits])
        scores = np.array([h.score for h in hits])
        span = scores.max() - scores.min()
        relevance = (scores - scores.min()) / span if span else np.ones(len(hits))
        similarity = vectors @ vectors.T
        articles = np.array([h.article_id for h in hits])
        similarity[articles[:, None] == articles[None, :]] = 0.0
        picked, left = [0], list(range(1, len(hits)))
        while left:
            redundancy = similarity[np.ix_(left, picked)].max(axis=1)
            mmr = self.weight * relevance[left] - (1 - self.weight) * redundancy
            picked.append(left.pop(int(np.argmax(mmr))))
        return [hits[i] for i in picked]


class CrossEncoderReranker(Reranker):
    """Scores (question, headline + chunk) pairs with a local sentence-transformers CrossEncoder."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path).expanduser()
        if not path.is_dir():
            raise ConfigError(f"cross-encoder model {path} is not a directory; give a local "
                              "sentence-transformers CrossEncoder folder: --rerank cross-encoder:PATH")
        from sentence_transformers import CrossEncoder

        try:
            self.model = CrossEncoder(str(path), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load a cross-encoder from {path} ({exc}); give a local "
                              "sentence-transformers CrossEncoder folder: --rerank cross-encoder:PATH") from exc

    def rerank(self, query, hits):
        if len(hits) < 2:
            return hits
        scores = self.model.predict([(query, titled(h.title, h.text)) for h in hits],
                                    convert_to_numpy=True, show_progress_bar=False)
        relevant = np.asarray(scores).reshape(len(hits), -1)[:, -1]  # 2-label models: the "relevant" logit
        order = sorted(range(len(hits)), key=lambda i: -float(relevant[i]))
        return [hits[i] for i in order]


def make_reranker(spec: str, index: Index, mmr_weight: float = 0.7) -> Reranker:
    """The reranker registered as `NAME` or `NAME:ARGUMENT` (none, mmr, cross-encoder:PATH, or a
    plugin's), or a `Reranker` subclass by dotted path `package.module:Class` taking the index.
    Registered factories take `(index, argument, mmr_weight)`."""
    name, _, argument = (spec or "none").partition(":")
    if name not in RERANKERS.entries() and argument:
        return load_class(spec, Reranker, "reranker")(index)
    return RERANKERS.build(name, index, argument.strip(), mmr_weight)


def none(index: Index, argument: str = "", mmr_weight: float = 0.7) -> Reranker:
    """Keep the fused order."""
    return NoRerank()


def mmr(index: Index, argument: str = "", mmr_weight: float = 0.7) -> Reranker:
    """Maximal marginal relevance: relevance traded against novelty by --mmr-weight."""
    return MMRReranker(index, mmr_weight)


def cross_encoder(index: Index, argument: str = "", mmr_weight: float = 0.7) -> Reranker:
    """cross-encoder:PATH, a local sentence-transformers CrossEncoder folder."""
    if not argument:
        raise ConfigError("--rerank cross-encoder: needs the model folder: cross-encoder:PATH")
    return CrossEncoderReranker(argument)
