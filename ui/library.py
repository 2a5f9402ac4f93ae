"""The Corpus tab's article list: a page of the table, one article opened with its text, and the
edits (date, source, delete, re-index, prune) allowed to those who may manage the corpus."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.api import Assistant
from rag.errors import NewsragError

from . import render

PAGE = 25  # articles per page of the table
HEADERS = ["Title", "Date", "Source", "Chunks", "From", "Id"]
SORTS = [("Newest first", "date:desc"), ("Oldest first", "date:asc"), ("Title A-Z", "title:asc"),
         ("Source A-Z", "source:asc"), ("Most chunks", "chunks:desc")]
READ_ONLY = ("This server lets visitors read the corpus but not change it: start it on 127.0.0.1, "
             "or with --auth, to edit, delete, re-index or prune.")


@dataclass(frozen=True)
class Page:
    rows: list[list]  # the table's rows, HEADERS' columns
    info: str  # "Articles 1-25 of 82 matching ..."
    page: int  # the page shown (clamped to the pages there are)


def page(assistant: Assistant, query: str, sort: str, number) -> Page:
    key, _, direction = (sort or "date:desc").partition(":")
    number = max(1, int(number or 1))
    rows, total = assistant.browse(query or "", sort=key, descending=direction == "desc",
                                   offset=(number - 1) * PAGE, limit=PAGE)
    last = max(1, -(-total // PAGE))
    if number > last and total:
        return page(assistant, query, sort, last)
    shown = [[r.title, r.date or "undated", r.source or "", r.chunks, _folder(r.origin), r.id] for r in rows]
    first = (number - 1) * PAGE + 1
    matching = f" matching “{query.strip()}”" if (query or "").strip() else ""
    info = (f"Articles {first}–{first + len(rows) - 1} of {total}{matching} · page {number} of {last}"
            if rows else f"No article{matching}.")
    return Page(shown, info, number)


def article_view(assistant: Assistant, article_id: str) -> str:
    """The opened article: title, date, source and its whole text (escaped)."""
    found = assistant.article(article_id) if article_id else None
    if found is None:
        return '<p class="nr-sub">Choose an article in the table to read and edit it.</p>'
    return (f'<div class="nr-article-view" data-article="{render.esc(found.id)}">'
            f'{render.full_article(found.title, found.date, found.source, found.text, [])}'
            f'<p class="nr-where">{render.esc(found.id)} · {render.esc(found.origin)}</p></div>')


def save_metadata(assistant: Assistant, article_id: str, date: str, source: str) -> str:
    if not article_id:
        return "Choose an article first."
    try:
        article = assistant.set_metadata(article_id, date=(date or "").strip() or None,
                                         source=(source or "").strip() or None)
    except NewsragError as exc:
        return f"Not saved: {exc}"
    return (f"Saved: {article.id} is now dated {article.date or 'undated'}, source "
            f"{article.source or 'none'}. Date filters use it from the next question.")


def delete(assistant: Assistant, article_id: str, confirmed: bool) -> str:
    if not article_id:
        return "Choose an article first."
    if not confirmed:
        return "Tick “Yes, delete this article” first: a deleted article is gone from answers."
    try:
        removed = assistant.delete(article_id)
    except NewsragError as exc:
        return f"Not deleted: {exc}"
    return (f"Deleted {article_id}: it is no longer searched or cited." if removed
            else f"{article_id} is not in the index (already deleted?).")


def reindex(assistant: Assistant) -> str:
    report = assistant.reindex()
    return (f"Re-indexed the known files: {report.added} added, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.failed} failed." + _problems(report))


def prune(assistant: Assistant) -> str:
    report = assistant.prune()
    return f"Pruned {report.removed} article(s) whose file is gone." + _problems(report)


def _problems(report) -> str:
    shown = report.problems[:5]
    more = f" (and {len(report.problems) - 5} more)" if len(report.problems) > 5 else ""
    return "".join(f"\n- {p}" for p in shown) + more


def _folder(origin: str) -> str:
    """Where an article came from, short enough for a column: "upload" or its file's folder."""
    return origin if origin == "upload" else Path(origin).parent.name or origin
