"""HTML for the chat transcript, source cards, corpus statistics and ingest results.

Everything that comes from an article (text, title, source, URL, file names, problem lines) or
from a user is escaped here with `esc`, before any markup is added: the page must show an
article's `<script>` or `[x](javascript:...)` as text, never run it. Gradio's `gr.HTML` puts
its value into the page with `innerHTML` and does not sanitise it, so this module is the only
guard. No Gradio import: these are plain functions over `rag`'s dataclasses.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from rag.api import NOT_IN_ARTICLES, Answer, Citation, Hit, IndexStatus

CONTEXT_CHARS = 280  # article text shown on each side of a quote
_TEMPLATE_CHARS = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;"})
_MARKER = re.compile(r"\[(\d+)\]")
_WEAK = (' <span class="nr-weak" title="This sentence matches the question only weakly: '
         'read the passage before relying on it.">weak match</span>')


def esc(value: object) -> str:
    """Text as inert HTML: html.escape plus the characters JS/Handlebars templates act on."""
    return html.escape("" if value is None else str(value), quote=True).translate(_TEMPLATE_CHARS)


def safe_url(url: str | None) -> str | None:
    """An escaped http(s) URL, or None: `javascript:`, `data:` and relative URLs are never linked."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        return None
    return esc(url)


@dataclass(frozen=True)
class Passage:
    """A quote inside its surrounding article text: before + quote + after."""

    before: str
    quote: str
    after: str
    cut_before: bool = False
    cut_after: bool = False


def passage(article_text: str | None, citation: Citation, context: int = CONTEXT_CHARS) -> Passage:
    """The cited span with up to `context` characters either side, cut at word boundaries.
    Falls back to the quote alone when the article text is unavailable or has changed."""
    start, end = citation.start, citation.end
    if not article_text or article_text[start:end] != citation.quote:
        return Passage("", citation.quote, "")
    a, b = max(0, start - context), min(len(article_text), end + context)
    if a > 0:
        space = article_text.find(" ", a, start)
        a = space + 1 if space != -1 else a
    if b < len(article_text):
        space = article_text.rfind(" ", end, b)
        b = space if space != -1 else b
    return Passage(article_text[a:start], citation.quote, article_text[end:b], a > 0, b < len(article_text))


@dataclass
class Turn:
    """One question of a conversation and what is known of its answer so far."""

    question: str
    filters: dict = field(default_factory=dict)
    streamed: str = ""  # text pieces received so far
    answer: Answer | None = None
    passages: dict[int, Passage] = field(default_factory=dict)  # citation n -> passage
    error: str | None = None


# -- chat transcript ----------------------------------------------------------

def transcript(turns: list[Turn]) -> str:
    """The whole conversation; card ids are unique per turn so [n] links never cross answers."""
    if not turns:
        return ('<div class="nr-transcript"><p class="nr-empty">Ask a question about the indexed '
                'articles. Answers cite their sources; open a source to read the quoted passage.</p></div>')
    body = "".join(_turn(i, t) for i, t in enumerate(turns))
    return f'<div class="nr-transcript">{body}</div>'


def _turn(i: int, turn: Turn) -> str:
    scope = _filters_line(turn.filters)
    question = (f'<div class="nr-q"><span class="nr-who">You</span><p>{esc(turn.question)}</p>'
                f'{scope}</div>')
    return f'<div class="nr-turn" data-turn="{i}">{question}{answer_block(i, turn)}</div>'


def _filters_line(filters: dict) -> str:
    parts = []
    if filters.get("since"):
        parts.append(f"since {esc(filters['since'])}")
    if filters.get("until"):
        parts.append(f"until {esc(filters['until'])}")
    if filters.get("source"):
        parts.append("source: " + ", ".join(esc(s) for s in filters["source"]))
    if filters.get("llm"):
        parts.append(f"llm: {esc(filters['llm'])}")
    return f'<p class="nr-scope">{" · ".join(parts)}</p>' if parts else ""


def answer_block(i: int, turn: Turn) -> str:
    """The answer (or its streamed part, or an error) with its source cards."""
    if turn.error:
        return (f'<div class="nr-a nr-error" data-state="error"><span class="nr-who">Error</span>'
                f'<p class="nr-text">{esc(turn.error)}</p></div>')
    answer = turn.answer
    if answer is None:
        text = esc(turn.streamed) if turn.streamed else '<span class="nr-wait">Searching the articles…</span>'
        return (f'<div class="nr-a nr-pending" data-state="streaming"><span class="nr-who">Answer</span>'
                f'<p class="nr-text">{text}<span class="nr-cursor">▍</span></p></div>')
    if answer.abstained:
        return _abstention(i, turn)
    numbers = {c.n for c in answer.citations}
    badge = ('<p class="nr-badge nr-conflict">The sources disagree: both versions are cited below.</p>'
             if answer.conflict else "")
    cards = "".join(source_card(i, c, turn.passages.get(c.n)) for c in answer.citations)
    sources = f'<ol class="nr-sources" aria-label="Sources">{cards}</ol>' if cards else ""
    return (f'<div class="nr-a nr-answer" data-state="done"><span class="nr-who">Answer</span>{badge}'
            f'<p class="nr-text">{linked_text(i, answer.text, numbers)}</p>{sources}{_timing(answer)}</div>')


def linked_text(i: int, text: str, numbers: set[int]) -> str:
    """Escaped answer text whose [n] markers link to the source cards of turn `i`."""
    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return (f'<a class="nr-cite" href="#nr-{i}-{n}" data-card="nr-{i}-{n}" '
                f'title="Show source {n}">[{n}]</a>')
    return _MARKER.sub(link, esc(text))


def source_card(i: int, c: Citation, p: Passage | None) -> str:
    """A numbered card (title, date, source, link) that expands to the highlighted passage."""
    p = p or Passage("", c.quote, "")
    quote = (f'{"…" if p.cut_before else ""}{esc(p.before)}<mark class="nr-quote">{esc(p.quote)}</mark>'
             f'{esc(p.after)}{"…" if p.cut_after else ""}')
    return (f'<li><details class="nr-card" id="nr-{i}-{c.n}" data-n="{c.n}">'
            f'<summary><span class="nr-n">{c.n}</span> <span class="nr-title">{esc(c.title)}</span>'
            f'{_meta(c.date, c.source, c.url)}{_WEAK if c.weak else ""}</summary>'
            f'<blockquote class="nr-passage">{quote}</blockquote>'
            f'<p class="nr-where">{esc(c.article)}, characters {c.start}–{c.end}</p></details></li>')


def _meta(date: str | None, source: str | None, url: str | None) -> str:
    parts = [f'<span class="nr-date">{esc(date) if date else "undated"}</span>']
    if source:
        parts.append(f'<span class="nr-source">{esc(source)}</span>')
    link = safe_url(url)
    if link:
        parts.append(f'<a class="nr-link" href="{link}" target="_blank" rel="noopener noreferrer nofollow">'
                     f'open article ↗</a>')
    return f'<span class="nr-meta">{" · ".join(parts)}</span>'


def _abstention(i: int, turn: Turn) -> str:
    answer = turn.answer
    closest = "".join(closest_card(i, k, h) for k, h in enumerate(answer.closest, 1))
    if closest:
        listing = f'<p class="nr-sub">Closest articles, for you to check:</p><ol class="nr-closest">{closest}</ol>'
    elif any(turn.filters.get(k) for k in ("since", "until", "source")):
        listing = '<p class="nr-sub">No indexed article matches the filters; widen the dates or sources.</p>'
    else:
        listing = '<p class="nr-sub">No article came close.</p>'
    # the closest articles are listed as cards, not in the words of the answer text
    head = " ".join([NOT_IN_ARTICLES, *(f"Note: {w}" for w in answer.warnings)])
    return (f'<div class="nr-a nr-abstained" data-state="done"><span class="nr-who">No answer</span>'
            f'<p class="nr-text">{esc(head)}</p>{listing}{_timing(answer)}</div>')


def closest_card(i: int, k: int, h: Hit) -> str:
    text = h.text if len(h.text) <= 700 else h.text[:700].rsplit(" ", 1)[0] + "…"
    return (f'<li><details class="nr-card nr-near" id="nr-{i}-near-{k}">'
            f'<summary><span class="nr-title">{esc(h.title)}</span>{_meta(h.date, h.source, h.url)}</summary>'
            f'<blockquote class="nr-passage">{esc(text)}</blockquote>'
            f'<p class="nr-where">{esc(h.article_id)}</p></details></li>')


def _timing(answer: Answer) -> str:
    total = answer.timings.get("total_ms")
    return f'<p class="nr-timing">{int(total)} ms</p>' if isinstance(total, (int, float)) else ""


# -- corpus tab ---------------------------------------------------------------

def status_html(info: IndexStatus) -> str:
    """Index statistics from `Assistant.status()`."""
    dates = " to ".join(esc(d) for d in info.date_range or []) or "none"
    sources = ", ".join(esc(s) for s in info.sources) or "none recorded"
    emb, chunking = info.embedder, info.chunking
    rows = [("Articles", f"{info.articles} ({info.duplicates} duplicates stored once, {info.undated} undated)"),
            ("Chunks", esc(info.chunks)),
            ("Dates", dates),
            ("Sources", sources),
            ("Embedder", f"{esc(emb.get('model', '?'))} ({esc(emb.get('dim', '?'))}-d, {esc(emb.get('precision', '?'))})"),
            ("Chunking", f"{esc(chunking.get('size', '?'))} tokens, {esc(chunking.get('overlap', '?'))} overlap"),
            ("Data dir", esc(info.data_dir))]
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="nr-stats">{body}</table>'


@dataclass(frozen=True)
class FileResult:
    """What ingesting one uploaded file (or one folder) did."""

    name: str
    result: str  # "added", "updated", "unchanged", "duplicate", "failed", "rejected", ...
    chunks: int = 0
    detail: str = ""


def ingest_html(results: list[FileResult], summary: str) -> str:
    rows = "".join(f'<tr class="nr-{esc(r.result.split()[0])}"><td>{esc(r.name)}</td><td>{esc(r.result)}</td>'
                   f'<td>{r.chunks}</td><td>{esc(r.detail)}</td></tr>' for r in results)
    table = (f'<table class="nr-ingest"><thead><tr><th>File</th><th>Result</th><th>Chunks</th>'
             f'<th>Details</th></tr></thead><tbody>{rows}</tbody></table>') if results else ""
    return f'<div class="nr-ingest-result"><p class="nr-summary">{esc(summary)}</p>{table}</div>'


CSS = """
.nr-transcript { display: flex; flex-direction: column; gap: 14px; font-size: 15px; line-height: 1.5; }
.nr-empty { color: var(--body-text-color-subdued); }
.nr-turn { display: flex; flex-direction: column; gap: 6px; }
.nr-who { display: block; font-size: 12px; font-weight: 600; text-transform: uppercase;
          letter-spacing: .04em; color: var(--body-text-color-subdued); }
.nr-q { align-self: flex-end; max-width: 80%; background: var(--color-accent-soft);
        border-radius: 12px; padding: 8px 12px; }
.nr-q p { margin: 0; white-space: pre-wrap; }
.nr-scope { font-size: 12px; color: var(--body-text-color-subdued); margin: 2px 0 0 !important; }
.nr-a { max-width: 92%; border: 1px solid var(--border-color-primary); border-radius: 12px;
        padding: 10px 14px; background: var(--background-fill-secondary); }
.nr-text { margin: 2px 0 6px; white-space: pre-wrap; }
.nr-cite { font-weight: 600; text-decoration: none; color: var(--color-accent); }
.nr-cursor { color: var(--color-accent); }
.nr-abstained { border-style: dashed; border-color: #c9a227; background: rgba(201, 162, 39, .08); }
.nr-abstained .nr-who { color: #9a7a12; }
.nr-error { border-color: #d64545; background: rgba(214, 69, 69, .08); }
.nr-badge { font-weight: 600; color: #b4540a; margin: 2px 0; }
.nr-sources, .nr-closest { margin: 6px 0 0; padding-left: 0; list-style: none;
                           display: flex; flex-direction: column; gap: 6px; }
.nr-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
           background: var(--background-fill-primary); padding: 6px 10px; }
.nr-card summary { cursor: pointer; }
.nr-card.nr-flash { outline: 2px solid var(--color-accent); }
.nr-n { display: inline-block; min-width: 1.6em; text-align: center; font-weight: 700;
        border-radius: 6px; background: var(--color-accent-soft); margin-right: 4px; }
.nr-title { font-weight: 600; }
.nr-meta { display: block; font-size: 13px; color: var(--body-text-color-subdued); margin-left: 2em; }
.nr-passage { white-space: pre-wrap; margin: 8px 0 4px; padding: 6px 10px;
              border-left: 3px solid var(--border-color-primary); font-size: 14px; }
.nr-weak { background: #fde2e1; color: #8a1c14; border-radius: 3px; padding: 0 4px; font-size: 0.85em; }
.nr-quote { background: #fff2a8; color: #222; padding: 0 1px; border-radius: 2px; }
.nr-where, .nr-timing, .nr-sub { font-size: 12px; color: var(--body-text-color-subdued); margin: 2px 0; }
.nr-timing { text-align: right; }
.nr-stats th, .nr-ingest th { text-align: left; padding-right: 12px; }
.nr-ingest td { padding: 2px 10px 2px 0; vertical-align: top; }
.nr-failed td, .nr-rejected td { color: #c03030; }
"""

# Our own script (nothing from an article): a click on [n] opens and shows its source card.
ON_LOAD_JS = """
element.addEventListener('click', (event) => {
  const link = event.target.closest('a.nr-cite');
  if (!link) return;
  const card = document.getElementById(link.dataset.card);
  if (!card) return;
  event.preventDefault();
  card.open = true;
  card.scrollIntoView({block: 'nearest', behavior: 'smooth'});
  card.classList.add('nr-flash');
  setTimeout(() => card.classList.remove('nr-flash'), 1200);
});
"""
