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
from datetime import date
from urllib.parse import urlsplit

from rag.api import NOT_IN_ARTICLES, Answer, Citation, Hit, IndexStatus
from rag.export import answer_markdown

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
    backend: str | None = None  # what answered, shown under the answer ("extractive · MiniLM")


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


def answer_block(i: int | str, turn: Turn) -> str:
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
    badge = ('<p class="nr-badge nr-conflict">The sources disagree: both versions are cited below.</p>'
             if answer.conflict else "")
    groups = by_article(answer.citations)
    cards = {c.n: f"nr-{i}-{k}" for k, cites in enumerate(groups, 1) for c in cites}
    body = "".join(article_card(f"nr-{i}-{k}", cites, turn.passages) for k, cites in enumerate(groups, 1))
    sources = f'<ol class="nr-sources" aria-label="Sources">{body}</ol>' if body else ""
    plot = timeline_svg([(f"nr-{i}-{k}", cites[0].date, cites[0].title) for k, cites in enumerate(groups, 1)])
    return (f'<div class="nr-a nr-answer" data-state="done"><span class="nr-who">Answer</span>{badge}'
            f'<p class="nr-text">{linked_text(answer.text, cards)}</p>{plot}{sources}'
            f'{_answer_tools(turn)}</div>')


def by_article(citations) -> list[list[Citation]]:
    """Citations grouped by article, in the order each article is first cited."""
    groups: dict[str, list[Citation]] = {}
    for c in citations:
        groups.setdefault(c.article, []).append(c)
    return list(groups.values())


def linked_text(text: str, cards: dict[int, str]) -> str:
    """Escaped answer text whose [n] markers link to the card (element id) holding source n."""
    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in cards:
            return m.group(0)
        return (f'<a class="nr-cite" href="#{cards[n]}" data-card="{cards[n]}" '
                f'title="Show source {n}">[{n}]</a>')
    return _MARKER.sub(link, esc(text))


def article_card(card_id: str, cites: list[Citation], passages: dict[int, Passage]) -> str:
    """One card per article: its numbers, title, date, source and link; open, every quote in
    context and a button that shows the whole article with the quotes highlighted."""
    first = cites[0]
    numbers = "".join(f'<span class="nr-n">{c.n}</span>' for c in cites)
    quotes = "".join(_quote(c, passages.get(c.n)) for c in cites)
    spans = ",".join(f"{c.start}-{c.end}" for c in cites)
    where = "; ".join(f"{c.start}–{c.end}" for c in cites)
    weak = _WEAK if any(c.weak for c in cites) else ""
    return (f'<li><details class="nr-card" id="{card_id}" data-article="{esc(first.article)}">'
            f'<summary>{numbers} <span class="nr-title">{esc(first.title)}</span>'
            f'{_meta(first.date, first.source, first.url)}{weak}</summary>{quotes}{_also(first)}'
            f'<p class="nr-where">{esc(first.article)}, characters {where} '
            f'<button type="button" class="nr-full" data-article="{esc(first.article)}" data-spans="{spans}">'
            f'Read the full article</button></p></details></li>')


def _also(c: Citation) -> str:
    """The other sources of the story, each with its date and link."""
    if not c.also:
        return ""
    items = "".join(f'<li>{esc(x.source or x.title or x.article)} <span class="nr-date">{esc(x.date or "undated")}'
                    f'</span>{_link(x.url)}</li>' for x in c.also)
    return (f'<div class="nr-also"><span class="nr-also-n">Also reported by {len(c.also)} '
            f'source{"s" * (len(c.also) != 1)}:</span><ul>{items}</ul></div>')


def _link(url: str | None) -> str:
    link = safe_url(url)
    return (f' <a class="nr-link" href="{link}" target="_blank" rel="noopener noreferrer nofollow">open article ↗</a>'
            if link else "")


def _meta(date: str | None, source: str | None, url: str | None) -> str:
    parts = [f'<span class="nr-date">{esc(date) if date else "undated"}</span>']
    if source:
        parts.append(f'<span class="nr-source">{esc(source)}</span>')
    if safe_url(url):
        parts.append(_link(url).strip())
    return f'<span class="nr-meta">{" · ".join(parts)}</span>'


def _quote(c: Citation, p: Passage | None) -> str:
    p = p or Passage("", c.quote, "")
    return (f'<blockquote class="nr-passage" data-n="{c.n}"><span class="nr-qn">[{c.n}]</span> '
            f'{"…" if p.cut_before else ""}{esc(p.before)}<mark class="nr-quote">{esc(p.quote)}</mark>'
            f'{esc(p.after)}{"…" if p.cut_after else ""}</blockquote>')


def full_article(title: str, date: str | None, source: str | None, text: str,
                 spans: list[tuple[int, int]]) -> str:
    """The whole article, escaped, with the cited spans highlighted (for the reading dialog)."""
    marks, at = [], 0
    for start, end in sorted((a, b) for a, b in spans if 0 <= a < b <= len(text)):
        if start < at:
            continue  # overlapping spans: the first one is highlighted
        marks.append(f'{esc(text[at:start])}<mark class="nr-quote">{esc(text[start:end])}</mark>')
        at = end
    body = "".join(marks) + esc(text[at:])
    return (f'<h3 class="nr-full-title">{esc(title)}</h3>{_meta(date, source, None)}'
            f'<div class="nr-full-text">{body}</div>')


TIMELINE_W, TIMELINE_H = 640, 118


def timeline_svg(points: list[tuple[str, str | None, str]], *, label: str = "Cited articles by date") -> str:
    """An SVG time axis with one point per (card id, date, title); each point opens its card.
    Empty unless at least two points have distinct dates: one date is no timeline."""
    dated = sorted((d, cid, title) for cid, d, title in points if _day(d))
    if len({d for d, _, _ in dated}) < 2:
        return ""
    days = [_day(d) for d, _, _ in dated]
    first, span = days[0], max(1, (days[-1] - days[0]).days)
    left, right, axis = 16, TIMELINE_W - 16, 62
    marks = []
    for k, ((d, cid, title), day) in enumerate(zip(dated, days)):
        x = left + (right - left) * (day - first).days / span
        y = axis - 26 if k % 2 == 0 else axis + 34  # alternate sides so neighbours' labels do not collide
        short = title if len(title) <= 28 else title[:27].rstrip() + "…"
        anchor = "start" if x < left + 90 else "end" if x > right - 90 else "middle"  # labels stay inside
        marks.append(f'<a class="nr-tl-point" href="#{cid}" data-card="{cid}"><title>{esc(d)}: {esc(title)}</title>'
                     f'<line x1="{x:.1f}" y1="{axis}" x2="{x:.1f}" y2="{y + (8 if k % 2 == 0 else -14)}" '
                     f'class="nr-tl-stem"/><circle cx="{x:.1f}" cy="{axis}" r="7"/>'
                     f'<text x="{x:.1f}" y="{y}" text-anchor="{anchor}">{esc(d)}</text>'
                     f'<text x="{x:.1f}" y="{y + 13}" text-anchor="{anchor}" class="nr-tl-title">{esc(short)}</text></a>')
    return (f'<figure class="nr-timeline-box"><svg class="nr-timeline" viewBox="0 0 {TIMELINE_W} {TIMELINE_H}" '
            f'role="img" aria-label="{esc(label)}"><line x1="{left}" y1="{axis}" x2="{right}" y2="{axis}" '
            f'class="nr-tl-axis"/>{"".join(marks)}</svg><figcaption>{esc(label)}: '
            f'{esc(dated[0][0])} to {esc(dated[-1][0])}</figcaption></figure>')


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _answer_tools(turn: Turn) -> str:
    """Copy as Markdown, and what answered: backend, embedder, time."""
    md = esc(answer_markdown(turn.question, turn.answer))
    copy = (f'<button type="button" class="nr-copy" data-md="{md}" '
            f'title="Copy the answer and its sources as Markdown">Copy with sources</button>')
    return f'<div class="nr-tools">{copy}{_answered_by(turn)}</div>'


def _answered_by(turn: Turn) -> str:
    parts = [f"answered by {esc(turn.backend)}"] if turn.backend else []
    total = turn.answer.timings.get("total_ms") if turn.answer else None
    if isinstance(total, (int, float)):
        parts.append(f"{int(total)} ms")
    return f'<p class="nr-timing">{" · ".join(parts)}</p>' if parts else ""


def _abstention(i: int | str, turn: Turn) -> str:
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
            f'<p class="nr-text">{esc(head)}</p>{listing}{_answered_by(turn)}</div>')


def closest_card(i: int | str, k: int, h: Hit) -> str:
    text = h.text if len(h.text) <= 700 else h.text[:700].rsplit(" ", 1)[0] + "…"
    return (f'<li><details class="nr-card nr-near" id="nr-{i}-near-{k}">'
            f'<summary><span class="nr-title">{esc(h.title)}</span>{_meta(h.date, h.source, h.url)}</summary>'
            f'<blockquote class="nr-passage">{esc(text)}</blockquote>'
            f'<p class="nr-where">{esc(h.article_id)}</p></details></li>')


def story(hits: list[Hit], question: str) -> str:
    """A story's articles (the best passage of each) on a time axis, then their cards by date."""
    best = list({h.article_id: h for h in reversed(hits)}.values())[::-1]
    if not best:
        return '<p class="nr-sub">No indexed article is about that; try other words.</p>'
    best.sort(key=lambda h: (_day(h.date) is None, h.date or ""))
    ids = [f"nr-story-{k}" for k in range(1, len(best) + 1)]
    plot = timeline_svg([(cid, h.date, h.title) for cid, h in zip(ids, best)], label=f"Articles about “{question}”")
    undated = sum(_day(h.date) is None for h in best)
    note = f'<p class="nr-sub">{undated} of them undated: set a date in the Corpus tab to place them.</p>' \
        if undated else ""
    cards = "".join(story_card(cid, h) for cid, h in zip(ids, best))
    return f'{plot or ""}<p class="nr-sub">{len(best)} article(s), oldest first.</p>{note}' \
           f'<ol class="nr-sources nr-story">{cards}</ol>'


def story_card(card_id: str, h: Hit) -> str:
    text = h.text if len(h.text) <= 700 else h.text[:700].rsplit(" ", 1)[0] + "…"
    return (f'<li><details class="nr-card" id="{card_id}" data-article="{esc(h.article_id)}">'
            f'<summary><span class="nr-title">{esc(h.title)}</span>{_meta(h.date, h.source, h.url)}</summary>'
            f'<blockquote class="nr-passage">{esc(text)}</blockquote>'
            f'<p class="nr-where">{esc(h.article_id)} <button type="button" class="nr-full" '
            f'data-article="{esc(h.article_id)}" data-spans="{h.start}-{h.end}">Read the full article</button>'
            f'</p></details></li>')


# -- corpus tab ---------------------------------------------------------------

def status_html(info: IndexStatus) -> str:
    """Index statistics from `Assistant.status()`."""
    dated = info.articles - info.undated
    span = " to ".join(esc(d) for d in info.date_range or []) or "none"
    dates = f"{span} ({dated} dated article{'s' * (dated != 1)}; {info.undated} undated, set their dates below)"
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


# Colours are fixed where Gradio's defaults measure under WCAG AA's 4.5:1 on white (its subdued
# grey is 1.9:1 as a label, its orange accent 2.7:1 as text).
SUBDUED = "#4b5563"  # 7.6:1 on white
ACCENT_TEXT = "#9a3412"  # 7.3:1 on white
CSS = """
.nr-transcript { display: flex; flex-direction: column; gap: 14px; font-size: 15px; line-height: 1.5; }
.nr-empty { color: SUBDUED; }
.nr-turn { display: flex; flex-direction: column; gap: 6px; }
.nr-who { display: block; font-size: 12px; font-weight: 600; text-transform: uppercase;
          letter-spacing: .04em; color: SUBDUED; }
.nr-q { align-self: flex-end; max-width: 80%; background: #fff1e6; color: #1f2937;
        border-radius: 12px; padding: 8px 12px; }
.nr-q p { margin: 0; white-space: pre-wrap; }
.nr-scope { font-size: 12px; color: SUBDUED; margin: 2px 0 0 !important; }
.nr-a { max-width: 92%; border: 1px solid var(--border-color-primary); border-radius: 12px;
        padding: 10px 14px; background: #fafafa; color: #1f2937; }
.nr-text { margin: 2px 0 6px; white-space: pre-wrap; }
.nr-cite { font-weight: 600; text-decoration: none; color: ACCENT; padding: 0 !important; margin: 0 !important; }
.nr-cite:hover, .nr-cite:focus { text-decoration: underline; }
.nr-cursor { color: ACCENT; }
.nr-abstained { border-style: dashed; border-color: #c9a227; background: #fdf8e8; }
.nr-abstained .nr-who { color: #7a5f0a; }
.nr-error { border-color: #d64545; background: #fdf0f0; }
.nr-badge { font-weight: 600; color: #92400e; margin: 2px 0; }
.nr-sources, .nr-closest { margin: 6px 0 0; padding-left: 0; list-style: none;
                           display: flex; flex-direction: column; gap: 6px; }
.nr-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
           background: #ffffff; color: #1f2937; padding: 6px 10px; }
.nr-card summary { cursor: pointer; }
.nr-card.nr-flash { outline: 2px solid ACCENT; }
.nr-n { display: inline-block; min-width: 1.6em; text-align: center; font-weight: 700; color: #7c2d12;
        border-radius: 6px; background: #ffedd5; margin-right: 4px; }
.nr-qn { font-weight: 700; color: ACCENT; }
.nr-title { font-weight: 600; }
.nr-meta { display: block; font-size: 13px; color: SUBDUED; margin-left: 2em; }
.nr-link { color: #1d4ed8; }
.nr-passage { white-space: pre-wrap; margin: 8px 0 4px; padding: 6px 10px;
              border-left: 3px solid var(--border-color-primary); font-size: 14px; }
.nr-weak { background: #fde2e1; color: #8a1c14; border-radius: 3px; padding: 0 4px; font-size: 0.85em; }
.nr-quote { background: #fff2a8; color: #222; padding: 0 1px; border-radius: 2px; }
.nr-where, .nr-timing, .nr-sub { font-size: 12px; color: SUBDUED; margin: 2px 0; }
.nr-also { font-size: 13px; color: SUBDUED; margin: 4px 0; }
.nr-also ul { margin: 2px 0 2px 1.2em; padding: 0; }
.nr-tools { display: flex; justify-content: space-between; align-items: center; gap: 8px; flex-wrap: wrap; }
.nr-copy, .nr-full { font-size: 12px; border: 1px solid #9ca3af; border-radius: 6px; background: #fff;
                     color: #1f2937; padding: 2px 8px; cursor: pointer; }
.nr-full { margin-left: 6px; }
.nr-timeline-box { margin: 6px 0; }
.nr-timeline { width: 100%; max-width: 820px; height: auto; display: block; }
.nr-timeline figcaption, .nr-timeline-box figcaption { font-size: 12px; color: SUBDUED; }
.nr-tl-axis { stroke: #6b7280; stroke-width: 2; }
.nr-tl-stem { stroke: #9ca3af; stroke-width: 1; }
.nr-tl-point circle { fill: #c2410c; stroke: #fff; stroke-width: 2; cursor: pointer; }
.nr-tl-point:hover circle, .nr-tl-point:focus circle { fill: #7c2d12; }
.nr-tl-point text { font-size: 11px; fill: #374151; }
.nr-tl-point .nr-tl-title { fill: #111827; font-weight: 600; }
.nr-dialog { max-width: min(760px, 94vw); max-height: 86vh; border: 1px solid #9ca3af; border-radius: 10px;
             padding: 14px 18px; color: #1f2937; background: #fff; }
.nr-dialog::backdrop { background: rgba(0, 0, 0, .35); }
.nr-full-text { white-space: pre-wrap; font-size: 14px; line-height: 1.55; }
.nr-dialog-close { float: right; }
.nr-stats th, .nr-ingest th { text-align: left; padding-right: 12px; }
.nr-ingest td { padding: 2px 10px 2px 0; vertical-align: top; }
.nr-failed td, .nr-rejected td { color: #b91c1c; }
""".replace("SUBDUED", SUBDUED).replace("ACCENT", ACCENT_TEXT)

# Our own script (nothing from an article). A click on [n] or a timeline point opens and shows its
# card; open cards stay open when the transcript is redrawn; "Read the full article" asks the
# server for the article (already escaped, quotes marked) and shows it in a dialog; "Copy" puts the
# Markdown on the clipboard.
ON_LOAD_JS = """
const opened = new Set();
element.addEventListener('toggle', (event) => {
  const card = event.target;
  if (!card.classList || !card.classList.contains('nr-card') || !card.id) return;
  if (card.open) opened.add(card.id); else opened.delete(card.id);
}, true);
new MutationObserver(() => opened.forEach((id) => {
  const card = document.getElementById(id);
  if (card && !card.open) card.open = true;
})).observe(element, {childList: true, subtree: true});
const copyText = async (text) => {
  try { await navigator.clipboard.writeText(text); return true; } catch (e) {
    const area = document.createElement('textarea');
    area.value = text; document.body.appendChild(area); area.select();
    const ok = document.execCommand('copy'); area.remove(); return ok;
  }
};
element.addEventListener('click', async (event) => {
  const copy = event.target.closest('button.nr-copy');
  if (copy) {
    const ok = await copyText(copy.dataset.md);
    copy.textContent = ok ? 'Copied' : 'Copy failed';
    setTimeout(() => { copy.textContent = 'Copy with sources'; }, 1500);
    return;
  }
  const full = event.target.closest('button.nr-full');
  if (full && typeof server !== 'undefined' && server.read_article) {
    const html = await server.read_article([full.dataset.article, full.dataset.spans]);
    let dialog = element.querySelector('dialog.nr-dialog');
    if (!dialog) {
      dialog = document.createElement('dialog');
      dialog.className = 'nr-dialog';
      element.appendChild(dialog);
    }
    dialog.innerHTML = '<form method="dialog"><button class="nr-copy nr-dialog-close">Close</button></form>'
                       + '<div class="nr-dialog-body"></div>';
    dialog.querySelector('.nr-dialog-body').innerHTML = html;
    dialog.showModal();
    const mark = dialog.querySelector('mark');
    if (mark) mark.scrollIntoView({block: 'center'});
    return;
  }
  const link = event.target.closest('[data-card]');
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
