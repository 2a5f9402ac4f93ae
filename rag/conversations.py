"""Saved conversations: SQLite in the data dir (`<data_dir>/conversations.sqlite`), one owner's at a time.

An owner is a random browser id or a signed-in user name. Every method takes it, and another
owner's conversation behaves exactly like a missing one: `get` and `rename` return None, `delete`
and `add_turn` return False / None, `list` never shows it.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .models import Answer

TITLE_CHARS = 120  # a title given by hand
AUTO_TITLE_CHARS = 60  # a title made from the first question
QUESTION_CHARS = 10_000  # stored question text (the assistant refuses far shorter ones by default)
OWNER_CHARS = 200
LIST_LIMIT = 200  # most conversations one `list` returns

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, title TEXT, created TEXT NOT NULL, updated TEXT NOT NULL,
    turns INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS conversations_owner ON conversations(owner, updated);
CREATE TABLE IF NOT EXISTS turns (
    conversation_id TEXT NOT NULL, idx INTEGER NOT NULL, question TEXT NOT NULL, filters TEXT NOT NULL,
    answer TEXT, error TEXT, backend TEXT, asked_at TEXT NOT NULL,
    search TEXT NOT NULL,  -- the question and answer text, folded for `list(query=...)`
    PRIMARY KEY (conversation_id, idx));
"""
_CONVERSATION = "SELECT id, owner, title, created, updated, turns FROM conversations"


def now() -> str:
    """The current UTC time as an ISO string; microseconds so that `updated` orders turns asked in one second."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Conversation:
    id: str
    owner: str
    title: str | None  # None until the first question names it
    created: str  # UTC ISO times
    updated: str  # when the last turn was added
    turns: int  # how many turns it holds


@dataclass(frozen=True)
class SavedTurn:
    """One question and its outcome: an answer, or the error that stopped it."""

    question: str
    filters: dict = field(default_factory=dict)  # as passed to `Assistant.ask` (since, until, source, llm)
    answer: Answer | None = None
    error: str | None = None
    backend: str | None = None  # which backend answered, e.g. "extractive" or "local · SmolLM2-135M"
    asked_at: str = field(default_factory=now)

    def to_dict(self) -> dict:
        return {"question": self.question, "filters": self.filters,
                "answer": self.answer.to_dict() if self.answer else None, "error": self.error,
                "backend": self.backend, "asked_at": self.asked_at}


_Turns = list[SavedTurn]  # `list` is a method name inside the store


class ConversationStore:
    """Conversations and their turns, kept across server restarts."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # SQLite's LIKE and lower() fold ASCII only; searching "été" must find "Été" too
        self.db.create_function("casefold", 1, _fold, deterministic=True)
        self.db.executescript(_SCHEMA)
        self._lock = threading.Lock()  # one connection, shared by the server's threads

    def close(self) -> None:
        self.db.close()

    def create(self, owner: str, title: str | None = None) -> Conversation:
        """A new, empty conversation; untitled until its first question unless `title` is given."""
        owner, title = _owner(owner), None if title is None else _title(title)
        stamp = now()
        conv = Conversation(secrets.token_urlsafe(12), owner, title, stamp, stamp, 0)
        with self._lock:
            self.db.execute("INSERT INTO conversations VALUES (?,?,?,?,?,?)",
                            (conv.id, owner, title, stamp, stamp, 0))
        return conv

    def add_turn(self, owner: str, conversation_id: str, turn: SavedTurn) -> Conversation | None:
        """Append `turn`; the conversation as it is now, or None if the owner has no such conversation.
        An untitled conversation is named after the question."""
        owner = _owner(owner)
        question = turn.question[:QUESTION_CHARS]
        answer = json.dumps(turn.answer.to_dict(), ensure_ascii=False) if turn.answer else None
        # a date object among the filters is saved as its ISO string, which `Assistant.ask` accepts too
        filters = json.dumps(turn.filters, ensure_ascii=False, default=str)
        search = _fold(f"{question}\n{turn.answer.text if turn.answer else ''}")
        with self._lock, self._transaction():
            conv = self._get(owner, conversation_id)
            if conv is None:
                return None
            title = conv.title or _auto_title(question)
            self.db.execute("INSERT INTO turns VALUES (?,?,?,?,?,?,?,?,?)",
                            (conv.id, conv.turns, question, filters, answer, turn.error, turn.backend,
                             turn.asked_at, search))
            self.db.execute("UPDATE conversations SET title=?, updated=?, turns=turns+1 WHERE id=?",
                            (title, now(), conv.id))
            return self._get(owner, conv.id)

    def list(self, owner: str, query: str = "", limit: int = 50) -> list[Conversation]:
        """The owner's conversations, most recently updated first (at most `LIST_LIMIT`). A `query`
        keeps those whose title, or a question or answer of a turn, contains it, ignoring case."""
        owner, needle = _owner(owner), _fold(query)
        if limit < 1:
            raise ValueError(f"limit is {limit}; ask for at least one conversation")
        # instr, not LIKE: a "%" or "_" in the query is matched as itself
        sql = (f"{_CONVERSATION} c WHERE owner=? AND (?='' OR instr(casefold(coalesce(title, '')), ?) > 0 "
               "OR EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id=c.id AND instr(t.search, ?) > 0)) "
               "ORDER BY updated DESC, rowid DESC LIMIT ?")
        with self._lock:
            rows = self.db.execute(sql, (owner, needle, needle, needle, min(limit, LIST_LIMIT))).fetchall()
        return [Conversation(*row) for row in rows]

    def get(self, owner: str, conversation_id: str) -> tuple[Conversation, _Turns] | None:
        """The conversation and its turns, oldest first; None if the owner has no such conversation."""
        owner = _owner(owner)
        with self._lock, self._transaction():  # the turns belong to the conversation row read with them
            conv = self._get(owner, conversation_id)
            if conv is None:
                return None
            rows = self.db.execute("SELECT question, filters, answer, error, backend, asked_at FROM turns "
                                   "WHERE conversation_id=? ORDER BY idx", (conv.id,)).fetchall()
        return conv, [SavedTurn(q, json.loads(f), Answer.from_dict(json.loads(a)) if a else None, e, b, t)
                      for q, f, a, e, b, t in rows]

    def rename(self, owner: str, conversation_id: str, title: str) -> Conversation | None:
        """Set the title (stripped, 1 to `TITLE_CHARS` characters, else ValueError); None if not found."""
        owner, title = _owner(owner), _title(title)
        with self._lock, self._transaction():
            self.db.execute("UPDATE conversations SET title=? WHERE id=? AND owner=?", (title, conversation_id, owner))
            return self._get(owner, conversation_id)

    def delete(self, owner: str, conversation_id: str) -> bool:
        """Delete the conversation and its turns; False if the owner has no such conversation."""
        owner = _owner(owner)
        with self._lock, self._transaction():
            if self._get(owner, conversation_id) is None:
                return False
            self.db.execute("DELETE FROM turns WHERE conversation_id=?", (conversation_id,))
            self.db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,))
            return True

    def _get(self, owner: str, conversation_id: str) -> Conversation | None:
        row = self.db.execute(f"{_CONVERSATION} WHERE id=? AND owner=?", (conversation_id, owner)).fetchone()
        return Conversation(*row) if row else None

    @contextmanager
    def _transaction(self):
        self.db.execute("BEGIN IMMEDIATE")  # immediate: a second server process on the file waits, not fails mid-way
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _owner(owner: str) -> str:
    if not isinstance(owner, str) or not owner.strip():
        raise ValueError("the conversation owner is empty; pass the browser id or the signed-in user name")
    if len(owner) > OWNER_CHARS:
        raise ValueError(f"the conversation owner is {len(owner):,} characters, over the {OWNER_CHARS} limit")
    return owner


def _title(title: str) -> str:
    if not isinstance(title, str):
        raise ValueError(f"the title must be text, not {type(title).__name__}")
    title = " ".join(title.split())  # a title is one line in the sidebar
    if not title:
        raise ValueError("the title is empty; give the conversation a name")
    if len(title) > TITLE_CHARS:
        raise ValueError(f"the title is {len(title)} characters, over the {TITLE_CHARS} limit; shorten it")
    return title


def _auto_title(question: str) -> str | None:
    """The question on one line, cut to `AUTO_TITLE_CHARS` at a word boundary; None if blank."""
    words = " ".join(question.split())
    if len(words) <= AUTO_TITLE_CHARS:
        return words or None
    cut = words[:AUTO_TITLE_CHARS - 1]  # room for the ellipsis
    if words[len(cut)] != " " and " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip() + "…"
