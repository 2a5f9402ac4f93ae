"""What changed since a date: the facts of a story's articles from that date on that the articles
before it do not already state, each quoted verbatim and cited."""
from __future__ import annotations

from datetime import date

import numpy as np

from .answer import note_lines, render_cited
from .evidence import Scored, candidates, embed_sentences, score
from .models import Answer, Citation, Hit
from .verify import Verified, facts

NEW_MAX = 5  # sentences in the answer
RESTATES = 0.85  # cosine at which a later sentence says what an earlier one said
KEEP_RATIO = 0.6  # of the best later sentence's score: still about the question


def what_changed(question: str, since: date, hits: list[Hit], article_text, embedder, *, until: date | None = None,
                 min_evidence: float = 0.0) -> Answer:
    """The later articles' new facts about `question` among `hits` (retrieved without dates, from
    articles about it: `Assistant.about`)."""
    sentences = candidates(hits, article_text)
    vectors = embed_sentences(sentences, embedder)
    day = [_day(s.hit.date) for s in sentences]
    undated = len({s.hit.article_id for s, d in zip(sentences, day) if d is None})
    before = [k for k, d in enumerate(day) if d is not None and d < since]
    after = [k for k, d in enumerate(day) if d is not None and d >= since and (until is None or d <= until)]
    warnings = (f"{undated} undated article(s) about this were left out: give them a date in the Corpus tab.",
                ) if undated else ()
    scored = score(question, [sentences[k] for k in after], vectors[after], embedder) if after else []
    earlier = vectors[before] if before else np.zeros((0, vectors.shape[1] if len(vectors) else 1), np.float32)
    earlier_facts = [facts(sentences[k].text) for k in before]
    chosen: list[Scored] = []
    for s in scored:
        if len(chosen) == NEW_MAX or s.score < max(min_evidence, KEEP_RATIO * scored[0].score):
            break
        if _restated(s, earlier, earlier_facts) or any(float(s.vector @ c.vector) >= RESTATES for c in chosen):
            continue
        chosen.append(s)
    if not chosen:
        text = (f"Nothing new since {since.isoformat()}: no article about this from that date on adds to what "
                "was reported before.")
        return Answer(text + note_lines(warnings), True, (), question, closest=tuple(hits[:3]), warnings=warnings)
    chosen.sort(key=lambda s: (s.sentence.hit.date, s.sentence.hit.article_id, s.sentence.start))
    numbering: dict[int, int] = {}
    body = " ".join(render_cited(Verified(s.sentence.text, (k + 1,), 1.0), numbering) for k, s in enumerate(chosen))
    citations = tuple(Citation(k + 1, s.sentence.hit.article_id, s.sentence.hit.title, s.sentence.hit.date,
                               s.sentence.hit.source, s.sentence.hit.url, s.sentence.text, s.sentence.start,
                               s.sentence.end) for k, s in enumerate(chosen))
    return Answer(f"Since {since.isoformat()}: {body}{note_lines(warnings)}", False, citations, question,
                  warnings=warnings)


def _restated(s: Scored, earlier: np.ndarray, earlier_facts: list[set[str]]) -> bool:
    """Whether an earlier sentence says the same: nearly the same words, or the same names and
    numbers in a sentence about the same thing."""
    if not len(earlier):
        return False
    similarity = earlier @ s.vector
    if float(similarity.max()) >= RESTATES:
        return True
    mine = facts(s.sentence.text)
    return bool(mine) and any(mine <= theirs and sim >= 0.6 for theirs, sim in zip(earlier_facts, similarity))


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None
