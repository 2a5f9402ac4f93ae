"""Typed hand-offs between the indexing stages."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field


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


SHARED_ORIGIN = "newsrag://"  # a shared store's origins name the data dir that read the file: newsrag://MACHINE/path


@dataclass(frozen=True)
class ArticleRecord:
    """A stored article as a shared store keeps it for every machine's registry to follow: an
    original with its chunks' spans, or a copy (`canonical` set) cited as that one."""

    article: Article
    spans: tuple[tuple[int, int], ...] = ()  # (start, end) of each chunk, in order; () for a copy
    canonical: str | None = None
    similarity: float | None = None  # a copy's: 1.0 for the same text

    def chunks(self) -> list[Chunk]:
        text = self.article.text
        return [Chunk(self.article.id, i, a, b, text[a:b]) for i, (a, b) in enumerate(self.spans)]


@dataclass(frozen=True)
class ArticleRow:
    """A stored article as the corpus view lists it."""

    id: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    chunks: int
    origin: str  # the file it came from, or "upload"


@dataclass(frozen=True)
class ChunkRow:
    """A stored chunk's place and its article's metadata (no text: that is cut from the article)."""

    chunk_id: str
    article_id: str
    index: int
    start: int
    end: int
    title: str
    date: str | None
    source: str | None
    url: str | None


@dataclass(frozen=True)
class IndexStatus:
    """What an index holds (`newsrag status`)."""

    articles: int
    chunks: int  # in the registry
    stored_chunks: int  # in the vector store: equal unless a repair is due
    duplicates: int  # files whose text an article already had: stored once
    undated: int
    date_range: tuple[str, str] | None
    sources: tuple[str, ...]
    embedder: dict  # model, dim, precision
    chunking: dict  # size, overlap
    data_dir: str
    store: str  # where the vectors live: a folder, or a Chroma server's URL

    def to_dict(self) -> dict:
        """The `newsrag status --json` contract."""
        data = asdict(self)
        return {**data, "date_range": list(self.date_range) if self.date_range else None,
                "sources": list(self.sources)}


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


@dataclass(frozen=True)
class FileReport:
    """What one file (or a path that could not be read) came to in an ingest."""

    path: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicate: int = 0  # the same text as a stored article, or a near copy of one: recorded as an alias
    failed: int = 0  # files or records that could not be loaded
    chunks: int = 0  # chunks embedded and written for it
    problems: tuple[str, ...] = ()
    duplicate_of: tuple[str, ...] = ()  # the stored articles with the same text
    copy_of: tuple[str, ...] = ()  # the stored articles it is a near copy of
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
    worker_processes: int = 0  # processes that embedded and upserted (0: the ingest's own, --workers 1)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (duplicate id, stored id)
    copies: list[tuple[str, str, float]] = field(default_factory=list)  # (copy id, stored id, similarity)
    files: list[FileReport] = field(default_factory=list)  # one per file, in the order read

    def merge(self, other: "IngestReport") -> None:
        """Add `other`'s counts and lists to these (one report over several ingests)."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict:
        return asdict(self)
