"""Evaluation metrics for newsrag: retrieval, answers, citations, abstention and latency.

Pure functions over plain values; nothing here loads a model or reads the index. Definitions,
with worked examples, are in eval/README.md. Conventions used throughout:

- spans are half-open `(article, start, end)` character ranges in the stored article text;
- ranks are 1-based; a "rank" of None means "not found";
- an average over an empty set is None, never 0 and never an exception.
"""
from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from index.chunking import sentence_spans
from rag.verify import MARKER, markers_inside

Span = tuple[str, int, int]  # (article id, start, end), end exclusive
Supports = Callable[[str, list[str]], bool]  # (sentence without markers, cited quotes) -> supported?


class HitLike(Protocol):
    """What retrieval metrics need of a retrieved chunk (`rag.models.Hit` has it)."""

    article_id: str
    start: int
    end: int


class CitationLike(Protocol):
    """What citation metrics need of a citation (`rag.models.Citation` has it)."""

    n: int
    article: str
    quote: str
    start: int
    end: int


# ---------------------------------------------------------------------------------------------
# Retrieval


def _canonical(article: str, aliases: Mapping[str, str] | None) -> str:
    return aliases.get(article, article) if aliases else article


def relevant(hit_article: str, hit_start: int, hit_end: int, evidence_spans: Iterable[Span],
             aliases: Mapping[str, str] | None = None) -> bool:
    """True when the chunk `[hit_start, hit_end)` of `hit_article` overlaps an evidence span.

    Overlap means the same article (after mapping both ids through `aliases`, duplicate id ->
    stored id) and at least one shared character: `hit_start < ev_end and ev_start < hit_end`.
    """
    article = _canonical(hit_article, aliases)
    return any(_canonical(a, aliases) == article and hit_start < end and start < hit_end
               for a, start, end in evidence_spans)


def first_relevant_rank(hits: Sequence[HitLike], spans: Sequence[Span],
                        aliases: Mapping[str, str] | None = None) -> int | None:
    """1-based rank of the first relevant hit, or None when no hit is relevant."""
    for rank, hit in enumerate(hits, 1):
        if relevant(hit.article_id, hit.start, hit.end, spans, aliases):
            return rank
    return None


def hit_at_k(hits: Sequence[HitLike], spans: Sequence[Span], k: int,
             aliases: Mapping[str, str] | None = None) -> bool:
    """True when at least one of the top `k` hits is relevant."""
    return first_relevant_rank(hits[:k], spans, aliases) is not None


def mrr(hits: Sequence[HitLike], spans: Sequence[Span], aliases: Mapping[str, str] | None = None,
        k: int | None = None) -> float:
    """Reciprocal rank of the first relevant hit (within the top `k` if given), 0.0 if none.

    This is one question's contribution; `aggregate` averages it into MRR.
    """
    rank = first_relevant_rank(hits if k is None else hits[:k], spans, aliases)
    return 1.0 / rank if rank else 0.0


def all_articles_rank(hits: Sequence[HitLike], spans: Sequence[Span],
                      aliases: Mapping[str, str] | None = None) -> int | None:
    """Smallest k at which every distinct evidence article has a hit in the top k (any chunk of
    that article counts), or None when some article is never retrieved or there is no evidence."""
    needed = {_canonical(a, aliases) for a, _s, _e in spans}
    if not needed:
        return None
    for rank, hit in enumerate(hits, 1):
        needed.discard(_canonical(hit.article_id, aliases))
        if not needed:
            return rank
    return None


def all_articles_at_k(hits: Sequence[HitLike], spans: Sequence[Span], k: int,
                      aliases: Mapping[str, str] | None = None) -> bool:
    """True when every distinct evidence article appears among the top `k` hits."""
    rank = all_articles_rank(hits, spans, aliases)
    return rank is not None and rank <= k


def evidence_spans(evidence: Iterable, texts: Mapping[str, str],
                   aliases: Mapping[str, str] | None = None) -> list[Span]:
    """`(article, start, end)` of each gold evidence quote (objects with `.article`, `.quote`),
    at its first exact occurrence in `texts[article]`, or in the stored copy's text when the
    article is a duplicate listed in `aliases`. The article id is kept as written in the gold file
    (`relevant` maps it through `aliases`). KeyError/ValueError when the article or quote is missing.
    """
    spans = []
    for ev in evidence:
        text = texts[ev.article] if ev.article in texts else texts[_canonical(ev.article, aliases)]
        start = text.find(ev.quote) if ev.quote else -1
        if start < 0:
            raise ValueError(f"quote not found in {ev.article!r}: {ev.quote[:60]!r}")
        spans.append((ev.article, start, start + len(ev.quote)))
    return spans


# ---------------------------------------------------------------------------------------------
# Answers


def strip_markers(text: str) -> str:
    """The text without citation markers like ` [1]`."""
    return MARKER.sub("", text)


def _squash(text: str) -> str:
    return " ".join(text.casefold().split())


def answer_correct(answer_text: str, must_include: Sequence[str]) -> bool:
    """True when every `must_include` string occurs in the answer (markers removed), ignoring
    case and runs of whitespace. Vacuously True for an empty list."""
    answer = _squash(strip_markers(answer_text))
    return all(_squash(s) in answer for s in must_include)


_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lowercase, drop punctuation, drop the articles a/an/the, squash
    whitespace. Punctuation is ASCII `string.punctuation` (as SQuAD) plus every Unicode
    punctuation character (so curly quotes and dashes go too)."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT and not unicodedata.category(ch).startswith("P"))
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD token F1 between the prediction (markers removed first) and the reference.

    When either side normalises to no tokens, 1.0 if both do, else 0.0 (as SQuAD v2)."""
    pred = normalize_answer(strip_markers(prediction)).split()
    ref = normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    same = sum((Counter(pred) & Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------------------------
# Citations


@dataclass(frozen=True)
class AnswerSentence:
    text: str  # without markers
    cites: tuple[int, ...]  # marker numbers in order of appearance, without repeats


def answer_sentences(answer_text: str) -> list[AnswerSentence]:
    """Split an answer into sentences (`index.chunking.sentence_spans`), each with its markers.

    A marker right after a sentence's end belongs to that sentence; sentences that are empty once
    markers are removed are dropped (their markers with them)."""
    text = markers_inside(answer_text)  # as the answerer does, before splitting
    out = []
    for start, end in sentence_spans(text):
        piece = text[start:end]
        clean = " ".join(strip_markers(piece).split())
        if clean.strip(string.punctuation + "…”’\"' "):
            cites = tuple(dict.fromkeys(int(n) for n in MARKER.findall(piece)))
            out.append(AnswerSentence(clean, cites))
    return out


@dataclass(frozen=True)
class CitationScores:
    recall: float  # share of sentences supported by their cited quotes
    precision: float  # share of citations (sentence, marker) judged relevant, ALCE-style
    sentences: int
    citations: int


def citation_scores(answer_text: str, citations: Sequence[CitationLike], supports: Supports,
                    abstained: bool = False) -> CitationScores | None:
    """ALCE-style citation recall and precision with a pluggable support judge.

    None for an abstention (not applicable). Markers whose number is not among `citations` are
    ignored (they cite nothing). For each sentence with valid cited quotes Q:

    - recall: the sentence counts when `supports(sentence, Q)`; a sentence citing nothing fails;
    - precision: every (sentence, citation) pair is one citation. If the sentence is not supported
      by Q, all its citations are imprecise. If it is supported and Q has one quote, that one is
      precise. With several quotes, citation q is imprecise only when q alone does not support the
      sentence AND the other quotes still support it without q (q is unnecessary). This is ALCE's
      rule (Gao et al. 2023) with `supports` in place of the NLI model.

    An answer with no citations has precision 0.0 (ALCE); one with no sentences gets 0.0 for both.
    """
    if abstained:
        return None
    quotes = {c.n: c.quote for c in citations}
    sentences = answer_sentences(answer_text)
    supported = precise = total = 0
    for sentence in sentences:
        cited = [n for n in sentence.cites if n in quotes]
        total += len(cited)
        if not cited or not supports(sentence.text, [quotes[n] for n in cited]):
            continue
        supported += 1
        if len(cited) == 1:
            precise += 1
            continue
        for n in cited:
            if supports(sentence.text, [quotes[n]]):
                precise += 1
            elif not supports(sentence.text, [quotes[m] for m in cited if m != n]):
                precise += 1  # needed together with the others
    return CitationScores(recall=supported / len(sentences) if sentences else 0.0,
                          precision=precise / total if total else 0.0,
                          sentences=len(sentences), citations=total)


# A compact English stopword list (function words only; content words and numbers are kept).
STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been before
being below between both but by can cannot could couldn't did didn't do does doesn't doing don't
down during each either else ever few for from further had hadn't has hasn't have haven't having
he her here hers herself him himself his how however i if in into is isn't it its itself just let
like may me might more most must mustn't my myself no nor not now of off on once only or other
ought our ours ourselves out over own per same shall she should shouldn't since so some such than
that the their theirs them themselves then there these they this those though through thus to too
under until up upon us very was wasn't we were weren't what when where whether which while who
whom whose why will with within without won't would wouldn't yet you your yours yourself
yourselves said says say according told also one
""".split())
_WORD = re.compile(r"[^\W\d_]+")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def content_tokens(text: str) -> set[str]:
    """Lowercased letter-only words of 3+ characters that are not stopwords."""
    return {w for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in STOPWORDS}


def lexical_supports(sentence: str, quotes: list[str], threshold: float = 0.6) -> bool:
    """Default LLM-free judge: at least `threshold` of the sentence's distinct content tokens occur
    in the concatenated quotes, and every number in the sentence occurs there too (thousands
    commas ignored, so 2,500 == 2500). A sentence with neither content tokens nor numbers, or an
    empty list of quotes, is not supported."""
    if not quotes:
        return False
    source = "\n".join(quotes)
    numbers = _numbers(sentence)
    if not numbers <= _numbers(source):
        return False
    tokens = content_tokens(sentence)
    if not tokens:
        return bool(numbers)
    return len(tokens & content_tokens(source)) / len(tokens) >= threshold


def overlap_supports(citations: Sequence[CitationLike], spans: Sequence[Span],
                     aliases: Mapping[str, str] | None = None) -> Supports:
    """A judge for one answer: the quotes support a sentence when at least one of them is a cited
    passage whose article span overlaps a gold evidence span (the sentence text is not read)."""
    good = {c.quote for c in citations if relevant(c.article, c.start, c.end, spans, aliases)}

    def supports(sentence: str, quotes: list[str]) -> bool:
        return any(q in good for q in quotes)

    return supports


def threshold_supports(score: Callable[[str, str], float], threshold: float) -> Supports:
    """A judge from a support score (e.g. the verifier's): the joined quotes score >= threshold."""
    def supports(sentence: str, quotes: list[str]) -> bool:
        return bool(quotes) and score(sentence, "\n".join(quotes)) >= threshold

    return supports


# ---------------------------------------------------------------------------------------------
# Abstention and latency


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class AbstentionScores:
    precision: float | None  # of the abstentions, share on unanswerable questions
    recall: float | None  # of the unanswerable questions, share abstained
    accuracy: float | None  # "abstention accuracy": accuracy on unanswerable questions (= recall)
    abstain_decision_accuracy: float | None  # right abstain/answer decision, over all questions
    false_abstention_rate: float | None  # of the answerable questions, share abstained


def abstention_scores(pairs: Iterable[tuple[bool, bool]]) -> AbstentionScores:
    """From `(answerable, abstained)` pairs, one per question; None for an empty denominator."""
    counts = Counter((bool(a), bool(b)) for a, b in pairs)
    tp = counts[(False, True)]  # unanswerable, abstained
    fn = counts[(False, False)]  # unanswerable, answered
    fp = counts[(True, True)]  # answerable, abstained
    tn = counts[(True, False)]  # answerable, answered
    return AbstentionScores(precision=_ratio(tp, tp + fp), recall=_ratio(tp, tp + fn),
                            accuracy=_ratio(tp, tp + fn),
                            abstain_decision_accuracy=_ratio(tp + tn, tp + fn + fp + tn),
                            false_abstention_rate=_ratio(fp, fp + tn))


def percentile(values: Iterable[float], q: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least q% of the values at or below it
    (the ceil(q/100 * n)-th smallest, 1-based; q=0 gives the minimum). None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile q must be within 0..100, got {q}")
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def latency_percentiles(latencies_ms: Iterable[float]) -> tuple[float | None, float | None]:
    """(p50, p95) in milliseconds, nearest-rank."""
    values = list(latencies_ms)
    return percentile(values, 50), percentile(values, 95)


# ---------------------------------------------------------------------------------------------
# Per-question records and the summary


@dataclass(frozen=True)
class QuestionResult:
    """Everything the summary needs about one question. Fields that do not apply are None:
    retrieval and answer fields for unanswerable questions, citation fields for abstentions."""

    id: str
    answerable: bool
    abstained: bool
    first_relevant_rank: int | None = None  # 1-based; None = no relevant hit retrieved
    all_articles_rank: int | None = None  # k at which all evidence articles are in the top k
    evidence_articles: int = 0  # distinct evidence articles (after aliases)
    retrieved: int = 0  # number of hits scored
    correct: bool | None = None
    f1: float | None = None
    citation_recall: float | None = None
    citation_precision: float | None = None
    latency_ms: float | None = None

    def hit_at(self, k: int) -> bool:
        return self.first_relevant_rank is not None and self.first_relevant_rank <= k

    @property
    def reciprocal_rank(self) -> float:
        return 1.0 / self.first_relevant_rank if self.first_relevant_rank else 0.0


def score_question(item, answer, hits: Sequence[HitLike], spans: Sequence[Span], supports: Supports,
                   latency_ms: float | None = None, aliases: Mapping[str, str] | None = None
                   ) -> QuestionResult:
    """One `QuestionResult` from a gold item (`.id .answerable .must_include .answer`), the system's
    answer (`.text .abstained .citations`), the retrieved hits and the evidence spans.

    An abstention on an answerable question is scored incorrect with F1 0.0."""
    if not item.answerable:
        return QuestionResult(item.id, False, answer.abstained, latency_ms=latency_ms)
    cites = citation_scores(answer.text, answer.citations, supports, abstained=answer.abstained)
    return QuestionResult(
        id=item.id, answerable=True, abstained=answer.abstained,
        first_relevant_rank=first_relevant_rank(hits, spans, aliases),
        all_articles_rank=all_articles_rank(hits, spans, aliases),
        evidence_articles=len({_canonical(a, aliases) for a, _s, _e in spans}),
        retrieved=len(hits),
        correct=False if answer.abstained else answer_correct(answer.text, item.must_include),
        f1=0.0 if answer.abstained else token_f1(answer.text, item.answer),
        citation_recall=cites.recall if cites else None,
        citation_precision=cites.precision if cites else None,
        latency_ms=latency_ms)


def _mean(values: Iterable[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def aggregate(records: Sequence[QuestionResult]) -> dict:
    """The summary over all questions. Retrieval and answer metrics average over answerable
    questions, citation metrics over answerable questions that were answered (not abstained),
    abstention metrics over all questions, latency over questions with a latency. Empty -> None."""
    answerable = [r for r in records if r.answerable]
    answered = [r for r in answerable if not r.abstained]
    multi = [r for r in answerable if r.evidence_articles > 1]
    abstention = abstention_scores((r.answerable, r.abstained) for r in records)
    p50, p95 = latency_percentiles(r.latency_ms for r in records if r.latency_ms is not None)
    summary: dict = {f"hit_at_{k}": _mean(r.hit_at(k) for r in answerable) for k in (1, 3, 5, 10)}
    summary.update({
        "mrr": _mean(r.reciprocal_rank for r in answerable),
        "answer_correct": _mean(r.correct for r in answerable),
        "token_f1": _mean(r.f1 for r in answerable),
        "citation_recall": _mean(r.citation_recall for r in answered),
        "citation_precision": _mean(r.citation_precision for r in answered),
        "abstention_accuracy": abstention.accuracy,
        "false_abstention_rate": abstention.false_abstention_rate,
        "latency_p50_ms": p50,
        "latency_p95_ms": p95,
        # extras
        "abstention_precision": abstention.precision,
        "abstention_recall": abstention.recall,
        "abstain_decision_accuracy": abstention.abstain_decision_accuracy,
        "all_articles_at_5": _mean((r.all_articles_rank or math.inf) <= 5 for r in multi),
        "all_articles_at_10": _mean((r.all_articles_rank or math.inf) <= 10 for r in multi),
        "questions": len(records),
        "answerable": len(answerable),
        "unanswerable": len(records) - len(answerable),
        "answered": len(answered),
        "multi_article": len(multi),
    })
    return summary
