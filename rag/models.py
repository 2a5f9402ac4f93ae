"""Typed hand-offs of the answering stages: retrieval returns `Hit`s, answering an `Answer`."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Hit":
        return cls(**d)


@dataclass(frozen=True)
class Copy:
    """The same story from another source (a near copy, or the same text), folded into the
    citation of the article stored first: "also reported by"."""

    article: str
    title: str
    source: str | None
    date: str | None
    url: str | None


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
    also: tuple[Copy, ...] = ()  # other sources of the same story, oldest first

    def also_reported(self) -> str:
        """'Also reported by 2 sources: Reuters (2025-10-02), AP (undated).', or '' with no copies."""
        if not self.also:
            return ""
        names = ", ".join(f"{c.source or c.title or c.article} ({c.date or 'undated'})" for c in self.also)
        return f"Also reported by {len(self.also)} source{'s' * (len(self.also) != 1)}: {names}."

    def to_dict(self) -> dict:
        return {"n": self.n, "article": self.article, "title": self.title, "date": self.date,
                "source": self.source, "url": self.url, "quote": self.quote, "start": self.start, "end": self.end,
                "weak": self.weak, "also_reported_by": [asdict(c) for c in self.also]}

    @classmethod
    def from_dict(cls, d: dict) -> "Citation":
        d = dict(d)
        also = tuple(Copy(**c) for c in d.pop("also_reported_by", ()))
        return cls(**d, also=also)


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

    def to_dict(self) -> dict:
        """Every field, JSON-serialisable; `Answer.from_dict` reads it back (saved conversations)."""
        return {"text": self.text, "abstained": self.abstained, "citations": [c.to_dict() for c in self.citations],
                "question": self.question, "closest": [h.to_dict() for h in self.closest],
                "conflict": self.conflict, "warnings": list(self.warnings), "degraded": self.degraded,
                "timings": dict(self.timings)}

    @classmethod
    def from_dict(cls, d: dict) -> "Answer":
        # optional fields may be missing: an answer saved before they existed still loads
        return cls(text=d["text"], abstained=d["abstained"],
                   citations=tuple(Citation.from_dict(c) for c in d.get("citations", ())),
                   question=d.get("question", ""), closest=tuple(Hit.from_dict(h) for h in d.get("closest", ())),
                   conflict=d.get("conflict", False), warnings=tuple(d.get("warnings", ())),
                   degraded=d.get("degraded", False), timings=dict(d.get("timings", {})))
