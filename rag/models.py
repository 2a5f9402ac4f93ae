"""Typed hand-offs of the answering stages: retrieval returns `Hit`s, answering an `Answer`."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with what a citation needs; `text == article_text[start:end]`."""

    chunk_id: str
    article_id: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    start: int
    end: int
    text: str
    score: float  # fused score; higher is better (a re-rank may order hits otherwise)
    dense_rank: int | None = None
    bm25_rank: int | None = None


@dataclass(frozen=True)
class Citation:
    n: int
    article: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    quote: str  # == article_text[start:end]
    start: int
    end: int
    weak: bool = False  # the quoted sentence matches the question only weakly: check it

    def to_dict(self) -> dict:
        return {"n": self.n, "article": self.article, "title": self.title, "date": self.date,
                "source": self.source, "url": self.url, "quote": self.quote, "start": self.start, "end": self.end,
                "weak": self.weak}


NOT_IN_ARTICLES = "The articles in the corpus don't say."  # an abstention's first sentence


@dataclass(frozen=True)
class Answer:
    text: str
    abstained: bool
    citations: tuple[Citation, ...] = ()
    question: str = ""
    closest: tuple[Hit, ...] = ()  # when abstaining: the nearest articles, for the reader to check
    conflict: bool = False  # sources disagree on the asked fact; the text says so
    warnings: tuple[str, ...] = ()  # what failed on the way (the LLM, the vector store); the text ends with them
    degraded: bool = False  # retrieved by keyword search alone: the vector store was down
    timings: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        """The `newsrag ask --json` contract."""
        return {"answer": self.text, "abstained": self.abstained,
                "citations": [c.to_dict() for c in self.citations]}
