"""Saved conversations in the web app: who owns them, saving each finished turn, reopening one
(its transcript and the follow-up history), and the sidebar's list and exports."""
from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.chat import standalone
from rag.conversations import Conversation, ConversationStore, SavedTurn
from rag.export import conversation_json, conversation_markdown

from . import render
from .render import Turn

SECRET_FILE = "ui-secret"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")  # a title as a download's file name


def browser_secret(data_dir: Path) -> str:
    """The key that signs each browser's saved ids; kept in the data dir so that a server restart
    still recognises the browsers it served (a new key would orphan every saved conversation)."""
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()


def owner_of(browser_id: str | None, username: str | None) -> str | None:
    """A signed-in user's conversations follow the user; otherwise they belong to the browser.
    None before the page has its id (an event racing the page's load): such a caller owns nothing."""
    if username:
        return f"user:{username}"
    return f"browser:{browser_id}" if browser_id else None


@dataclass
class Session:
    """One browser tab's conversation: its `Chat` (follow-up history), turns and saved id."""

    chat: Any  # rag.chat.Chat
    turns: list[Turn] = field(default_factory=list)
    conversation: str | None = None  # its id in the store, once the first turn is saved
    llm: Any = None  # a backend applied in the settings (rag.llm.LLM), its name and label
    llm_name: str | None = None
    llm_label: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one question at a time


class History:
    """The app's side of `ConversationStore`; exports are written under `exports`."""

    def __init__(self, store: ConversationStore, exports: Path) -> None:
        self.store, self.exports = store, exports

    def save(self, owner: str, session: Session, turn: Turn) -> Conversation | None:
        if session.conversation is None:
            session.conversation = self.store.create(owner).id
        saved = SavedTurn(turn.question, {k: v for k, v in turn.filters.items() if v}, turn.answer,
                          turn.error, turn.backend)
        return self.store.add_turn(owner, session.conversation, saved)

    def restore(self, owner: str | None, conversation_id: str | None, session: Session) -> bool:
        """Load the saved conversation into `session`; False if the owner has none by that id."""
        found = self.get(owner, conversation_id)
        if found is None:
            return False
        conv, saved = found
        article_text = session.chat.assistant.article_text
        session.conversation, session.turns = conv.id, []
        for s in saved:
            turn = Turn(s.question, s.filters, answer=s.answer, error=s.error, backend=s.backend)
            if s.answer:  # the passage from the article as stored now; the quote alone if it changed
                turn.passages = {c.n: render.passage(article_text(c.article), c) for c in s.answer.citations}
                session.chat.answers.append(s.answer)
            session.chat.history.append(standalone(s.question, session.chat.history))
            session.turns.append(turn)
        return True

    def get(self, owner: str | None, conversation_id: str | None):
        return self.store.get(owner, conversation_id) if owner and conversation_id else None

    def choices(self, owner: str | None, query: str = "") -> list[tuple[str, str]]:
        if owner is None:
            return []
        return [(f"{c.title or 'Untitled'} · {c.updated[:10]}", c.id) for c in self.store.list(owner, query)]

    def export(self, owner: str | None, conversation_id: str | None) -> tuple[str | None, str | None]:
        """Paths of the conversation as Markdown and as JSON (None, None if there is none)."""
        found = self.get(owner, conversation_id)
        if found is None:
            return None, None
        conv, turns = found
        folder = self.exports / secrets.token_hex(8)  # one folder per export: names never collide
        folder.mkdir(parents=True)
        stem = _UNSAFE.sub("-", conv.title or "").strip("-")[:60] or "conversation"
        md, js = folder / f"{stem}.md", folder / f"{stem}.json"
        md.write_text(conversation_markdown(conv, turns), encoding="utf-8")
        js.write_text(conversation_json(conv, turns), encoding="utf-8")
        return str(md), str(js)
