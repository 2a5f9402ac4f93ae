"""Answers and conversations to take away: Markdown (a clipboard, a notes file) and JSON (a record
`conversation_json` writes and `turns_from_json` reads back)."""
from __future__ import annotations

import json

from .conversations import Conversation, SavedTurn
from .models import Answer, Citation


def answer_markdown(question: str, answer: Answer) -> str:
    """The answer with its [n] markers, then each source: title, source, date, link, the exact
    quote and where it is in the article."""
    if answer.abstained:
        head, listed, rest = answer.text.partition(" The closest articles are:")
        # the closest articles get their own list below; the notes (warnings) after them stay
        lines = [head + (rest[rest.find("\n\n"):] if listed and "\n\n" in rest else "")]
        if answer.closest:
            lines += ["", "Closest articles:"]
            lines += [f"- {h.title} ({h.date or 'undated'}) — {h.article_id}" for h in answer.closest]
        return _with_question(question, "\n".join(lines))
    sources = "\n\n".join(_source(c) for c in answer.citations)
    return _with_question(question, answer.text + (f"\n\nSources:\n\n{sources}" if sources else ""))


def _with_question(question: str, body: str) -> str:
    return f"**Q:** {_one_line(question)}\n\n{body}\n" if question else f"{body}\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())  # a line break in a question would end its heading mid-way


def _source(c: Citation) -> str:
    about = ", ".join(part for part in (c.source, c.date or "undated") if part) + (f" — {c.url}" if c.url else "")
    quote = "\n".join(f"> {line}" if line else ">" for line in c.quote.splitlines() or [""])
    # the blank line ends the blockquote: a line right after it would join the quote (lazy continuation)
    also = f" {c.also_reported()}" if c.also else ""
    return f"[{c.n}] {c.title} — {about}\n{quote}\n\n({c.article}, characters {c.start}–{c.end}){also}"


def conversation_markdown(conv: Conversation, turns: list[SavedTurn]) -> str:
    parts = [f"# {conv.title or 'Untitled conversation'}", "", f"Started {conv.created[:16].replace('T', ' ')} UTC, "
             f"{len(turns)} question{'s' * (len(turns) != 1)}."]
    for turn in turns:
        parts += ["", f"## Q: {_one_line(turn.question)}"]
        scope = ", ".join(f"{k} {_value(v)}" for k, v in turn.filters.items() if v)
        if scope:
            parts.append(f"_Filters: {scope}_")
        parts.append("")
        if turn.answer is not None:
            parts.append(answer_markdown("", turn.answer).rstrip())
        else:
            parts.append(f"Error: {turn.error}")
        if turn.backend:
            parts.append(f"\n_Answered by {turn.backend}, {turn.asked_at[:16].replace('T', ' ')} UTC._")
    return "\n".join(parts) + "\n"


def _value(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def conversation_json(conv: Conversation, turns: list[SavedTurn]) -> str:
    return json.dumps({"id": conv.id, "title": conv.title, "created": conv.created, "updated": conv.updated,
                       "turns": [t.to_dict() for t in turns]},
                      ensure_ascii=False, indent=2, default=str)  # a date among a turn's filters: its ISO text, as stored


def turns_from_json(text: str) -> list[SavedTurn]:
    """The turns of a `conversation_json` export."""
    return [SavedTurn(t["question"], t.get("filters", {}), Answer.from_dict(t["answer"]) if t.get("answer") else None,
                      t.get("error"), t.get("backend"), t["asked_at"]) for t in json.loads(text)["turns"]]
