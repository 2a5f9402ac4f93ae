"""The article registry: SQLite in the data dir, the source of truth for what is committed.

Writes to Chroma are bracketed by a `pending` journal row so that a crash at any point can be
repaired by `Journal.recover` (see journal.py).
"""
from __future__ import annotations

import hashlib
import socket
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from .models import SHARED_ORIGIN, Article, ArticleRecord, ArticleRow, Chunk, ChunkRow

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, text_hash TEXT NOT NULL, origin TEXT NOT NULL,
    title TEXT, date TEXT, source TEXT, url TEXT, author TEXT, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS articles_text_hash ON articles(text_hash);
CREATE INDEX IF NOT EXISTS articles_origin ON articles(origin);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, article_id TEXT NOT NULL, idx INTEGER NOT NULL,
    start INTEGER NOT NULL, end INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
-- an article stored as another's copy (same text, or a near copy): cited as that one, its own
-- metadata and text kept, so it can take the original's place when that is removed
CREATE TABLE IF NOT EXISTS aliases (id TEXT PRIMARY KEY, canonical TEXT NOT NULL, origin TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS aliases_canonical ON aliases(canonical);
-- the MinHash signature of each stored article's text (near-copy detection, neardup.py)
CREATE TABLE IF NOT EXISTS signatures (id TEXT PRIMARY KEY, sig BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS files (origin TEXT PRIMARY KEY, file_hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (article_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
-- a date or source set by hand: applied again whenever the article is re-read
CREATE TABLE IF NOT EXISTS edits (id TEXT PRIMARY KEY, date TEXT, source TEXT);
-- an article deleted by hand: its file's same text is not stored again
CREATE TABLE IF NOT EXISTS deleted (id TEXT PRIMARY KEY, text_hash TEXT NOT NULL);
-- the paths each ingest was given, so a re-index reads them again with the same ids
CREATE TABLE IF NOT EXISTS roots (path TEXT NOT NULL, namespace TEXT NOT NULL, PRIMARY KEY (path, namespace));
-- this data dir's name in a shared store's records (the machine that read an article's file)
CREATE TABLE IF NOT EXISTS machine (id TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('generation', 0);
"""
_FIELDS = ("id", "title", "date", "source", "url", "author", "origin", "text")
# added to `aliases` after its first version: an index from before gets them, empty
_ALIAS_COLUMNS = (("title", "TEXT"), ("date", "TEXT"), ("source", "TEXT"), ("url", "TEXT"), ("author", "TEXT"),
                  ("text", "TEXT"), ("content_hash", "TEXT"), ("similarity", "REAL"))
_SORTS = {"date": "a.date IS NULL, a.date", "title": "lower(a.title)", "source": "a.source IS NULL, lower(a.source)",
          "chunks": "chunks", "id": "a.id"}
BROWSE_LIMIT = 500


class Registry:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a committed article survives kill -9 and power loss
        self.db.executescript(_SCHEMA)
        self._machine: str | None = None
        have = {row[1] for row in self.db.execute("PRAGMA table_info(aliases)")}
        for name, kind in _ALIAS_COLUMNS:
            if name not in have:
                self.db.execute(f"ALTER TABLE aliases ADD COLUMN {name} {kind}")

    @classmethod
    def reader(cls, path: Path) -> "Registry":
        """A read-only connection to the registry at `path`, for another thread."""
        self = cls.__new__(cls)
        self.path = path
        self.db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        return self

    def close(self) -> None:
        self.db.close()

    def transaction(self):
        return _Transaction(self.db)

    def pin(self) -> None:
        """From the next read on, this connection sees the registry as it is then, until
        `unpin()`, while another connection writes (a WAL read transaction)."""
        self.db.execute("BEGIN")

    def unpin(self) -> None:
        self.db.execute("COMMIT")

    # -- reads -------------------------------------------------------------
    def file_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT origin, file_hash FROM files"))

    def hashes(self) -> dict[str, tuple[str, str]]:
        """article id -> (content_hash, text_hash)."""
        return {i: (c, t) for i, c, t in self.db.execute("SELECT id, content_hash, text_hash FROM articles")}

    def origin(self, article_id: str) -> str | None:
        """The file a stored article came from."""
        row = self.db.execute("SELECT origin FROM articles WHERE id=?", (article_id,)).fetchone()
        return row[0] if row else None

    def aliases_of(self, canonical: str) -> list[tuple[str, str]]:
        """(id, origin) of each duplicate stored as `canonical`."""
        return self.db.execute("SELECT id, origin FROM aliases WHERE canonical=?", (canonical,)).fetchall()

    def aliases(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, canonical FROM aliases"))

    def alias_hashes(self) -> dict[str, tuple[str, str | None]]:
        """alias id -> (canonical id, the alias's content hash; None if stored before it was kept)."""
        return {i: (c, h) for i, c, h in self.db.execute("SELECT id, canonical, content_hash FROM aliases")}

    def copies_of(self, canonical: str) -> list[tuple[Article, float]]:
        """Each article stored as a copy of `canonical`, with its similarity (1.0: the same text),
        oldest first. Its text is "" when it was stored before copies kept theirs."""
        rows = self.db.execute(
            f"SELECT {', '.join(_FIELDS)}, similarity FROM aliases WHERE canonical=? "
            "ORDER BY date IS NULL, date, id", (canonical,))
        return [(Article(**{k: v or "" if k in ("text", "title") else v for k, v in zip(_FIELDS, row)}),
                 row[-1] if row[-1] is not None else 1.0) for row in rows]

    def signatures(self) -> Iterable[tuple[str, bytes]]:
        return self.db.execute("SELECT id, sig FROM signatures")

    def unsigned(self) -> list[tuple[str, str]]:
        """(id, text) of the stored articles without a signature (an index from before them)."""
        return self.db.execute("SELECT a.id, a.text FROM articles a LEFT JOIN signatures s ON s.id = a.id "
                               "WHERE s.id IS NULL").fetchall()

    def ids_by_origin(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for origin, aid in self.db.execute(
                "SELECT origin, id FROM articles UNION ALL SELECT origin, id FROM aliases"):
            out.setdefault(origin, []).append(aid)
        return out

    def chunk_ids(self, article_ids: Iterable[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for aid in article_ids:
            out[aid] = {r[0] for r in self.db.execute("SELECT id FROM chunks WHERE article_id=?", (aid,))}
        return out

    def generation(self) -> int:
        """Bumped by every change to the stored chunks; derived indexes (BM25) compare against it."""
        return self.db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()[0]

    def chunk_rows(self) -> list[ChunkRow]:
        """Every chunk, in id order."""
        return [ChunkRow(*row) for row in self.db.execute(
            "SELECT c.id, c.article_id, c.idx, c.start, c.end, a.title, a.date, a.source, a.url "
            "FROM chunks c JOIN articles a ON a.id = c.article_id ORDER BY c.id")]

    def chunk_texts(self, chunk_ids: Sequence[str] | None = None) -> dict[str, tuple[str, str]]:
        """Chunk id -> (article title, chunk text cut from the stored article); all chunks when no ids."""
        sql = ("SELECT c.id, a.title, substr(a.text, c.start + 1, c.end - c.start) "
               "FROM chunks c JOIN articles a ON a.id = c.article_id")
        if chunk_ids is None:
            return {cid: (title, text) for cid, title, text in self.db.execute(sql)}
        out, ids = {}, list(chunk_ids)
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            rows = self.db.execute(f"{sql} WHERE c.id IN ({','.join('?' * len(part))})", part)
            out.update({cid: (title, text) for cid, title, text in rows})
        return out

    def heads(self) -> dict[str, tuple[str | None, str | None]]:
        """id -> (content hash, canonical id or None) of every stored article and copy."""
        rows = self.db.execute("SELECT id, content_hash, NULL FROM articles UNION ALL "
                               "SELECT id, content_hash, canonical FROM aliases")
        return {i: (h, c) for i, h, c in rows}

    def machine(self) -> str:
        """This data dir's name in a shared store, made once from the host and the data dir's
        path: a data dir deleted and made again in the same place knows its own files."""
        if self._machine is None:
            where = hashlib.sha256(str(self.path.parent.absolute()).encode()).hexdigest()[:8]
            with self.transaction():
                self.db.execute("INSERT INTO machine SELECT ? WHERE NOT EXISTS (SELECT 1 FROM machine)",
                                (f"{socket.gethostname()}-{where}",))
            self._machine = self.db.execute("SELECT id FROM machine").fetchone()[0]
        return self._machine

    def shared(self, record: ArticleRecord) -> ArticleRecord:
        """`record` as a shared store keeps it: a file read here is named with this machine."""
        origin = record.article.origin
        if origin.startswith(SHARED_ORIGIN):
            return record
        return replace(record, article=replace(record.article, origin=f"{SHARED_ORIGIN}{self.machine()}{origin}"))

    def own(self, record: ArticleRecord) -> ArticleRecord:
        """`record` as this registry keeps it: a file read here by its path, another machine's by
        its shared name (never a path here: not pruned or re-read, its id never taken by a file here)."""
        mine = f"{SHARED_ORIGIN}{self.machine()}"
        origin = record.article.origin
        if origin == mine or origin.startswith(mine + "/"):
            return replace(record, article=replace(record.article, origin=origin[len(mine):]))
        return record

    def records(self, ids: Iterable[str]) -> list[ArticleRecord]:
        """The stored articles and copies among `ids`, as a shared store keeps them."""
        out = []
        for aid in ids:
            article = self.article(aid)
            if article is not None:
                spans = self.db.execute("SELECT start, end FROM chunks WHERE article_id=? ORDER BY idx", (aid,))
                out.append(self.shared(ArticleRecord(article, tuple(spans))))
                continue
            row = self.db.execute(f"SELECT {', '.join(_FIELDS)}, canonical, similarity FROM aliases WHERE id=?",
                                  (aid,)).fetchone()
            if row is not None and row[_FIELDS.index("text")] is not None:  # a copy from before texts were kept: not shared
                article = Article(**{k: v or "" if k == "title" else v for k, v in zip(_FIELDS, row)})
                out.append(self.shared(ArticleRecord(article, canonical=row[-2], similarity=row[-1] or 1.0)))
        return out

    def pending(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT article_id FROM pending")]

    def article(self, article_id: str) -> Article | None:
        row = self.db.execute(f"SELECT {', '.join(_FIELDS)} FROM articles WHERE id=?", (article_id,)).fetchone()
        return Article(**dict(zip(_FIELDS, row))) if row else None

    def text(self, article_id: str) -> str | None:
        row = self.db.execute("SELECT text FROM articles WHERE id=?", (article_id,)).fetchone()
        return row[0] if row else None

    def articles(self) -> Iterable[Article]:
        for row in self.db.execute(f"SELECT {', '.join(_FIELDS)} FROM articles ORDER BY id"):
            yield Article(**dict(zip(_FIELDS, row)))

    def chunks_of(self, article: Article) -> list[Chunk]:
        """The stored chunks of `article`, in order, cut from its text."""
        rows = self.db.execute("SELECT idx, start, end FROM chunks WHERE article_id=? ORDER BY idx", (article.id,))
        return [Chunk(article.id, i, a, b, article.text[a:b]) for i, a, b in rows]

    def browse(self, query: str = "", sort: str = "date", descending: bool = True, offset: int = 0,
               limit: int = 50) -> tuple[list[ArticleRow], int]:
        """A page of the stored articles whose title, id or source contains `query` (any case),
        and how many match. Undated (or sourceless) articles sort last either way."""
        if sort not in _SORTS:
            raise ValueError(f"sort {sort!r} is not one of {', '.join(_SORTS)}")
        limit, offset = max(1, min(int(limit), BROWSE_LIMIT)), max(0, int(offset))
        needle = " ".join(query.split()).casefold()
        # instr, not LIKE: a "%" or "_" in the query is matched as itself
        where = ("WHERE ?='' OR instr(lower(a.title), ?) OR instr(lower(a.id), ?) "
                 "OR instr(lower(coalesce(a.source, '')), ?)")
        args = (needle,) * 4
        total = self.db.execute(f"SELECT COUNT(*) FROM articles a {where}", args).fetchone()[0]
        keys = _SORTS[sort].split(", ")
        order = ", ".join(k if k.endswith("IS NULL") else f"{k} {'DESC' if descending else 'ASC'}" for k in keys)
        rows = self.db.execute(
            "SELECT a.id, a.title, a.date, a.source, a.url, a.origin, "
            "(SELECT COUNT(*) FROM chunks c WHERE c.article_id = a.id) AS chunks "
            f"FROM articles a {where} ORDER BY {order}, a.id LIMIT ? OFFSET ?", (*args, limit, offset))
        return [ArticleRow(i, t or "", d, s, u, n, "upload" if i.startswith("upload:") else o)
                for i, t, d, s, u, o, n in rows], total

    def edits(self) -> dict[str, dict]:
        """article id -> the fields set by hand ({"date": ..., "source": ...}; None clears)."""
        return {i: {"date": d, "source": s} for i, d, s in self.db.execute("SELECT id, date, source FROM edits")}

    def tombstones(self) -> dict[str, str]:
        """Deleted article id -> the text hash it had."""
        return dict(self.db.execute("SELECT id, text_hash FROM deleted"))

    def roots(self) -> list[tuple[str, str]]:
        """(path, namespace) of every path an ingest was given ("" namespace: none)."""
        return self.db.execute("SELECT path, namespace FROM roots ORDER BY path").fetchall()

    def stats(self) -> dict:
        """The registry's part of `IndexStatus`."""
        q = self.db.execute
        n_articles, first, last = q("SELECT COUNT(*), MIN(date), MAX(date) FROM articles").fetchone()
        sources = tuple(r[0] for r in q("SELECT DISTINCT source FROM articles WHERE source IS NOT NULL ORDER BY 1"))
        return {"articles": n_articles, "chunks": q("SELECT COUNT(*) FROM chunks").fetchone()[0],
                "duplicates": q("SELECT COUNT(*) FROM aliases").fetchone()[0],
                "undated": q("SELECT COUNT(*) FROM articles WHERE date IS NULL").fetchone()[0],
                "date_range": (first, last) if first else None, "sources": sources}

    # -- writes (call inside `transaction()`) -------------------------------
    def mark_pending(self, article_ids: Sequence[str]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO pending VALUES (?)", [(a,) for a in article_ids])

    def clear_pending(self, article_ids: Sequence[str]) -> None:
        self.db.executemany("DELETE FROM pending WHERE article_id=?", [(a,) for a in article_ids])

    def _bump(self) -> None:
        self.db.execute("UPDATE meta SET value = value + 1 WHERE key='generation'")

    def put_article(self, article: Article, chunk_ids: Sequence[str], chunks: Sequence[Chunk]) -> None:
        self._bump()
        self.db.execute("DELETE FROM chunks WHERE article_id=?", (article.id,))
        self.db.execute("DELETE FROM aliases WHERE id=?", (article.id,))
        self.db.execute(
            "INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?,?,?,?,?)",
            (article.id, article.content_hash, article.text_hash, article.origin, article.title,
             article.date, article.source, article.url, article.author, article.text))
        self.db.executemany("INSERT INTO chunks VALUES (?,?,?,?,?)",
                            [(cid, c.article_id, c.index, c.start, c.end) for cid, c in zip(chunk_ids, chunks)])

    def remove_article(self, article_id: str) -> None:
        self._bump()
        self.db.execute("DELETE FROM articles WHERE id=?", (article_id,))
        self.db.execute("DELETE FROM chunks WHERE article_id=?", (article_id,))
        self.db.execute("DELETE FROM aliases WHERE id=?", (article_id,))
        self.db.execute("DELETE FROM signatures WHERE id=?", (article_id,))

    def put_alias(self, article: Article, canonical: str, similarity: float) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO aliases (id, canonical, origin, title, date, source, url, author, text, "
            "content_hash, similarity) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (article.id, canonical, article.origin, article.title, article.date, article.source, article.url,
             article.author, article.text, article.content_hash, similarity))

    def put_signature(self, article_id: str, sig: bytes | None) -> None:
        """None: the text is too short to have one."""
        if sig is None:
            self.db.execute("DELETE FROM signatures WHERE id=?", (article_id,))
        else:
            self.db.execute("INSERT OR REPLACE INTO signatures VALUES (?,?)", (article_id, sig))

    def put_edit(self, article_id: str, date: str | None, source: str | None) -> None:
        self.db.execute("INSERT OR REPLACE INTO edits VALUES (?,?,?)", (article_id, date, source))

    def put_tombstone(self, article_id: str, text_hash: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO deleted VALUES (?,?)", (article_id, text_hash))
        self.db.execute("DELETE FROM edits WHERE id=?", (article_id,))

    def put_root(self, path: str, namespace: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO roots VALUES (?,?)", (path, namespace))

    def put_file(self, origin: str, file_hash: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO files VALUES (?,?)", (origin, file_hash))

    def forget_file(self, origin: str) -> None:
        self.db.execute("DELETE FROM files WHERE origin=?", (origin,))


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, *_):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
