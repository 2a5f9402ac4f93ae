"""Typed hand-offs between the indexing stages."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Article:
    """One news article as loaded from a file or a JSON record."""

    id: str  # path relative to the folder given, or the record's id
    text: str  # body text; chunk and citation offsets index into this
    title: str
    date: str | None = None  # ISO YYYY-MM-DD
    source: str | None = None
    url: str | None = None
    author: str | None = None
    origin: str = ""  # absolute path of the file it came from

    @property
    def text_hash(self) -> str:
        """Identifies the body text: equal bodies under two ids are duplicates."""
        return _sha(self.text)

    @property
    def content_hash(self) -> str:
        """Identifies body and metadata: any change means the article is updated."""
        return _sha("\x1f".join(str(v) for v in (self.text, self.title, self.date,
                                                 self.source, self.url, self.author)))


@dataclass(frozen=True)
class Chunk:
    """A passage of an article; `text == article.text[start:end]` always holds."""

    article_id: str
    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class LoadProblem:
    """A file (or record) that could not be loaded, with the reason and the fix."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class LoadedFile:
    """Everything one file yielded: its articles, the records that failed (`problems`) and the
    problems that did not stop an article being stored (`warnings`: an impossible date dropped,
    invisible characters removed)."""

    origin: str
    file_hash: str
    articles: tuple[Article, ...] = ()
    problems: tuple[LoadProblem, ...] = field(default_factory=tuple)
    warnings: tuple[LoadProblem, ...] = field(default_factory=tuple)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
